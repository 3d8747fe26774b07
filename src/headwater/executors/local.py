"""`LocalExecutor`: each attempt runs under its own attempt parent, which outlives the engine.

How it works (Linux >= 5.3):

- `launch` writes the attempt's files, then asks a spawner (`spawner.Spawner`: a small
  process started on first launch) to fork an attempt parent (`parent.py`). The parent claims
  the attempt directory (parent.json) before `launch` returns, starts the task in a session
  of its own, reaps its whole tree as its subreaper, and records its exit (exit.json). The
  handle names the parent (`pid:start_ticks`), never the task: the parent is what the engine
  watches and signals, and what survives the engine.
- A Python task goes to a fork server instead (`forkserver.py`, `zygote.py`): a spawner run
  by the task's interpreter, whose parents fork the task from a warm interpreter rather than
  start a new one (`launch="fork"`, the default; `"spawn"` starts every task anew).
- `wait` blocks in `epoll.poll` on the parents' pidfds (a pidfd turns readable when its
  process ends, and works for processes that are not our children) and on the notice pipe,
  where each parent writes its attempt's exit record before it makes exit.json durable: the
  engine records the exit in its store while the parent fsyncs. The exit, with what the task
  left (values, metrics, result: `records.py`), becomes the `TaskExit`, stamped with the time
  the parent recorded.
- `kill` sends SIGTERM to the parent, which passes it to the tree and SIGKILLs the tree after
  the grace it was launched with, by its own timer, so a kill completes even if the engine
  dies meanwhile. A shorter grace is the engine's to enforce: SIGUSR1 once it is over.
- `close` (or the engine's death) leaves every attempt running, and a later executor
  `adopt`s it by its attempt directory: alive, it is watched; ended, exit.json says how; its
  parent gone with no record, the attempt is lost and whatever still carries its tag
  (`HEADWATER_ATTEMPT_TAG`, exact per launch) is SIGKILLed.
- One attempt never runs twice: of two parents started for one directory (two engines, or a
  stale engine that woke up late), only the one that created parent.json starts the task; the
  other exits at once, and its executor watches the winner instead.

`kill` may be called from any thread; the other methods from the engine's thread.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import select
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from headwater.core.task_environment import task_environment
from headwater.errors import AttemptOutOfSight, InvalidRequest
from headwater.executors import parent, proctree
from headwater.executors.forkserver import LAUNCH_MODES, ForkServers
from headwater.executors.records import (
    AttemptClaim,
    exit_of_record,
    lost_exit,
    read_claim,
    read_exit,
)
from headwater.executors.spawner import Spawned, Spawner, SpawnError
from headwater.ports import AttemptKey, LaunchSpec, TaskExit
from headwater.runtime.secret_store import SecretError, with_secret_references

__all__ = ["LAUNCH_MODES", "TAG_VARIABLE", "LocalExecutor"]

TAG_VARIABLE = "HEADWATER_ATTEMPT_TAG"
_RESERVED_FILES = frozenset({parent.CLAIM, parent.EXIT})


@dataclass(slots=True, eq=False)
class _Watched:
    """An attempt parent being watched, until its attempt's exit is queued."""

    key: AttemptKey
    pid: int
    start_ticks: int
    pidfd: int
    directory: Path
    grace: float  # the parent SIGKILLs the tree this long after our SIGTERM
    term_at: float | None = None  # monotonic instant of our SIGTERM
    hard_at: float | None = None  # when a shorter grace than the parent's runs out
    hard_sent: bool = False

    @property
    def handle(self) -> str:
        return f"{self.pid}:{self.start_ticks}"


