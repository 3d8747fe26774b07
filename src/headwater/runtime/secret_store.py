"""Secret scopes on this machine, for `dbutils.secrets` and `headwater secrets`.

A scope is a folder and a secret a file in it: `<HEADWATER_HOME>/secrets/<scope>/<key>`, the
folders readable by their owner only (0700) and the files too (0600), each written whole or
not at all. The engine tells each attempt where the store is (`HEADWATER_SECRETS_DIR`); the
tasks of a job read what the user who runs the engine put there, as on Databricks a job reads
the scopes its owner may read. Names follow Databricks' rules: letters, digits, `-`, `_` and
`.`, at most 128 characters.

A task reads only the scopes its run's user may read (the scope ACLs, core/secret_acls.py):
the engine computes them at launch and passes them in `HEADWATER_READABLE_SCOPES` (`Readable`);
a store made for a task (`SecretStore.for_task`) refuses any other. The service's store has no
such list: it checks the ACLs itself. This is advisory isolation: the task runs as the
engine's OS user and could open the files.

Standard library only: a task imports it when it asks for a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from headwater.runtime.home import home_folder

__all__ = ["READABLE_VARIABLE", "SECRETS_VARIABLE", "Readable", "SecretError", "SecretStore",
           "checked_name", "default_root", "with_secret_references", "write_private"]

SECRETS_VARIABLE = "HEADWATER_SECRETS_DIR"
READABLE_VARIABLE = "HEADWATER_READABLE_SCOPES"  # absent: every scope (the local `run`)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# A value that is a secret on Databricks' clusters: `{{secrets/<scope>/<key>}}`, the whole value.
_REFERENCE = re.compile(r"\{\{secrets/([^/{}]+)/([^/{}]+)\}\}")
MAX_VALUE_BYTES = 128 * 1024  # as Databricks: a secret holds at most 128 KB


class SecretError(KeyError):
    """Raised for a missing scope or secret (`missing`), a scope the run's user may not read
    (`denied`), or a name or value that cannot be one."""

    def __init__(self, message: str, missing: bool = False, denied: bool = False) -> None:
        super().__init__(message)
        self.missing, self.denied = missing, denied

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Readable:
    """The scopes a run's tasks may read, as the engine found them for the run's `user` at
    launch: `scopes`, or every scope (None, for an admin)."""

    user: str
    scopes: frozenset[str] | None

    def encoded(self) -> str:
        """The value of `HEADWATER_READABLE_SCOPES` that says this."""
        scopes = None if self.scopes is None else sorted(self.scopes)
        return json.dumps({"user": self.user, "scopes": scopes})

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> Readable | None:
        """What `environ` says (None: no limit, outside an engine's run).

        Raises:
            SecretError: for a value the engine cannot have written (then nothing is read).
        """
        text = environ.get(READABLE_VARIABLE)
        if text is None:
            return None
        try:
            found = json.loads(text)
            scopes = found["scopes"]
            return cls(str(found["user"]),
                       None if scopes is None else frozenset(str(s) for s in scopes))
        except (ValueError, TypeError, KeyError):
            raise SecretError(f"{READABLE_VARIABLE} is not what the engine writes ({text!r}); "
                              "unset it, or let the engine set it") from None

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def refusal(self, scope: str) -> SecretError:
        return SecretError(
            f"user {self.user}, whom this run runs as, may not read secret scope {scope!r}: "
            f"a task reads only the scopes its run's user has READ on; ask a user with MANAGE "
            f"on {scope!r} (or an admin) to grant it: `headwater secrets put-acl {scope} "
            f"{self.user} READ` (`databricks secrets put-acl` against a server)", denied=True)


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where the store is: `HEADWATER_SECRETS_DIR`, else `<HEADWATER_HOME>/secrets`."""
    return home_folder(SECRETS_VARIABLE, "secrets", environ)


def checked_name(kind: str, name: str) -> str:
    """`name` if it can name a scope or a key (`kind`, for the message); else `SecretError`."""
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise SecretError(f"{kind} name {name!r} is not valid: use letters, digits, '-', '_' "
                          "and '.', at most 128 characters")
    return name


class SecretStore:
    """The scopes and secrets under `root`; with `readable`, only those scopes are read."""

    def __init__(self, root: Path | None = None, readable: Readable | None = None) -> None:
        self.root = root if root is not None else default_root()
        self.readable = readable

    @classmethod
    def for_task(cls, environ: Mapping[str, str] | None = None) -> SecretStore:
        """The store a task reads, limited to what its run's user may read (`environ`, by
        default this process's environment, says both)."""
        environ = os.environ if environ is None else environ
        return cls(default_root(environ), Readable.of(environ))

    def _scope(self, scope: str, must_exist: bool = True) -> Path:
        folder = self.root / checked_name("scope", scope)
        if must_exist and not folder.is_dir():
            known = ", ".join(self.list_scopes()) or "none"
            raise SecretError(f"no secret scope {scope!r} in {self.root} (scopes: {known}); "
                              f"create it with `headwater secrets create-scope {scope}`",
                              missing=True)
        if must_exist and self.readable is not None and not self.readable.allows(scope):
            raise self.readable.refusal(scope)
        return folder

    def create_scope(self, scope: str) -> bool:
        """Create `scope`; False when it already exists."""
        folder = self._scope(scope, must_exist=False)
        if folder.is_dir():
            return False
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)
        return True

    def list_scopes(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _NAME.fullmatch(p.name)
                      and (self.readable is None or self.readable.allows(p.name)))

    def delete_scope(self, scope: str) -> None:
        shutil.rmtree(self._scope(scope))

    def put(self, scope: str, key: str, value: bytes) -> None:
        """Store `value` as `key` of `scope` (replacing it), owner-readable only."""
        if len(value) > MAX_VALUE_BYTES:
            raise SecretError(f"secret {key!r} is {len(value):,} bytes; a secret holds at most "
                              f"{MAX_VALUE_BYTES:,}")
        write_private(self._scope(scope) / checked_name("secret key", key), value)

    def get(self, scope: str, key: str) -> bytes:
        path = self._scope(scope) / checked_name("secret key", key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise SecretError(f"no secret {key!r} in scope {scope!r}; add it with "
                              f"`headwater secrets put-secret {scope} {key}`",
                              missing=True) from None

    def list_secrets(self, scope: str) -> list[str]:
        return sorted(p.name for p in self._scope(scope).iterdir()
                      if p.is_file() and _NAME.fullmatch(p.name))

    def updated(self, scope: str, key: str) -> datetime:
        """When the secret's value was last put (its file's modification time)."""
        path = self._scope(scope) / checked_name("secret key", key)
        try:
            return datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            raise SecretError(f"no secret {key!r} in scope {scope!r}", missing=True) from None

    def delete(self, scope: str, key: str) -> None:
        path = self._scope(scope) / checked_name("secret key", key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            return
        raise SecretError(f"no secret {key!r} in scope {scope!r}", missing=True)


def write_private(path: Path, value: bytes) -> None:
    """Write `path` whole or not at all (a crash leaves the old value), readable by its owner
    only, and on the disk before it replaces the old one."""
    temporary = path.with_name(f"~{path.name}.{os.getpid()}.tmp")  # `~`: never a name here
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def with_secret_references(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with every value that is exactly `{{secrets/<scope>/<key>}}` replaced by that
    secret (as text), read from the store `env` names (`HEADWATER_SECRETS_DIR`), of the scopes
    it allows (`HEADWATER_READABLE_SCOPES`): what a cluster's `spark_env_vars` hold on
    Databricks, resolved where the attempt starts.

    Raises:
        SecretError: for a scope or secret the store does not have, or a scope the run's user
            may not read, naming the variable.
    """
    resolved = dict(env)
    store: SecretStore | None = None
    for name, value in env.items():
        found = _REFERENCE.fullmatch(value)
        if found is None:
            continue
        try:
            store = store or SecretStore.for_task(env)
            resolved[name] = store.get(found[1], found[2]).decode("utf-8")
        except (SecretError, UnicodeDecodeError) as error:
            raise SecretError(f"environment variable {name}: {value}: {error}", missing=True,
                              denied=isinstance(error, SecretError) and error.denied) from None
    return resolved
