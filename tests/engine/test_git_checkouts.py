"""A run's Git snapshot (`engine/git_checkouts.py`) with real repositories and the real `git`:
one commit per run whatever the branch does meanwhile, branches, tags and commits, sparse
checkouts, a `git daemon` on 127.0.0.1, errors that say what git said, and a record that a
restarted engine reads instead of fetching again."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.git_http import git_http_server
from tests.gitrepo import commit, git, git_daemon

from headwater.core.git_credentials import GitCredential
from headwater.core.spec import GitSource
from headwater.core.spec_job import GitProvider
from headwater.engine.git_checkouts import CheckoutFailed, Checkouts, Snapshot, public_url
from headwater.engine.git_credential_files import GitCredentialFiles


def source(url: str, **reference: object) -> GitSource:
    return GitSource.model_validate({"git_url": url, "git_provider": "gitHub", **reference})


def made(checkouts: Checkouts, run_dir: Path, repair: int, git_source: GitSource,
         user: str | None = None) -> Snapshot:
    """Ask until the background checkout is made (or raise what it failed with)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = checkouts.ready(run_dir, repair, git_source, user)
        if snapshot is not None:
            return snapshot
        time.sleep(0.02)
    raise AssertionError("the checkout was not made within 60 s")


@pytest.fixture
def checkouts(tmp_path: Path) -> Iterator[Checkouts]:
    found = Checkouts(tmp_path / "mirrors")
    yield found
    found.close()


def test_a_run_keeps_the_commit_its_snapshot_took_while_the_branch_moves_on(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    first = commit(repo, {"etl/job.py": "v1"})
    on_main = source(f"file://{repo}", git_branch="main")

    snapshot = made(checkouts, tmp_path / "run1", 0, on_main)
    second = commit(repo, {"etl/job.py": "v2"})

    assert snapshot.used_commit == first
    assert (snapshot.directory / "etl/job.py").read_text() == "v1"
    again = checkouts.ready(tmp_path / "run1", 0, on_main)  # the run's next task
    assert again == snapshot and (again.directory / "etl/job.py").read_text() == "v1"
    # A repair of the run, and the next run, take the branch as it is then
    assert made(checkouts, tmp_path / "run1", 1, on_main).used_commit == second
    later = made(checkouts, tmp_path / "run2", 0, on_main)
    assert (later.directory / "etl/job.py").read_text() == "v2"


def test_a_tag_and_a_commit_are_checked_out_at_what_they_name(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    first = commit(repo, {"a.py": "one"})
    git(repo, "tag", "-a", "v1.0", "-m", "release")  # an annotated tag: a tag object
    commit(repo, {"a.py": "two"})

    tagged = made(checkouts, tmp_path / "run1", 0, source(f"file://{repo}", git_tag="v1.0"))
    pinned = made(checkouts, tmp_path / "run2", 0, source(str(repo), git_commit=first))

    assert tagged.used_commit == pinned.used_commit == first
    assert (tagged.directory / "a.py").read_text() == (pinned.directory / "a.py").read_text() \
        == "one"


def test_a_sparse_checkout_has_the_named_folders_and_the_top_level_files_only(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"README.md": "top", "etl/a.py": "a", "etl/deep/b.py": "b",
                  "ml/c.py": "c", "docs/d.md": "d"})
    sparse = source(f"file://{repo}", git_branch="main",
                    sparse_checkout={"patterns": ["etl", "ml/"]})

    snapshot = made(checkouts, tmp_path / "run", 0, sparse)

    files = sorted(str(p.relative_to(snapshot.directory))
                   for p in snapshot.directory.rglob("*") if p.is_file())
    assert files == ["README.md", "etl/a.py", "etl/deep/b.py", "ml/c.py"]


def test_a_repository_served_by_git_daemon_is_fetched_by_branch_and_by_commit(
        tmp_path: Path, checkouts: Checkouts) -> None:
    served = tmp_path / "served"
    first = commit(served / "shop", {"load.py": "v1"})
    commit(served / "shop", {"load.py": "v2"})
    with git_daemon(served) as base:
        # `git daemon` refuses a fetch by commit id: the fetch of every branch finds it
        pinned = made(checkouts, tmp_path / "run1", 0, source(f"{base}/shop", git_commit=first))
        latest = made(checkouts, tmp_path / "run2", 0, source(f"{base}/shop",
                                                               git_branch="main"))
    assert pinned.used_commit == first
    assert (pinned.directory / "load.py").read_text() == "v1"
    assert (latest.directory / "load.py").read_text() == "v2"


@pytest.mark.parametrize(("reference", "said"), [
    ({"git_branch": "nope"}, "could not check out branch 'nope' of {url}: "),
    ({"git_tag": "v9"}, "could not check out tag 'v9' of {url}: "),
    ({"git_commit": "0123456789abcdef0123456789abcdef01234567"},
     "could not check out commit '0123456789abcdef0123456789abcdef01234567' of {url}: "
     "the repository has no such commit"),
])
def test_a_missing_reference_fails_saying_which_and_where(
        tmp_path: Path, checkouts: Checkouts, reference: dict[str, str], said: str) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"a.py": "one"})
    url = f"file://{repo}"

    with pytest.raises(CheckoutFailed) as failed:
        made(checkouts, tmp_path / "run", 0, source(url, **reference))

    assert str(failed.value).startswith(said.format(url=url))
    assert "Git credential" not in str(failed.value)  # nothing was refused: no credential hint
    assert not (tmp_path / "run" / ".code" / "0.json").exists()


