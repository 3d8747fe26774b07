"""The code of the tasks that read from Git: one snapshot of the job's repository per run.

On Databricks, a run takes a snapshot of its `git_source` branch, tag or commit, so that
every task of the run uses the same code. Here the snapshot is taken when the first task of
the run (or of a repair: a repair takes the code as it is then, as it reads local files as
they are then) that reads from Git is due to start, with the `git` command:

    <git dir>/<16 hex of the URL>.git   a bare copy of each repository, fetched into under a
                                        lock (the next run's fetch brings only what is new;
                                        one unused for a while is pruned: cache_pruning.py)
    <run folder>/.code/<repair>/        the run's checkout: the tasks' own copy, writable
    <run folder>/.code/<repair>.json    the snapshot: URL, reference and `used_commit`

The record is written last, once the checkout is whole, and before any task uses it: an
engine that takes the run over (or restarts) finds it and gives the rest of the run the same
commit; one that crashed before it fetches again, and no task has run a commit meanwhile.

A fetch may take seconds over a network, so it runs in a background thread and never stalls
the engine's loop; the task waits for it as PENDING. Git asks no questions: a repository that
needs credentials finds them as `git` would for this user (SSH keys, a credential helper),
or the task fails saying what git said.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from headwater.core.git_credentials import chosen, login_of
from headwater.core.git_source import GitReference, reference_of
from headwater.core.spec import GitSource
from headwater.entrypoints.filelock import locked
from headwater.errors import HeadwaterError
from headwater.ports import GitCredentialStore

__all__ = ["CheckoutFailed", "Checkouts", "Login", "Snapshot", "checkout_dir", "public_url"]

GIT_TIMEOUT_SECONDS = 600.0
CODE_FOLDER = ".code"  # beside the tasks' folders, and no task key (no '.' in one)
# Git never prompts (there is nobody to answer) and never pages.
_GIT_ENVIRONMENT = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_ASKPASS": "true"}


# With a user's Git credential, this helper alone answers Git's question for a user name and
# password: from the environment of that one `git` (the token is never on a command line,
# which any user of the machine may read). An empty helper first drops the machine's own.
_CREDENTIAL_HELPER = (
    "-c", "credential.helper=",
    "-c", 'credential.helper=!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
          '"$HEADWATER_GIT_USERNAME" "$HEADWATER_GIT_PASSWORD"; }; f')


@dataclass(frozen=True, slots=True)
class Login:
    """What Git sends for a private repository: a user name and a token."""

    user: str
    token: str = field(repr=False)  # never in a log line


class CheckoutFailed(HeadwaterError):  # a report for the task's state message, not a bug
    """The repository could not be fetched, or has no such branch, tag or commit."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A run's checkout, made."""

    directory: Path
    used_commit: str


