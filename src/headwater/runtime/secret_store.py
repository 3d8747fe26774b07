"""Secret scopes on this machine, for `dbutils.secrets` and `headwater secrets`.

A scope is a folder and a secret a file in it: `<HEADWATER_HOME>/secrets/<scope>/<key>`, the
folders readable by their owner only (0700) and the files too (0600), each written whole or
not at all. The engine tells each attempt where the store is (`HEADWATER_SECRETS_DIR`); the
tasks of a job read what the user who runs the engine put there, as on Databricks a job reads
the scopes its owner may read. Names follow Databricks' rules: letters, digits, `-`, `_` and
`.`, at most 128 characters.

Standard library only: a task imports it when it asks for a secret.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from headwater.runtime.home import home_folder

__all__ = ["SECRETS_VARIABLE", "SecretError", "SecretStore", "checked_name", "default_root",
           "with_secret_references", "write_private"]

SECRETS_VARIABLE = "HEADWATER_SECRETS_DIR"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# A value that is a secret on Databricks' clusters: `{{secrets/<scope>/<key>}}`, the whole value.
_REFERENCE = re.compile(r"\{\{secrets/([^/{}]+)/([^/{}]+)\}\}")
MAX_VALUE_BYTES = 128 * 1024  # as Databricks: a secret holds at most 128 KB


class SecretError(KeyError):
    """Raised for a missing scope or secret (`missing`), or a name or value that cannot be
    one."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing

    def __str__(self) -> str:
        return str(self.args[0])


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
    """The scopes and secrets under `root`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()

    def _scope(self, scope: str, must_exist: bool = True) -> Path:
        folder = self.root / checked_name("scope", scope)
        if must_exist and not folder.is_dir():
            known = ", ".join(self.list_scopes()) or "none"
            raise SecretError(f"no secret scope {scope!r} in {self.root} (scopes: {known}); "
                              f"create it with `headwater secrets create-scope {scope}`",
                              missing=True)
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
                      if p.is_dir() and _NAME.fullmatch(p.name))

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
    secret (as text), read from the store `env` names (`HEADWATER_SECRETS_DIR`): what a
    cluster's `spark_env_vars` hold on Databricks, resolved where the attempt starts.

    Raises:
        SecretError: for a scope or secret the store does not have, naming the variable.
    """
    resolved = dict(env)
    store: SecretStore | None = None
    for name, value in env.items():
        found = _REFERENCE.fullmatch(value)
        if found is None:
            continue
        store = store or SecretStore(default_root(env))
        try:
            resolved[name] = store.get(found[1], found[2]).decode("utf-8")
        except (SecretError, UnicodeDecodeError) as error:
            raise SecretError(f"environment variable {name}: {value}: {error}",
                              missing=True) from None
    return resolved
