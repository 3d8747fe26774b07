"""`LocalExecutor`: each attempt is a child process in its own session, killed as a whole tree.

How it works (Linux >= 5.3):

- `launch` starts the attempt with `start_new_session=True`, so its pid is also its process
  group and session id, and adds `HEADWATER_ATTEMPT_TAG` to its environment so that daemons
  that leave the group can still be recognised. It registers a pidfd of the child in an epoll
  set; the handle `pid:start_ticks` names the process even after its pid is reused.
- `wait` blocks in `epoll.poll`: a pidfd turns readable when its process ends. The leader is
  not reaped before its group has been SIGKILLed, because a zombie leader keeps its pid, hence
  the group id, from being reused: the group signal can never hit a stranger.
- When an attempt ends, whatever it leaves behind is SIGKILLed: a task must not leave
  processes behind. Its process group at once; processes that left the group (setsid
  children, double-forked daemons, recognised by the tag) and their descendants within
  about 50 ms, by a `StraySweeper` thread: finding them takes a /proc scan, batched there.
- `kill` sends SIGTERM to the tree and arms a timer thread that SIGKILLs it after the grace
  period, so the caller never blocks. If the leader dies first while others in its tree are
  still shutting down, its exit is held back until they are gone or the grace is over.

`kill` may be called from any thread; `wait`, `launch` and `close` from the engine's thread.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

from headwater.errors import InvalidRequest
from headwater.executors import proctree
from headwater.executors.sweeper import StraySweeper
from headwater.ports import AttemptKey, LaunchSpec, TaskExit

__all__ = ["TAG_VARIABLE", "LocalExecutor"]

TAG_VARIABLE = "HEADWATER_ATTEMPT_TAG"
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
_LOG_MODE = 0o600  # logs may hold secrets a task printed
_DRAIN_POLL_SECONDS = 0.05  # how often a killed attempt's tree is checked after its leader died


@dataclass(slots=True, eq=False)
class _Attempt:
    """One launched attempt until its exit has been reported."""

    key: AttemptKey
    process: subprocess.Popen[bytes]
    start_ticks: int
    pidfd: int
    tag: bytes  # the `NAME=value` environment entry that marks the attempt's processes
    kill_deadline: float | None = None  # monotonic instant of the SIGKILL, once killed
    timers: list[threading.Timer] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def handle(self) -> str:
        return f"{self.pid}:{self.start_ticks}"


def _open_log(path: str) -> int:
    """Open the attempt's log for appending, creating its directory on first use."""
    try:
        return os.open(path, _LOG_FLAGS, _LOG_MODE)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return os.open(path, _LOG_FLAGS, _LOG_MODE)


def _exit_of(key: AttemptKey, returncode: int) -> TaskExit:
    """Popen's convention (negative for a signal) turned into a `TaskExit`."""
    if returncode < 0:
        return TaskExit(key=key, exit_code=None, signal=-returncode)
    return TaskExit(key=key, exit_code=returncode)


def parse_handle(handle: str) -> tuple[int, int]:
    """Split a `pid:start_ticks` handle; `InvalidRequest` when it is not one."""
    pid, sep, ticks = handle.partition(":")
    if not (sep and pid.isdigit() and ticks.isdigit()):
        raise InvalidRequest(f"not a local executor handle: {handle!r} (expected pid:start_ticks)")
    return int(pid), int(ticks)