def public_url(url: str) -> str:
    """The URL without the user and password it may carry (`https://token@host/...`)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def checkout_dir(run_dir: Path, repair: int) -> Path:
    """Where a run's (or its `repair`-th repair's) checkout lives."""
    return run_dir / CODE_FOLDER / str(repair)


def _record_path(run_dir: Path, repair: int) -> Path:
    return run_dir / CODE_FOLDER / f"{repair}.json"


class Checkouts:
    """Makes the runs' checkouts in the background; the engine's loop asks `ready`."""

    def __init__(self, git_dir: Path, timeout_seconds: float = GIT_TIMEOUT_SECONDS,
                 credentials: GitCredentialStore | None = None) -> None:
        self.git_dir, self.timeout_seconds = git_dir, timeout_seconds
        self.credentials = credentials  # the users' tokens for private repositories
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[Path, Future[None]] = {}

    def ready(self, run_dir: Path, repair: int, source: GitSource,
              user: str | None = None) -> Snapshot | None:
        """The run's checkout if it is made; None while it is being made (started here if
        it was not), with `user`'s Git credential for the provider if they have one.

        Raises:
            CheckoutFailed: when making it failed (the next call tries again).
        """
        record = _record_path(run_dir, repair)
        if (snapshot := _read(record)) is not None:
            return snapshot
        future = self._pending.get(record)
        if future is None:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="git")
            self._pending[record] = self._pool.submit(self._make, run_dir, repair, source,
                                                      user)
            return None
        if not future.done():
            return None
        del self._pending[record]
        future.result()  # raises CheckoutFailed (an unexpected error: a bug, for `call`)
        return _read(record)

    def made(self, run_dir: Path, repair: int) -> Snapshot | None:
        """The run's checkout if it is made (never starts one)."""
        return _read(_record_path(run_dir, repair))

    def settled(self, run_dir: Path, repair: int) -> bool:
        """Whether `ready` would answer without waiting (made, or failed)."""
        record = _record_path(run_dir, repair)
        future = self._pending.get(record)
        return future.done() if future is not None else True

    def close(self) -> None:
        """Start no more checkouts; one under way ends in its thread (its run's next engine
        finds its record, or makes it again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self._pending.clear()

    # -- in the background thread --------------------------------------------------------------

    def _make(self, run_dir: Path, repair: int, source: GitSource, user: str | None) -> None:
        try:
            self._checkout(run_dir, repair, source, self._login(user, source))
        except OSError as error:  # a full disk, a folder it may not write, ...
            raise CheckoutFailed(f"could not check out the job's git_source of "
                                 f"{public_url(source.git_url)}: {error}") from None

    def _login(self, user: str | None, source: GitSource) -> Login | None:
        """The user name and token `user` has for the source's provider, if any."""
        if user is None or self.credentials is None:
            return None
        credential = chosen(self.credentials.of_user(user), source.git_provider)
        token = None if credential is None else \
            self.credentials.token(user, credential.credential_id)
        if credential is None or token is None:
            return None
        return Login(login_of(credential), token)

    def _checkout(self, run_dir: Path, repair: int, source: GitSource,
                  login: Login | None = None) -> None:
        reference = reference_of(source)
        if reference is None:  # the job's checks refuse this; an API-made job may still have it
            raise CheckoutFailed("git_source names no single git_branch, git_tag or git_commit")
        mirror = self.git_dir / f"{hashlib.sha256(source.git_url.encode()).hexdigest()[:16]}.git"
        with locked(mirror):
            if not (mirror / "HEAD").exists():
                shutil.rmtree(mirror, ignore_errors=True)
                self._git(["init", "--bare", "--quiet", "--template=", str(mirror)], source,
                          reference)
            os.utime(mirror)  # last used now: pruned only once unused a while (cache_pruning)
            try:
                commit = self._fetch(mirror, source, reference, login)
            except CheckoutFailed as failed:
                if login is not None or not _refused_access(str(failed)):
                    raise
                raise CheckoutFailed(f"{failed} (if the repository is private: the run's "
                                     "user has no Git credential for "
                                     f"{source.git_provider.value}; add one with `databricks "
                                     "git-credentials create`, POST /api/2.0/git-credentials)"
                                     ) from None
            target = checkout_dir(run_dir, repair)
            self._export(mirror, commit, _patterns(source), target, source, reference)
        record = _record_path(run_dir, repair)
        text = json.dumps({"git_url": public_url(source.git_url), reference.kind: reference.name,
                           "used_commit": commit})
        temporary = record.with_name(f".{record.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, record)

    def _fetch(self, mirror: Path, source: GitSource, reference: GitReference,
               login: Login | None = None) -> str:
        """Bring the reference into the mirror (as `login`, if given); the commit it names."""
        url, name = source.git_url, reference.name
        if reference.kind == "branch":
            self._git(["fetch", "--quiet", "--no-tags", "--force", "--end-of-options", url,
                       f"+refs/heads/{name}:refs/heads/{name}"], source, reference, mirror,
                      login)
            return self._commit_of(mirror, f"refs/heads/{name}", source, reference)
        if reference.kind == "tag":
            self._git(["fetch", "--quiet", "--no-tags", "--force", "--end-of-options", url,
                       f"+refs/tags/{name}:refs/tags/{name}"], source, reference, mirror,
                      login)
            return self._commit_of(mirror, f"refs/tags/{name}", source, reference)
        if not self._has_commit(mirror, name):
            # A server may refuse a fetch by commit id (GitHub allows it, `git daemon` not by
            # default): then every branch and tag, among which the commit must be.
            try:
                self._git(["fetch", "--quiet", "--no-tags", "--end-of-options", url, name],
                          source, reference, mirror, login)
            except CheckoutFailed:
                self._git(["fetch", "--quiet", "--force", "--end-of-options", url,
                           "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], source,
                          reference, mirror, login)
        return self._commit_of(mirror, name, source, reference)

    def _has_commit(self, mirror: Path, name: str) -> bool:
        return subprocess.run(["git", "-C", str(mirror), "cat-file", "-e", f"{name}^{{commit}}"],
                              capture_output=True, env=_environment(), check=False,
                              timeout=self.timeout_seconds).returncode == 0

    def _commit_of(self, mirror: Path, name: str, source: GitSource,
                   reference: GitReference) -> str:
        try:
            output = self._git(["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
                               source, reference, mirror)
        except CheckoutFailed:
            raise CheckoutFailed(f"could not check out {reference} of "
                                 f"{public_url(source.git_url)}: the repository has no such "
                                 f"{reference.kind}") from None
        return output.decode().strip()

    def _export(self, mirror: Path, commit: str, patterns: Sequence[str], target: Path,
                source: GitSource, reference: GitReference) -> None:
        """The commit's files (those of the sparse checkout) into `target`, whole or not at
        all. The archive streams from git into the folder: a large repository is never held
        in memory."""
        partial = target.with_name(f".{target.name}.partial")
        for leftover in (partial, target):  # what a crash before the record left
            shutil.rmtree(leftover, ignore_errors=True)
        partial.mkdir(parents=True)
        pathspecs = self._sparse(mirror, commit, patterns, source, reference) if patterns \
            else []
        if patterns and not pathspecs:  # nothing of the sparse checkout is at this commit
            os.replace(partial, target)
            return
        command = ["git", "-C", str(mirror), "archive", "--format=tar", commit, "--", *pathspecs]
        with tempfile.TemporaryFile() as said, subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=said, env=_environment()) as git:
            assert git.stdout is not None
            try:
                with tarfile.open(fileobj=git.stdout, mode="r|") as tar:
                    tar.extractall(partial, filter="data")
            except tarfile.TarError:
                pass  # git failed: its exit status and words say why, below
            except BaseException:  # a full disk, ...: git must not wait on a pipe nobody reads
                git.kill()
                raise
            git.stdout.close()
            code = git.wait(timeout=self.timeout_seconds)
            said.seek(0)
            words = " ".join(said.read().decode(errors="replace").split())[-500:]
        if code != 0:
            raise CheckoutFailed(f"could not check out {reference} of "
                                 f"{public_url(source.git_url)}: "
                                 f"{_redacted(words, source.git_url) or f'git exited {code}'}")
        os.replace(partial, target)

    def _sparse(self, mirror: Path, commit: str, patterns: Sequence[str], source: GitSource,
                reference: GitReference) -> list[str]:
        """The pathspecs of a sparse checkout, as Git's cone mode takes them: the files at the
        top, and the named folders that exist at the commit (a pathspec that matches nothing
        would fail the archive)."""
        top = self._git(["ls-tree", "-z", commit], source, reference, mirror).decode()
        files = [entry.split("\t", 1)[1] for entry in top.split("\0")
                 if "\t" in entry and entry.split()[1] == "blob"]
        folders = self._git(["ls-tree", "-z", "-d", "--name-only", commit, "--", *patterns],
                            source, reference, mirror).decode().split("\0")
        return [f":(literal){name}" for name in [*files, *folders] if name]

    def _git(self, arguments: Sequence[str], source: GitSource, reference: GitReference,
             mirror: Path | None = None, login: Login | None = None) -> bytes:
        command = ["git", *(("-C", str(mirror)) if mirror is not None else ()),
                   *(_CREDENTIAL_HELPER if login is not None else ()), *arguments]
        try:
            done = subprocess.run(command, capture_output=True, env=_environment(login),
                                  check=False, timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            raise CheckoutFailed(
                f"could not check out {reference} of {public_url(source.git_url)}: git took "
                f"longer than {self.timeout_seconds:.0f} s") from None
        except FileNotFoundError:
            raise CheckoutFailed("could not check out the job's git_source: the `git` command "
                                 "is not installed on this machine") from None
        if done.returncode != 0:
            said = " ".join(done.stderr.decode(errors="replace").split())[-500:]
            raise CheckoutFailed(
                f"could not check out {reference} of {public_url(source.git_url)}: "
                f"{_redacted(said, source.git_url) or f'git exited with {done.returncode}'}")
        return done.stdout


def _read(record: Path) -> Snapshot | None:
    try:
        found = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not made (or not readable: making it again says why)
        return None
    return Snapshot(checkout_dir(record.parent.parent, int(record.stem)),
                    str(found["used_commit"]))


def _patterns(source: GitSource) -> list[str]:
    return [p.strip("/") for p in (source.sparse_checkout.patterns
                                   if source.sparse_checkout else [])]


def _environment(login: Login | None = None) -> Mapping[str, str]:
    logged = {} if login is None else {"HEADWATER_GIT_USERNAME": login.user,
                                       "HEADWATER_GIT_PASSWORD": login.token}
    return {**os.environ, **_GIT_ENVIRONMENT, **logged}


# What git says when a host wants credentials it was not given (GitHub answers a private
# repository's anonymous fetch as if it did not exist).
_ACCESS_REFUSED = ("authentication failed", "could not read username", "could not read password",
                   "terminal prompts disabled", "permission denied", "repository not found",
                   "403", "401")


def _refused_access(said: str) -> bool:
    return any(words in said.lower() for words in _ACCESS_REFUSED)


def _redacted(text: str, url: str) -> str:
    return text.replace(url, public_url(url)) if url != public_url(url) else text