class LocalExecutor:
    """Runs attempts on this machine under attempt parents; implements `headwater.ports.Executor`.

    Args:
        kill_grace_seconds: the grace each attempt parent gives its tree after a SIGTERM
            before it SIGKILLs it by itself; `kill` may shorten it, never lengthen it.
        launch: "fork" (Python tasks start from a fork server) or "spawn" (every task starts
            a new process).
        preload: modules the fork servers import before they serve, beside
            `headwater.runtime`.

    Raises:
        ValueError: for a `launch` that is neither.
    """

    def __init__(self, *, kill_grace_seconds: float = 10.0,
                 task_env: Mapping[str, str] | None = None, launch: str = "fork",
                 preload: Sequence[str] = ()) -> None:
        """`task_env` is what every attempt's process starts with before its own variables
        (default: this process's environment as `core.task_environment` filters it)."""
        if launch not in LAUNCH_MODES:
            raise ValueError(f"launch must be one of {', '.join(LAUNCH_MODES)}, not {launch!r}")
        self._grace = kill_grace_seconds
        self._task_env = dict(task_environment(os.environ) if task_env is None else task_env)
        self._lock = threading.Lock()
        self._notices, notice_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._notice_write, self._notice_rest = notice_write, b""
        self._spawner = Spawner(notice_fd=notice_write)
        self._fork_servers = ForkServers(self._task_env, preload, notice_write, TAG_VARIABLE) \
            if launch == "fork" else None
        self._watched: dict[AttemptKey, _Watched] = {}
        self._by_pidfd: dict[int, _Watched] = {}
        self._by_parent: dict[tuple[int, int], _Watched] = {}
        self._ready: dict[AttemptKey, tuple[str, TaskExit]] = {}  # handle and exit, not reported
        self._epoll = select.epoll()
        self._wakeup = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._wakeup, select.EPOLLIN)
        self._epoll.register(self._notices, select.EPOLLIN)
        self._boot_id = parent.read_boot_id()
        # Tags must differ between executors and between launches of one key.
        self._tag_prefix = f"{os.getpid()}.{secrets.token_hex(4)}"
        self._launches = itertools.count(1)
        self._closed = False

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # -- launching and adopting --------------------------------------------------------------

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        """Start the attempt under a new attempt parent; return the parent's handle.

        A key already watched returns its handle, and an attempt directory that a parent
        already claimed is adopted: a re-sent `StartTask`, or one from a second engine,
        starts nothing.

        Raises:
            InvalidRequest: when the executor is closed, the attempt directory cannot be
                prepared or belongs to another attempt, or no parent could be started. A
                program that cannot be executed comes back as an exit with `start_error`.
        """
        with self._lock:
            self._check_open()
            if (known := self._known_handle(key)) is not None:
                return known
            directory = spec.attempt_dir
            self._check_files(key, spec)
            # A directory made now holds no claim; one that exists may (a start re-issued).
            if not self._make_directory(directory) and \
                    (claim := self._claim_of(key, directory)) is not None:
                return self._adopt_claim(key, directory, claim)
            self._write_files(spec)
            try:
                spawned = self._spawn(key, spec)
            except SpawnError as error:
                raise InvalidRequest(f"cannot start attempt {_name(key)}: {error}") from error
            if spawned.claim == parent.CLAIMED:
                return self._watch(key, spawned.pid, spawned.start_ticks, spawned.pidfd,
                                   directory, self._grace).handle
            os.close(spawned.pidfd)
            claim = self._claim_of(key, directory)
            if spawned.claim == parent.LOST and claim is not None:
                # Another launch (another engine's) claimed it after our check: follow it.
                return self._adopt_claim(key, directory, claim)
            raise InvalidRequest(f"cannot start attempt {_name(key)}: "
                                 f"{spawned.claim or 'its parent ended before it claimed it'}")

    def adopt(self, key: AttemptKey, handle: str | None, attempt_dir: Path) -> str | None:
        """Watch an attempt that an earlier engine launched, whatever became of it.

        The attempt directory is the truth, not `handle`: parent.json names the parent that
        runs the attempt. Alive (same pid, same start ticks, same boot), it is watched; gone
        with an exit.json, that exit is queued; gone without one, the attempt is queued as
        lost and whatever still carries its tag is SIGKILLed. No parent.json: the attempt
        never started (a parent always claims before it starts the task), None; but no
        directory at all for an attempt with a `handle` (which only a claimed launch returns)
        means it started out of this executor's sight: `AttemptOutOfSight`.

        Raises:
            InvalidRequest: when the executor is closed, or the directory's claim is
                unreadable or names another attempt.
            AttemptOutOfSight: as said.
        """
        with self._lock:
            self._check_open()
            if (known := self._known_handle(key)) is not None:
                return known
            claim = self._claim_of(key, attempt_dir)
            if claim is None and handle is not None and not attempt_dir.exists():
                raise AttemptOutOfSight(
                    f"attempt {_name(key)} was launched ({handle}) but there is no {attempt_dir}"
                    ": it ran under another HEADWATER_HOME, or its folder was removed")
            if claim is None:
                return None
            return self._adopt_claim(key, attempt_dir, claim)

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidRequest("the local executor is closed")

    def _known_handle(self, key: AttemptKey) -> str | None:
        if (watched := self._watched.get(key)) is not None:
            return watched.handle
        ready = self._ready.get(key)
        return ready[0] if ready is not None else None

    def _claim_of(self, key: AttemptKey, directory: Path) -> AttemptClaim | None:
        try:
            claim = read_claim(directory)
        except ValueError as error:
            raise InvalidRequest(f"attempt {_name(key)}: {error}") from error
        if claim is not None and claim.key not in (None, (key.run_id, key.seq)):
            raise InvalidRequest(
                f"{directory} belongs to attempt {claim.key[0]}/{claim.key[1]}, not to "
                f"{_name(key)}: every attempt needs a directory of its own")
        return claim

    def _adopt_claim(self, key: AttemptKey, directory: Path, claim: AttemptClaim) -> str:
        with contextlib.suppress(ValueError):  # unreadable: settled when the parent is gone
            if (recorded := read_exit(key, directory)) is not None:
                # Ended: its parent may still be making the record durable, and is not
                # waited for.
                self._ready[key] = (claim.handle, recorded)
                return claim.handle
        if self._watch_claim(key, directory, claim) is None:
            self._settle(key, directory, claim, claim.handle)
        return claim.handle

    def _spawn(self, key: AttemptKey, spec: LaunchSpec) -> Spawned:
        """Start the attempt's parent: from the task's fork server when it has one (a fork
        server that fails is replaced, and meanwhile the light spawner starts the task)."""
        request = self._request(key, spec)
        servers = self._fork_servers
        if servers is not None and spec.python:
            env: dict[str, str] = request["env"]  # type: ignore[assignment]
            if (server := servers.server_for(spec.argv, env, spec.preload)) is not None:
                try:
                    spawned = server.spawn({**request, "fork": True})
                except SpawnError:
                    servers.failed(server)
                else:
                    servers.succeeded(server)
                    return spawned
        return self._spawner.spawn(request)

    def _request(self, key: AttemptKey, spec: LaunchSpec) -> dict[str, object]:
        """What the spawner needs to start the attempt's parent (see `parent.py`)."""
        tag = f"{self._tag_prefix}.{key.run_id}.{key.seq}.{next(self._launches)}"
        try:  # `{{secrets/scope/key}}` values, read here, where the attempt starts
            env = with_secret_references({**self._task_env, **spec.env, TAG_VARIABLE: tag})
        except SecretError as error:
            raise InvalidRequest(str(error)) from None
        return {
            "argv": list(spec.argv), "env": env,
            "cwd": os.path.abspath(spec.cwd), "log": os.path.abspath(spec.log_path),
            "dir": os.path.abspath(spec.attempt_dir), "grace": self._grace, "tag": tag,
            "key": [key.run_id, key.seq], "timeout": spec.timeout_seconds or 0,
        }

    @staticmethod
    def _check_files(key: AttemptKey, spec: LaunchSpec) -> None:
        for name in spec.files:
            if name != os.path.basename(name) or name in ("", ".", "..", *_RESERVED_FILES):
                raise InvalidRequest(f"attempt {_name(key)}: {name!r} cannot be an "
                                     "attempt file (a plain file name, not parent.json or "
                                     "exit.json)")

    @staticmethod
    def _make_directory(directory: Path) -> bool:
        """Create the attempt directory (and its parents); whether it is new."""
        try:
            try:
                os.mkdir(directory)
            except FileNotFoundError:
                os.makedirs(directory.parent, exist_ok=True)
                os.mkdir(directory)
        except FileExistsError:
            return False
        except OSError as error:
            raise InvalidRequest(f"cannot prepare the attempt directory {directory}: "
                                 f"{error.strerror}") from error
        return True

    def _write_files(self, spec: LaunchSpec) -> None:
        """Write `spec.files` into the attempt directory, each atomically."""
        directory = spec.attempt_dir
        try:
            for name, text in spec.files.items():
                temporary = directory / f".{name}.{self._tag_prefix}.tmp"
                temporary.write_text(text, encoding="utf-8")
                os.replace(temporary, directory / name)
        except OSError as error:
            raise InvalidRequest(f"cannot prepare the attempt directory {directory}: "
                                 f"{error.strerror}") from error

    def _watch(self, key: AttemptKey, pid: int, ticks: int, pidfd: int, directory: Path,
               grace: float) -> _Watched:
        watched = _Watched(key, pid, ticks, pidfd, directory, grace)
        self._watched[key] = watched
        self._by_pidfd[pidfd] = watched
        self._by_parent[pid, ticks] = watched
        self._epoll.register(pidfd, select.EPOLLIN)
        return watched

    def _watch_claim(self, key: AttemptKey, directory: Path,
                     claim: AttemptClaim) -> _Watched | None:
        """Watch the claim's parent if it still exists (a zombie counts: it ends at once)."""
        if claim.boot_id and claim.boot_id != self._boot_id:
            return None  # the machine restarted since: that pid names another process
        if not _is(claim.pid, claim.start_ticks):
            return None
        try:
            pidfd = os.pidfd_open(claim.pid)
        except ProcessLookupError:
            return None
        if not _is(claim.pid, claim.start_ticks):  # the pidfd pins it: check once more
            os.close(pidfd)
            return None
        return self._watch(key, claim.pid, claim.start_ticks, pidfd, directory, claim.grace)

    def _unwatch(self, watched: _Watched) -> None:
        self._epoll.unregister(watched.pidfd)
        os.close(watched.pidfd)
        del self._by_pidfd[watched.pidfd]
        del self._by_parent[watched.pid, watched.start_ticks]
        del self._watched[watched.key]

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, timeout: float) -> list[TaskExit]:
        """Block up to `timeout` seconds for at least one exit; return every exit seen."""
        with self._lock:
            if self._closed:
                return []
            timeout = 0.0 if self._ready else self._until_deadline(timeout, time.monotonic())
        ready = self._epoll.poll(max(timeout, 0.0))
        with self._lock:
            if self._closed:
                return []
            self._send_due_kills(time.monotonic())
            for fd, _ in ready:
                if fd == self._wakeup:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wakeup)
                elif fd == self._notices:
                    self._read_notices()
                elif (watched := self._by_pidfd.get(fd)) is not None:
                    self._ended(watched)
            exits = [exit_ for _, exit_ in self._ready.values()]
            self._ready.clear()
            return exits

    def _read_notices(self) -> None:
        """Queue the exits that parents announced (one JSON line each, see `parent.py`)."""
        data = self._notice_rest
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self._notices, 1 << 16):
                data += chunk
        lines = data.split(b"\n")
        self._notice_rest = lines.pop()
        for line in lines:
            try:
                notice = json.loads(line)
                watched = self._by_parent.get((notice["pid"], notice["start_ticks"]))
                record = notice["exit"]
            except (ValueError, KeyError, TypeError):
                continue  # not a notice: the parent's end tells instead
            if watched is not None and isinstance(record, dict):
                self._unwatch(watched)
                self._ready[watched.key] = (watched.handle,
                                            exit_of_record(watched.key, watched.directory,
                                                           record))

    def _ended(self, watched: _Watched) -> None:
        """An attempt parent ended: queue the attempt's exit (only claimed parents are watched)."""
        self._unwatch(watched)
        try:
            claim = read_claim(watched.directory)
        except ValueError as error:
            self._queue_lost(watched.key, watched.directory, watched.handle, str(error))
            return
        self._settle(watched.key, watched.directory, claim, watched.handle)

    def _settle(self, key: AttemptKey, directory: Path, claim: AttemptClaim | None,
                handle: str) -> None:
        """Queue the exit of an attempt whose parent is gone: recorded, or lost."""
        try:
            recorded = read_exit(key, directory)
        except ValueError as error:
            recorded, problem = None, f"its exit record is unreadable ({error})"
        else:
            problem = "it recorded no exit"
        if recorded is not None:
            self._ready[key] = (handle, recorded)
            return
        if claim is None:
            reason = f"the attempt's parent process ({handle}) is gone and left no claim"
        else:
            reason = f"the attempt's parent process (pid {claim.pid}) is gone and {problem}"
            if claim.tag:  # the task may still run, parentless: it must not outlive this
                needle = f"{TAG_VARIABLE}={claim.tag}".encode()
                proctree.kill_tagged([needle], claim.start_ticks)
        self._queue_lost(key, directory, handle, reason)

    def _queue_lost(self, key: AttemptKey, directory: Path, handle: str, reason: str) -> None:
        self._ready[key] = (handle, lost_exit(key, directory, reason))

    # -- killing ---------------------------------------------------------------------------

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        """SIGTERM the attempt's tree now and SIGKILL it after `grace_seconds`; never blocks.

        The parent SIGKILLs the tree after its own grace (`kill_grace_seconds` when it was
        launched); a shorter `grace_seconds` is enforced from `wait` with a SIGUSR1. Killing
        an ended or unknown attempt, or killing again, is harmless; a second kill with a
        shorter grace brings the SIGKILL forward.
        """
        with self._lock:
            watched = self._watched.get(key)
            if watched is None or self._closed:
                return
            now = time.monotonic()
            if watched.term_at is None:
                watched.term_at = now
                _signal(watched, signal.SIGTERM)
            wanted = now + max(grace_seconds, 0.0)
            if wanted >= watched.term_at + watched.grace or watched.hard_sent:
                return  # the parent's own timer comes first, or it was done already
            if watched.hard_at is None or wanted < watched.hard_at:
                watched.hard_at = wanted
                self._send_due_kills(now)
                os.eventfd_write(self._wakeup, 1)  # `wait` recomputes its timeout

    def _send_due_kills(self, now: float) -> None:
        for watched in self._watched.values():
            if watched.hard_at is not None and watched.hard_at <= now and not watched.hard_sent:
                watched.hard_sent = True
                _signal(watched, signal.SIGUSR1)

    def _until_deadline(self, timeout: float, now: float) -> float:
        deadlines = [w.hard_at for w in self._watched.values()
                     if w.hard_at is not None and not w.hard_sent]
        return min([timeout, *(deadline - now for deadline in deadlines)])

    # -- the rest of the port ----------------------------------------------------------------

    def release(self, key: AttemptKey) -> None:
        """Stop watching an attempt and leave it running: another engine owns its run now."""
        with self._lock:
            if (watched := self._watched.get(key)) is not None:
                self._unwatch(watched)
            self._ready.pop(key, None)

    def running(self) -> int:
        """How many watched attempts have not been reported as exited yet."""
        with self._lock:
            return len(self._watched) + len(self._ready)

    def close(self) -> None:
        """Stop watching and stop the spawner; every attempt keeps running."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for watched in list(self._watched.values()):
                self._unwatch(watched)
            self._ready.clear()
            self._spawner.close()
            if self._fork_servers is not None:
                self._fork_servers.close()
            self._epoll.close()
            for fd in (self._wakeup, self._notices, self._notice_write):
                os.close(fd)


def _name(key: AttemptKey) -> str:
    return f"{key.run_id}/{key.seq}"


def _is(pid: int, start_ticks: int) -> bool:
    """True while `pid` is the process that started at `start_ticks` (zombie or not)."""
    info = proctree.read_process(pid)
    return info is not None and info.start_ticks == start_ticks


def _signal(watched: _Watched, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        signal.pidfd_send_signal(watched.pidfd, signum)