def test_a_repository_that_cannot_be_reached_fails_without_its_password(
        tmp_path: Path, checkouts: Checkouts) -> None:
    secret_url = "http://ann:s3cret@127.0.0.1:9/org/repo.git"  # port 9: nothing listens

    with pytest.raises(CheckoutFailed) as failed:
        made(checkouts, tmp_path / "run", 0, source(secret_url, git_branch="main"))

    message = str(failed.value)
    assert message.startswith("could not check out branch 'main' of "
                              "http://127.0.0.1:9/org/repo.git: ")
    assert "s3cret" not in message
    assert public_url(secret_url) == "http://127.0.0.1:9/org/repo.git"


def test_a_made_snapshot_is_read_back_without_git_after_a_restart(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    first = commit(repo, {"a.py": "one"})
    on_main = source(f"file://{repo}", git_branch="main")
    made(checkouts, tmp_path / "run", 0, on_main)
    # Given the branch moved and the repository is gone
    commit(repo, {"a.py": "two"})
    shutil.rmtree(repo)

    # When a new engine (new Checkouts) asks for the run's snapshot
    restarted = Checkouts(tmp_path / "mirrors")
    snapshot = restarted.ready(tmp_path / "run", 0, on_main)

    # Then it has it at once, at the commit the run's tasks used
    assert snapshot is not None and snapshot.used_commit == first
    assert (snapshot.directory / "a.py").read_text() == "one"


def test_what_a_crash_left_before_the_record_is_made_again(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"a.py": "one"})
    code = tmp_path / "run" / ".code"
    (code / ".0.partial").mkdir(parents=True)
    (code / ".0.partial" / "stale.py").write_text("half")
    (code / "0").mkdir()
    (code / "0" / "stale.py").write_text("whole, but unrecorded")

    snapshot = made(checkouts, tmp_path / "run", 0, source(f"file://{repo}", git_branch="main"))

    assert sorted(p.name for p in snapshot.directory.iterdir()) == ["a.py"]
    assert not (code / ".0.partial").exists()


def test_a_run_folder_that_cannot_be_written_fails_the_checkout_saying_why(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"a.py": "one"})
    run_dir = tmp_path / "run"
    run_dir.write_text("a file where the run's folder should be")

    with pytest.raises(CheckoutFailed) as failed:
        made(checkouts, run_dir, 0, source(f"file://{repo}", git_branch="main"))

    assert str(failed.value).startswith(
        f"could not check out the job's git_source of file://{repo}: [Errno 20] Not a directory")


def test_a_sparse_folder_missing_at_the_commit_leaves_it_out_without_failing(
        tmp_path: Path, checkouts: Checkouts) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"etl/a.py": "a", "etl/[x]/b.py": "b"})  # no file at the top
    sparse = source(f"file://{repo}", git_branch="main",
                    sparse_checkout={"patterns": ["etl", "gone"]})
    nothing = source(f"file://{repo}", git_branch="main",
                     sparse_checkout={"patterns": ["gone"]})

    snapshot = made(checkouts, tmp_path / "run1", 0, sparse)
    empty = made(checkouts, tmp_path / "run2", 0, nothing)

    assert sorted(str(p.relative_to(snapshot.directory))
                  for p in snapshot.directory.rglob("*") if p.is_file()) == [
        "etl/[x]/b.py", "etl/a.py"]
    assert list(empty.directory.iterdir()) == []


def test_a_url_like_an_option_reaches_git_as_a_repository_never_as_an_option(
        tmp_path: Path, checkouts: Checkouts) -> None:
    # (validate refuses it; a job stored before that rule must still never run it)
    marker = tmp_path / "pwned"
    hostile = source(f"--upload-pack=touch {marker}", git_branch="main")

    with pytest.raises(CheckoutFailed):
        made(checkouts, tmp_path / "run", 0, hostile)

    assert not marker.exists()


def test_a_private_repository_is_fetched_with_the_run_user_s_credential_for_its_provider(
        tmp_path: Path) -> None:
    # Given a repository served only to ann's token, and ann's credentials: one for GitLab,
    # and two for GitHub of which the second is her default
    commit(tmp_path / "served" / "etl", {"job.py": "private"})
    files = GitCredentialFiles(tmp_path / "credentials")
    files.add(GitCredential(0, "ann", GitProvider.GIT_LAB, "ann"), "gitlab-token")
    files.add(GitCredential(0, "ann", GitProvider.GIT_HUB, "ann"), "old-token")
    files.add(GitCredential(0, "ann", GitProvider.GIT_HUB, "ann",
                            is_default_for_provider=True), "s3cret")
    checkouts = Checkouts(tmp_path / "mirrors", credentials=files)
    try:
        with git_http_server(tmp_path / "served", "ann", "s3cret") as url:
            private = source(f"{url}/etl", git_branch="main")
            # When a run of ann's, then one of bob's (who has none), check it out
            snapshot = made(checkouts, tmp_path / "run1", 0, private, user="ann")
            with pytest.raises(CheckoutFailed) as failed:
                made(checkouts, tmp_path / "run2", 0, private, user="bob")
    finally:
        checkouts.close()

    # Then ann's run read it with her default GitHub token; bob's failed, saying what to add
    assert (snapshot.directory / "job.py").read_text() == "private"
    assert url.served and url.refused  # asked for credentials, then served
    assert "the run's user has no Git credential for gitHub" in str(failed.value)
    assert "databricks git-credentials create" in str(failed.value)
    assert "s3cret" not in str(failed.value)
