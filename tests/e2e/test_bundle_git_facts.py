"""`${bundle.git.*}`: what the real `git` says of the bundle's checkout, or nothing outside one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from headwater.cli.bundle_facts import git_facts


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *arguments], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def outside_checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path, where git finds no checkout above (whatever holds /tmp)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


def test_a_checkouts_branch_commit_origin_and_folder(outside_checkouts: Path) -> None:
    checkout = outside_checkouts
    git(checkout, "init", "-q", "-b", "feature")
    git(checkout, "remote", "add", "origin", "https://example.com/team/repo.git")
    (checkout / "bundle").mkdir()
    (checkout / "bundle" / "databricks.yml").write_text("bundle: {name: b}\n")
    git(checkout, "add", ".")
    git(checkout, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "c")

    facts = git_facts(checkout / "bundle")

    assert facts == {"branch": "feature", "actual_branch": "feature",
                     "commit": git(checkout, "rev-parse", "HEAD"),
                     "origin_url": "https://example.com/team/repo.git",
                     "bundle_root_path": "bundle"}


def test_a_checkout_without_commits_has_only_its_folder(outside_checkouts: Path) -> None:
    git(outside_checkouts, "init", "-q")

    assert git_facts(outside_checkouts) == {"bundle_root_path": "."}


def test_outside_a_checkout_there_are_no_facts(outside_checkouts: Path) -> None:
    assert git_facts(outside_checkouts) == {}
