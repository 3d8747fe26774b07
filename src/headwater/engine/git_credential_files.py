"""Users' Git credentials on this machine (`core/git_credentials.py`), as the secret scopes
are: `<home>/git-credentials/<16 hex of the user>/<id>.json`, the folders readable by their
owner only (0700) and the files too (0600), each written whole or not at all. The server writes
them (the Git Credentials API) and the engines of the same home read them when a run fetches
its `git_source`. Ids count up across users (`last-id`, under a lock), as the API's do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from headwater.core.git_credentials import GitCredential
from headwater.core.spec_job import GitProvider
from headwater.entrypoints.filelock import locked
from headwater.runtime.secret_store import write_private

__all__ = ["GitCredentialFiles", "credentials_dir"]

_TOKEN = "personal_access_token"  # noqa: S105 - the field name, not a token


def credentials_dir(home: Path) -> Path:
    """Where the Git credentials of a home are kept."""
    return home / "git-credentials"


class GitCredentialFiles:
    """The Git credentials under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, user: str) -> Path:
        return self.root / hashlib.sha256(user.encode()).hexdigest()[:16]

    def add(self, credential: GitCredential, token: str | None) -> GitCredential:
        """Keep a new credential (its id is given here); it, with its id."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        counter = self.root / "last-id"
        with locked(counter):
            last = int(counter.read_text()) if counter.is_file() else 0
            made = replace(credential, credential_id=last + 1)
            self.replace(made, token)
            write_private(counter, str(made.credential_id).encode())
        return made

    def of_user(self, user: str) -> list[GitCredential]:
        """The user's credentials, by id."""
        folder = self._folder(user)
        found = [_credential(_read(path)) for path in folder.glob("*.json")] \
            if folder.is_dir() else []
        return sorted((c for c in found if c.user == user), key=lambda c: c.credential_id)

    def replace(self, credential: GitCredential, token: str | None) -> None:
        """Keep `credential` as it now is; its token too, unless `token` is None (kept)."""
        folder = self._folder(credential.user)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{credential.credential_id}.json"
        if token is None and path.is_file():
            token = _read(path).get(_TOKEN)
        body = {**asdict(credential), "git_provider": credential.git_provider.value,
                _TOKEN: token}
        write_private(path, json.dumps(body).encode())

    def remove(self, user: str, credential_id: int) -> bool:
        """Forget one of the user's credentials; False when there is none of that id."""
        with contextlib.suppress(FileNotFoundError):
            (self._folder(user) / f"{credential_id}.json").unlink()
            return True
        return False

    def token(self, user: str, credential_id: int) -> str | None:
        """The credential's token (None when it has none, or is gone)."""
        try:
            value = _read(self._folder(user) / f"{credential_id}.json").get(_TOKEN)
        except FileNotFoundError:
            return None
        return value if isinstance(value, str) else None


def _read(path: Path) -> dict[str, Any]:
    found = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(found, dict)
    return found


def _credential(body: dict[str, Any]) -> GitCredential:
    return GitCredential(int(body["credential_id"]), str(body["user"]),
                         GitProvider(body["git_provider"]), body.get("git_username"),
                         body.get("git_email"), body.get("name"),
                         bool(body.get("is_default_for_provider")))
