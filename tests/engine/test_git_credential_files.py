"""Users' Git credentials as files (`engine/git_credential_files.py`): readable by their owner
only, ids that count up across users, each user's apart, a token kept when not replaced."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

from headwater.core.git_credentials import GitCredential
from headwater.core.spec_job import GitProvider
from headwater.engine.git_credential_files import GitCredentialFiles

HUB = GitProvider.GIT_HUB


def test_credentials_are_kept_apart_per_user_and_readable_by_their_owner_only(
        tmp_path: Path) -> None:
    files = GitCredentialFiles(tmp_path / "git-credentials")
    ann = files.add(GitCredential(0, "ann", HUB, "ann-gh"), "ann-token")
    bob = files.add(GitCredential(0, "bob@example.com", GitProvider.GIT_LAB), None)

    assert (ann.credential_id, bob.credential_id) == (1, 2)  # one sequence for everyone
    assert files.of_user("ann") == [ann] and files.of_user("bob@example.com") == [bob]
    assert files.of_user("eve") == []
    assert files.token("ann", 1) == "ann-token" and files.token("bob@example.com", 2) is None
    assert files.token("bob@example.com", 1) is None  # ann's id, asked for as bob: none
    written = [p for p in (tmp_path / "git-credentials").rglob("*") if p.name != "last-id.lock"]
    assert written and all(stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)
                           for p in written)


def test_a_change_keeps_the_token_unless_given_and_removal_says_whether_it_was_there(
        tmp_path: Path) -> None:
    files = GitCredentialFiles(tmp_path)
    made = files.add(GitCredential(0, "ann", HUB), "first")
    renamed = replace(made, name="work")
    files.replace(renamed, None)
    assert files.of_user("ann") == [renamed] and files.token("ann", 1) == "first"
    files.replace(renamed, "second")
    assert files.token("ann", 1) == "second"
    assert files.remove("ann", 1) is True
    assert files.remove("ann", 1) is False
    assert files.of_user("ann") == [] and files.token("ann", 1) is None
    assert files.add(GitCredential(0, "ann", HUB), "third").credential_id == 2  # never reused