class LocalExecutor:
    """Runs attempts as local child processes; implements `headwater.ports.Executor`.

    Args:
        close_grace_seconds: how long `close` lets processes handle SIGTERM before SIGKILL.
        sweep_strays: look for processes that left the attempt's group (setsid children,
            double-forked daemons) by scanning /proc when an attempt ends or is killed.
    """

    def __init__(self, *, close_grace_seconds: float = 1.0, sweep_strays: bool = True) -> None:
        self._close_grace = close_grace_seconds
        self._sweep = sweep_strays
        self._sweeper = StraySweeper()
        self._lock = threading.Lock()
        self._attempts: dict[AttemptKey, _Attempt] = {}
        self._by_pidfd: dict[int, _Attempt] = {}
        self._finished: list[TaskExit] = []
        self._draining: set[_Attempt] = set()  # leaders ended, trees still in their grace
        self._epoll = select.epoll()
        self._wakeup = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._wakeup, select.EPOLLIN)
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        # Tags must differ between executors and between relaunches of one key.
        self._tag_prefix = f"{TAG_VARIABLE}={os.getpid()}.{secrets.token_hex(4)}"
        self._launches = itertools.count(1)
        self._closed = False

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # -- launching -------------------------------------------------------------------------

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        """Start the attempt in a new session; return its handle `pid:start_ticks`.

        Launching a key that is still running returns the running attempt's handle, so a
        re-sent `StartTask` starts nothing.

        Raises:
            InvalidRequest: when the process cannot be started (no such program or working
                directory, say) or the executor is closed.
        """
        with self._lock:
            if self._closed:
                raise InvalidRequest("the local executor is closed")
            running = self._attempts.get(key)
            if running is not None:
                return running.handle
            tag = f"{self._tag_prefix}.{key.run_id}.{key.seq}.{next(self._launches)}"
            process = self._spawn(spec, tag)
            attempt = self._track(key, process, tag.encode())
            return attempt.handle

    def _spawn(self, spec: LaunchSpec, tag: str) -> subprocess.Popen[bytes]:
        name, _, value = tag.partition("=")
        env = {**os.environ, **spec.env, name: value}
        log = _open_log(os.fspath(spec.log_path))
        try:
            return subprocess.Popen(
                list(spec.argv), env=env, cwd=spec.cwd, stdin=self._devnull, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
        except OSError as error:
            raise InvalidRequest(
                f"cannot start {spec.argv[0]!r} in {os.fspath(spec.cwd)!r}: {error.strerror}"
            ) from error
        finally:
            os.close(log)  # the child holds its own copy

    def _track(self, key: AttemptKey, process: subprocess.Popen[bytes], tag: bytes) -> _Attempt:
        # The child is ours and not reaped yet, so its /proc entry and pidfd are certain.
        info = proctree.read_process(process.pid)
        pidfd = os.pidfd_open(process.pid)
        attempt = _Attempt(key, process, info.start_ticks if info else 0, pidfd, tag)
        self._attempts[key] = attempt
        self._by_pidfd[pidfd] = attempt
        self._epoll.register(pidfd, select.EPOLLIN)
        return attempt

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, timeout: float) -> list[TaskExit]:
        """Block up to `timeout` seconds for at least one exit; return every exit seen."""
        with self._lock:
            if self._finished:
                timeout = 0  # exits are waiting already: only collect what else is ready
            elif self._draining:
                timeout = min(timeout, _DRAIN_POLL_SECONDS)  # their trees end unannounced
        ready = self._epoll.poll(max(timeout, 0.0))
        with self._lock:
            ended = list(self._draining)
            for fd, _ in ready:
                if fd == self._wakeup:
                    self._drain_wakeup()
                elif (attempt := self._by_pidfd.get(fd)) is not None:
                    ended.append(attempt)
            self._settle(ended, time.monotonic())
            exits, self._finished = self._finished, []
            return exits

    def _settle(self, ended: list[_Attempt], now: float) -> None:
        """Report the ended leaders, except those whose tree still has a grace to use."""
        finishing = []
        for attempt in ended:
            dying = attempt.kill_deadline is not None and now < attempt.kill_deadline
            if dying and self._tree_alive(attempt):
                if attempt not in self._draining:
                    # The leader is a zombie: stop polling it; `wait` checks its tree instead.
                    self._draining.add(attempt)
                    self._epoll.unregister(attempt.pidfd)
            else:
                finishing.append(attempt)
        self._finish(finishing)

    def _tree_alive(self, attempt: _Attempt) -> bool:
        return bool(self._members([attempt], proctree.snapshot()))

    def _finish(self, attempts: list[_Attempt]) -> None:
        """SIGKILL what the attempts leave behind, then reap and report their leaders."""
        if not attempts:
            return
        for attempt in attempts:
            # Kill before reaping: the zombie leader keeps its group id from being reused.
            proctree.signal_group(attempt.pid, signal.SIGKILL)
            returncode = attempt.process.wait()
            self._forget(attempt)
            self._finished.append(_exit_of(attempt.key, returncode))
            if self._sweep:
                self._sweeper.add(attempt.tag, attempt.start_ticks)

    def _forget(self, attempt: _Attempt) -> None:
        if attempt in self._draining:
            self._draining.discard(attempt)
        else:
            self._epoll.unregister(attempt.pidfd)
        os.close(attempt.pidfd)
        del self._by_pidfd[attempt.pidfd]
        del self._attempts[attempt.key]
        for timer in attempt.timers:
            timer.cancel()

    def _drain_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self._wakeup)

    # -- killing ---------------------------------------------------------------------------

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        """SIGTERM the attempt's tree now and SIGKILL it after `grace_seconds`; never blocks.

        Killing an attempt that already ended, or killing again, is harmless; a second kill
        with a shorter grace brings the SIGKILL forward.
        """
        with self._lock:
            attempt = self._attempts.get(key)
            if attempt is None:
                return
            deadline = time.monotonic() + max(grace_seconds, 0.0)
            if attempt.kill_deadline is not None and attempt.kill_deadline <= deadline:
                return
            first = attempt.kill_deadline is None
            attempt.kill_deadline = deadline
            if first and attempt not in self._draining:
                proctree.signal_group(attempt.pid, signal.SIGTERM)
                self._signal_strays([attempt], signal.SIGTERM)
            timer = threading.Timer(max(grace_seconds, 0.0), self._grace_over, (attempt,))
            timer.daemon = True
            attempt.timers.append(timer)
            timer.start()

    def _grace_over(self, attempt: _Attempt) -> None:
        """Timer thread: the grace has run out, SIGKILL whatever is left of the attempt."""
        with self._lock:
            if self._attempts.get(attempt.key) is not attempt:
                return  # reported already
            if attempt in self._draining:
                self._finish([attempt])
                os.eventfd_write(self._wakeup, 1)  # its exit is ready: wake `wait`
            else:
                proctree.signal_group(attempt.pid, signal.SIGKILL)
                self._signal_strays([attempt], signal.SIGKILL)

    def _members(
        self, attempts: list[_Attempt], processes: list[proctree.ProcessInfo]
    ) -> list[proctree.ProcessInfo]:
        """The living processes of `attempts`, their leaders excluded."""
        leaders = {attempt.pid for attempt in attempts}
        tagged: set[int] = set()
        if self._sweep:
            since = min(attempt.start_ticks for attempt in attempts)
            tagged, _ = proctree.tagged_since(processes, [a.tag for a in attempts], since)
        found = proctree.members(processes, leaders, tagged)
        return [info for info in found if info.pid not in leaders]

    def _signal_strays(self, attempts: list[_Attempt], signum: int) -> None:
        """Signal the attempts' processes that left their process group."""
        if not self._sweep:
            return
        groups = {attempt.pid for attempt in attempts}
        for info in self._members(attempts, proctree.snapshot()):
            if info.group not in groups:  # group members got the group signal already
                proctree.send_signal(info, signum)

    # -- queries ---------------------------------------------------------------------------

    def is_alive(self, handle: str) -> bool:
        """True when the process behind `handle` still runs (and is not a reused pid)."""
        pid, start_ticks = parse_handle(handle)
        info = proctree.read_process(pid)
        return info is not None and info.start_ticks == start_ticks and not info.gone

    def kill_orphan(self, handle: str | None, key: AttemptKey | None = None,
                    wait_seconds: float = 10.0) -> None:
        """SIGKILL the tree of an attempt an earlier engine launched, and wait until it is gone.

        By its handle: only processes started no earlier than the attempt's leader and in its
        session (or below it) are hit, so a reused pid is never signalled. By its key: the
        processes carrying the attempt's tag, for an attempt whose start was never recorded.
        """
        pid, start_ticks = parse_handle(handle) if handle else (0, 0)
        suffix = f".{key.run_id}.{key.seq}".encode() if key else None
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            processes = proctree.snapshot()
            found = [info for info in proctree.members(processes, {pid})
                     if info.start_ticks >= start_ticks] if handle else []
            if suffix is not None:
                leaders = {i.pid for i in proctree.with_tag_suffix(
                    processes, TAG_VARIABLE.encode(), suffix)}
                found += proctree.members(processes, leaders, leaders)
            if not found:
                return
            for info in found:
                proctree.send_signal(info, signal.SIGKILL)
            time.sleep(0.02)

    def running(self) -> int:
        """How many launched attempts have not been reported as exited yet."""
        with self._lock:
            return len(self._attempts)

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Kill everything still running (SIGTERM, a short grace, SIGKILL), reap, release."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            attempts = list(self._attempts.values())
            for attempt in attempts:
                proctree.signal_group(attempt.pid, signal.SIGTERM)
            if attempts:
                self._signal_strays(attempts, signal.SIGTERM)
                self._await_leaders(attempts, time.monotonic() + self._close_grace)
            self._finish(attempts)
            self._finished.clear()
            self._sweeper.close()  # sweeps what is pending first
            self._epoll.close()
            os.close(self._wakeup)
            os.close(self._devnull)

    @staticmethod
    def _await_leaders(attempts: list[_Attempt], deadline: float) -> None:
        """Wait, without reaping, until every leader has ended or the deadline has passed."""
        poller = select.poll()
        pending = {attempt.pidfd for attempt in attempts}
        for pidfd in pending:
            poller.register(pidfd, select.POLLIN)
        while pending and (left := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(left * 1000):
                pending.discard(fd)
                poller.unregister(fd)
