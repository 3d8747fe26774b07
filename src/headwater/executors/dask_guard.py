"""The guard of one attempt on a Dask worker: runs the task's process tree, and ends it with
the worker.

Standard library only and no `headwater` import: a worker runs it as
`python -I -S dask_guard.py`, in a session of its own, for each attempt (`dask_worker.py`).
It is to a worker what the attempt parent (`parent.py`) is to the local executor, with one
difference that matters: an attempt on a cluster must never outlive its worker. A worker that
dies is a lost attempt, retried by its policy, perhaps on another worker at once: if the old
tree ran on, two attempts of one task would run together.

Protocol, over the guard's stdin and stdout (the worker holds the other ends):

    stdin, first line   {"argv", "env", "cwd", "log"}: the task to run
    stdin, then         "term <grace seconds>" (SIGTERM the tree, SIGKILL it after the
                        grace), or "kill" (SIGKILL the tree now)
    stdin at EOF        the worker is gone (or gave the attempt up): SIGKILL the tree now
    stdout              {"pid": <leader>} once started, then {"exit_code", "signal",
                        "start_error"} when the whole tree is gone

The task starts with `posix_spawn` in a session of its own, every signal at its default, stdin
from /dev/null, stdout and stderr appended to the log. The guard is the tree's child
subreaper, so double-forked and `setsid` descendants stay findable. When the leader ends, the
rest of its tree is SIGKILLed at once, unless a kill is under way (then it keeps its grace).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import sys
import time

_PR_SET_CHILD_SUBREAPER = 36
_DEFAULT_SIGNALS = tuple(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP})
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC


def _descendants(root: int) -> list[int]:
    """Every living descendant of `root`, by the parent links in /proc."""
    children: dict[int, list[tuple[int, bool]]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as source:
                fields = source.read().rpartition(b")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append((int(name), fields[0] not in (b"Z", b"X")))
    found, pending = [], [root]
    while pending:
        for pid, living in children.get(pending.pop(), ()):
            pending.append(pid)
            if living:
                found.append(pid)
    return found


class Guard:
    """One attempt's tree: started, signalled, reaped; `run` returns its exit record."""

    def __init__(self, request: dict[str, object]) -> None:
        self.request = request
        self.leader: int | None = None
        self.status: tuple[int | None, int | None] | None = None
        self.term_deadline: float | None = None  # monotonic: SIGKILL the tree then
        self.killing = False

    def start(self) -> str | None:
        """Start the task; why it could not start, or None."""
        argv = [str(word) for word in self.request.get("argv") or []]  # type: ignore[attr-defined]
        env = {str(k): str(v) for k, v in dict(self.request.get("env") or {}).items()}  # type: ignore[call-overload]
        cwd, log_path = str(self.request.get("cwd", "/")), str(self.request.get("log", ""))
        try:
            log = os.open(log_path, _LOG_FLAGS, 0o600)
        except OSError as error:
            return f"cannot open the log {log_path!r}: {error.strerror}"
        devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if not argv:
                return "an empty command"
            os.chdir(cwd)
            os.environ["PATH"] = env.get("PATH", os.defpath)  # posix_spawnp searches ours
            self.leader = os.posix_spawnp(
                argv[0], argv, env, setsid=True, setsigdef=_DEFAULT_SIGNALS, setsigmask=(),
                file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log, 1),
                              (os.POSIX_SPAWN_DUP2, log, 2)])
        except OSError as error:
            program = argv[0] if argv else ""
            return f"cannot start {program!r} in {cwd!r}: {error.strerror}"
        finally:
            os.close(log)
            os.close(devnull)
        return None

    def signal_tree(self, signum: int) -> None:
        """Signal the task's group and every descendant of the guard (its subreaper)."""
        if self.leader is not None and self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.leader, signum)
        for pid in _descendants(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def command(self, line: str) -> None:
        """A line from the worker: `term <grace>` or `kill`."""
        word, _, rest = line.strip().partition(" ")
        if word == "term" and not self.killing:
            self.killing = True
            self.signal_tree(signal.SIGTERM)
            try:
                grace = max(float(rest), 0.0)
            except ValueError:
                grace = 0.0
            self.term_deadline = time.monotonic() + grace
        elif word == "kill":
            self.killing = True
            self.term_deadline = time.monotonic()

    def reap(self) -> bool:
        """Reap the children that ended; False once none is left."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.leader and self.status is None:
                self.status = (os.waitstatus_to_exitcode(status), None) \
                    if os.WIFEXITED(status) else (None, os.WTERMSIG(status))
                if not self.killing:  # what the leader left behind goes with it
                    self.signal_tree(signal.SIGKILL)

    def supervise(self, stdin: int) -> None:
        """Until the whole tree is gone: commands, the worker's end, the kill deadline."""
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes the poll up
        poller = select.poll()
        poller.register(stdin, select.POLLIN)
        poller.register(wake_read, select.POLLIN)
        pending = b""
        while self.reap():
            timeout = None
            if self.term_deadline is not None:  # once due, sweep again until all are gone
                timeout = max(100, int((self.term_deadline - time.monotonic()) * 1000) + 1)
            for fd, _ in poller.poll(timeout):
                if fd == wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_read, 512)
                    continue
                data = os.read(stdin, 4096)
                if not data:  # the worker died, or gave up on the attempt: end it now
                    poller.unregister(stdin)
                    self.killing, self.term_deadline = True, time.monotonic()
                pending += data
                while b"\n" in pending:
                    line, _, pending = pending.partition(b"\n")
                    self.command(line.decode("utf-8", "replace"))
            if self.term_deadline is not None and time.monotonic() >= self.term_deadline:
                self.signal_tree(signal.SIGKILL)


def _say(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main() -> int:
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # the worker speaks through stdin only
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    stdin = sys.stdin.fileno()
    first = b""
    while not first.endswith(b"\n"):
        chunk = os.read(stdin, 1)  # byte by byte: what follows the line stays in the pipe
        if not chunk:
            return 0  # the worker gave up before it said what to run
        first += chunk
    guard = Guard(json.loads(first))
    error = guard.start()
    if error is not None:
        _say({"exit_code": None, "signal": None, "start_error": error})
        return 0
    _say({"pid": guard.leader})
    guard.supervise(stdin)
    status = guard.status or (None, None)
    _say({"exit_code": status[0], "signal": status[1], "start_error": None})
    return 0


if __name__ == "__main__":
    sys.exit(main())
