"""The attempt parent and its spawner: the processes that run attempts apart from the engine.

Standard library only and no `headwater` import: the spawner runs as
`python -I -S parent.py serve <fd>`, so it starts in about 30 ms whatever is installed, and
each attempt parent is a `fork` of it, not a new interpreter and not a fork of the engine
(which has threads). A fork of a Python process costs little to make but much to run: each
page the child writes is copied, so the spawner imports little (no `subprocess`, hence no
`threading` and its after-fork hook) and freezes its heap out of the garbage collector.

The spawner reads one request per line from its socket (`spawner.request_line` writes them:
a JSON object for the parent, a tab, and one with the task's `argv` and `env`),
hands each to an attempt parent, and answers with `{"pid", "start_ticks", "claim"}` and a
pidfd of that parent (SCM_RIGHTS). The parent was forked ahead of the request (`_Spare`: the
fork, and the first writes to the pages it shares with the spawner, happen while the engine
works on), and in a fork server that parent has forked its task ahead too (`PreparedTask`);
each waits on a pipe, having claimed and run nothing, and exits at EOF if it is let go. The
spawner opens a parent's pidfd before reaping anything, so the pidfd can only name its own
child. It answers once the parent has claimed the attempt or lost it (a pipe tells it, a
fraction of a millisecond later), so that when `launch` returns, parent.json exists: an
engine that takes the run over a moment later can never find a launched attempt without its
claim and think it never started. It ignores SIGINT (the engine turns Ctrl-C into a cancel)
and exits at EOF, when its engine closes it or dies; the parents it started run on.

The attempt parent owns one attempt directory:

    parent.json   the claim: who runs the attempt. Made with `link`, which fails when the
                  file exists, so of two parents started for one attempt (two engines, or a
                  stale engine that woke up late) exactly one starts the task; the other
                  exits with `LOST_CLAIM` and writes nothing.
    exit.json     the exit record, written (temporary, fsync, rename, fsync of the directory)
                  once the task's whole tree is gone, so an engine that was not watching
                  still finds out how the attempt ended.

It starts the task with `posix_spawn` in a session of its own, with every signal at its
default and stdin from /dev/null, stdout and stderr appended to the log. It makes itself a
child subreaper, so that double-forked and `setsid` descendants are re-parented to it and
stay findable; and it holds the kill protocol, so that a kill started
by an engine completes even if that engine dies: SIGTERM = SIGTERM the tree, then SIGKILL it
after the grace from the request (its own timer); SIGUSR1 = SIGKILL the tree now. The task's
timeout from the request is a timer of its own too: at it, the tree gets that SIGTERM and
grace, engine or no engine (the engine's own timer does the same). When the
task's leader ends, the rest of the tree is SIGKILLed at once, unless a kill is under way,
in which case the rest keeps its grace. The reported status is always the leader's (a kill
that came before the task started records its signal, and the task never starts). SIGINT
and SIGHUP are ignored: the parent is no terminal's to stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Iterable, Mapping

__all__ = ["CLAIM", "CLAIMED", "EXIT", "LOST", "LOST_CLAIM", "TASK_FIELDS", "AttemptParent",
           "BecomeTask", "Server", "command_block", "main", "read_boot_id", "show_command_line"]

CLAIM = "parent.json"
EXIT = "exit.json"
LOST_CLAIM = 75  # EX_TEMPFAIL: another parent runs this attempt
CLAIMED, LOST = "claimed", "lost"  # how a claim went, as the spawner's reply says
TASK_FIELDS = ("argv", "env")  # a request's second part: the task's, see `split_request`
_FAILED = 70  # EX_SOFTWARE: the parent failed; its traceback is in the log (or on stderr)
_PR_SET_NAME, _PR_SET_CHILD_SUBREAPER = 15, 36
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
_LOG_MODE = 0o600  # logs may hold secrets a task printed
_DEFAULT_SIGNALS = tuple(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP})
# The C module under `signal`, for what a fresh fork does with signals (`_block_signals`,
# `_reset_signals`): `signal`'s own functions turn each signal number and handler they
# answer into an enum member, which costs 130 µs per block and restore of the mask and, in a
# fresh fork, a hundred pages copied from the fork server.
_SIGNAL_C = sys.modules["_signal"]
_ALL_SIGNALS = frozenset(_SIGNAL_C.valid_signals())
_ARG_START, _ARG_END = 45, 46  # fields 48 and 49 of /proc/<pid>/stat, from field 3
_ENV_START, _ENV_END = 47, 48  # fields 50 and 51


class BecomeTask(BaseException):
    """Raised in a task forked by the fork server: it unwinds the server's frames up to the
    fork server's top (`zygote.py`), which then runs `argv` there (see `_become_task`)."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__("a forked task")
        self.argv = argv


# -- the attempt directory's records -----------------------------------------------------------


def read_boot_id() -> str:
    """This boot's id: a (pid, start ticks) pair names a process only within one boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as source:
            return source.read().strip()
    except OSError:
        return ""


def _now_iso() -> str:
    """An ISO 8601 UTC instant with microseconds, without importing `datetime`."""
    now = time.time()
    seconds = int(now)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{int((now - seconds) * 1e6):06d}+00:00"


def _write_new(path: str, data: bytes, sync: bool) -> None:
    """Write a file that must not exist yet, optionally flushed to the disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


# -- /proc ---------------------------------------------------------------------------------------


def _stat(pid: int | str) -> list[bytes] | None:
    """Fields 3 onwards of /proc/<pid>/stat (state, parent, ...); None once it is gone."""
    try:  # raw system calls: no file object to build in a fresh fork
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 4096).rpartition(b")")[2].split()
    except OSError:
        return None
    finally:
        os.close(fd)


def _start_ticks(pid: int | str) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _descendants(root: int) -> list[tuple[int, int]]:
    """(pid, start ticks) of every living descendant of `root`, by the parent links."""
    children: dict[int, list[tuple[int, int, bool]]] = {}
    for name in os.listdir("/proc"):
        fields = _stat(name) if name.isdigit() else None
        if fields and len(fields) > 19:
            entry = (int(name), int(fields[19]), fields[0] not in (b"Z", b"X"))
            children.setdefault(int(fields[1]), []).append(entry)
    found, pending = [], [root]
    while pending:
        for pid, ticks, living in children.get(pending.pop(), ()):
            pending.append(pid)  # a zombie's children are still to be found
            if living:
                found.append((pid, ticks))
    return found


def _send(pid: int, ticks: int, signum: int) -> None:
    """Signal `pid` only if it is still the process that started at `ticks`."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if _start_ticks(pid) == ticks:  # the pidfd pins the process: no reuse from here on
            signal.pidfd_send_signal(pidfd, signum)
    except OSError:
        pass
    finally:
        os.close(pidfd)


# -- the attempt parent --------------------------------------------------------------------------


def split_request(line: bytes) -> tuple[dict[str, object], bytes]:
    """A request line's parent part, decoded, and its task part, as it is.

    Raises:
        ValueError: when the parent part is not a JSON object.
    """
    head, _, task = line.partition(b"\t")
    request = json.loads(head)
    if not isinstance(request, dict):
        raise ValueError("not a JSON object")
    return request, task.strip()


def _task_of(task: bytes) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a request's task part."""
    try:
        fields = json.loads(task)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        return [], {}
    env = fields.get("env")
    return ([str(word) for word in _as_list(fields.get("argv"))],
            {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {})


class AttemptParent:
    """One attempt, run from a fork of the spawner; `run` returns the parent's exit code."""

    def __init__(self, request: dict[str, object], libc: ctypes.CDLL, boot_id: str,
                 notice_fd: int | None = None, forking: ForkSetup | None = None,
                 task: bytes = b"{}") -> None:
        """Read everything the request says before the claim (the claim's text included),
        so that a kill that comes after the claim finds the attempt ready to start. A task
        this parent forks decodes its part of the request (`task`) itself."""
        self.libc = libc
        self.report_fd: int | None = None  # tells the spawner how the claim went
        self.notice_fd = notice_fd  # tells the engine of the exit before it is made durable
        self.forking = forking  # set in a fork server: what its forked tasks need
        self.prepared: PreparedTask | None = None  # the task forked ahead, if any
        self.fork = bool(request.get("fork"))  # start the task as a fork of this process
        self.tag = str(request.get("tag", ""))
        self.identity = ""  # `"pid": P, "start_ticks": T` of this parent, once it claimed
        self.directory = str(request.get("dir", ""))
        self.grace = _number(request.get("grace"))
        self.timeout = _number(request.get("timeout"))  # 0: none
        self.task = task
        self.cwd, self.log_path = str(request.get("cwd", "")), str(request.get("log", ""))
        claim = {"started_at": _now_iso(), "boot_id": boot_id, "tag": self.tag,
                 "key": request.get("key"), "grace": self.grace}
        self.claim_head = json.dumps(claim)[:-1]  # the fork adds its pid and start ticks
        self.leader: int | None = None
        self.leader_reaped = False
        self.status: tuple[int | None, int | None] | None = None  # (exit code, signal)
        self.start_error: str | None = None
        self.term_requested = self.term_applied = self.hard = False

    def run(self) -> int:
        """Claim the attempt, run it, record its exit; the parent's exit code."""
        self._handle_signals()  # before the claim is reported: a kill may follow at once
        # Leave the engine's process group before claiming: a kill of that group (a service
        # manager stopping the engine, `kill -9 -PGID`) must never take down a parent that
        # claimed its attempt, or the attempt would be lost with no exit record. A child
        # killed before this point claimed nothing, and the attempt is launched again.
        os.setsid()
        claimed = self._claim()
        self.report(CLAIMED if claimed else LOST)
        if not claimed:
            return LOST_CLAIM
        self._start()
        if self.prepared is not None:  # not needed: no task, or one spawned
            self.prepared.discard()
            self.prepared = None
        if self.leader is not None:
            self._supervise()
        self._record()
        return 0

    def report(self, outcome: str) -> None:
        """Tell the spawner, once, how the claim went: it answers the engine only then."""
        if self.report_fd is not None:
            fd, self.report_fd = self.report_fd, None
            try:
                os.write(fd, outcome.encode("utf-8", "replace")[:4096])
            except OSError:
                pass  # the spawner is gone: the attempt runs all the same (it is claimed)
            finally:
                os.close(fd)

    def _handle_signals(self) -> None:
        """Ctrl-C and hang-ups are not for the parent; TERM, USR1 and ALRM are the kill.

        Handlers, not SIG_IGN, for SIGINT and SIGHUP: `_spawn` resets every signal for the
        task anyway, but a handler is also what any other exec would reset.
        """
        for signum in (signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, _ignore)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGUSR1, self._on_hard)
        signal.signal(signal.SIGALRM, self._on_alarm)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)

    def _detach(self) -> None:
        """Catch every descendant that would escape (the session was left at the claim)."""
        os.chdir("/")  # pin no directory until the task's own
        if self.libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
        self.libc.prctl(_PR_SET_NAME, b"hw-attempt", 0, 0, 0)  # for ps and top

    def _claim(self) -> bool:
        """Create parent.json if no other parent did: exactly one parent runs the attempt."""
        me = os.getpid()
        self.identity = f'"pid": {me}, "start_ticks": {_start_ticks(me)}'
        # The session says the claim was made outside the engine's process group (see run).
        claim = f'{self.claim_head}, {self.identity}, "session": {os.getsid(0)}}}'
        temporary = f"{self.directory}/.{CLAIM}.{me}.tmp"
        try:
            _write_new(temporary, claim.encode(), sync=False)
        except FileNotFoundError:  # the engine makes the directory; someone removed it
            os.makedirs(self.directory, exist_ok=True)
            _write_new(temporary, claim.encode(), sync=False)
        try:
            os.link(temporary, f"{self.directory}/{CLAIM}")
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
        return True

    def _start(self) -> None:
        """Start the task in a session of its own, its output appended to the log."""
        if self.term_requested or self.hard:  # killed before it started: it never will
            self.status = (None, signal.SIGKILL if self.hard else signal.SIGTERM)
            return
        try:
            self._detach()
        except OSError as error:
            self.start_error = f"cannot set the attempt apart: {error}"
            return
        try:
            log = os.open(self.log_path, _LOG_FLAGS, _LOG_MODE)
        except OSError as error:
            self.start_error = f"cannot open the log {self.log_path!r}: {error.strerror}"
            return
        os.dup2(log, 1)
        os.dup2(log, 2)  # the parent's own troubles end up in the attempt's log
        try:
            if self.fork:
                self.leader = self._fork_task(log)
            else:
                self.leader = _spawn(*_task_of(self.task), self.cwd, log)
        except OSError as error:
            program = (_task_of(self.task)[0] or [""])[0]
            self.start_error = f"cannot start {program!r} in {self.cwd!r}: {error.strerror}"
            return
        finally:
            os.close(log)
        if self.hard:
            self._signal_tree(signal.SIGKILL)
        elif self.term_requested:
            self._apply_term()
        elif self.timeout > 0:  # the task's own timeout, kept even with no engine to keep it
            signal.setitimer(signal.ITIMER_REAL, self.timeout)

    def _fork_task(self, log: int) -> int:
        """Start the task as a fork of this process: a fork server's, whose interpreter is
        warm. The child forked ahead of the request (`PreparedTask`) is told to start; with
        none, one is forked now. Signals stay blocked across the fork, so that none reaches
        the child before it has the dispositions a new process has (a SIGTERM would run our
        handler there)."""
        if self.forking is None:
            raise OSError(errno.EINVAL, "this spawner does not fork Python tasks")
        os.chdir(self.cwd)  # before the start: a missing directory is a start error
        if self.prepared is not None:
            prepared, self.prepared = self.prepared, None
            if prepared.start(json.dumps([self.cwd, self.log_path, self.tag]).encode()
                              + b"\t" + self.task):
                return prepared.pid
        blocked = _block_signals()
        try:
            pid = os.fork()
        except OSError:
            _set_signal_mask(blocked)
            raise
        if pid == 0:
            try:
                _set_apart(self.forking, log)
                os.dup2(log, 1)
                os.dup2(log, 2)
            except BaseException:
                sys.excepthook(*sys.exc_info())
                os._exit(_FAILED)
            _become_task(self.forking, self.libc, *_task_of(self.task), self.tag)
        _set_signal_mask(blocked)
        return pid

    def _supervise(self) -> None:
        """Reap every child until none is left; sweep what outlives the leader."""
        while self._reap_ready():
            if self.hard or (self.status is not None and not self.term_requested):
                self.hard = True
                self._signal_tree(signal.SIGKILL)
            # Block until a child ends; a signal handler may run meanwhile (PEP 475).
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)

    def _reap_ready(self) -> bool:
        """Reap the children that ended; False when no child is left."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return False
            if info is None:
                return True
            if info.si_pid == self.leader and self.status is None:
                exited = info.si_code == os.CLD_EXITED
                self.status = (info.si_status, None) if exited else (None, info.si_status)
                if not self.term_requested:
                    # The zombie leader still pins its group id: a group kill is safe now.
                    _killpg(self.leader, signal.SIGKILL)
                self.leader_reaped = True
            os.waitpid(info.si_pid, 0)

    def _on_term(self, signum: int, frame: object) -> None:
        self.term_requested = True
        if self.leader is not None:
            self._apply_term()

    def _apply_term(self) -> None:
        if self.term_applied:
            return
        self.term_applied = True
        self._signal_tree(signal.SIGTERM)
        if self.grace > 0:
            signal.setitimer(signal.ITIMER_REAL, self.grace)
        else:
            self._on_hard(signal.SIGALRM, None)

    def _on_alarm(self, signum: int, frame: object) -> None:
        """The task's timeout (a SIGTERM of its tree, the grace after it), or the end of a
        kill's grace (SIGKILL): one timer serves both, the second set when the first fires."""
        if self.term_applied:
            self._on_hard(signum, frame)
        else:
            self.term_requested = True
            self._apply_term()

    def _on_hard(self, signum: int, frame: object) -> None:
        self.hard = True
        if self.leader is not None:
            self._signal_tree(signal.SIGKILL)

    def _signal_tree(self, signum: int) -> None:
        """Signal the task's group, and every descendant (the subreaper keeps them ours)."""
        if self.leader is not None and not self.leader_reaped:
            _killpg(self.leader, signum)
        for pid, ticks in _descendants(os.getpid()):
            _send(pid, ticks, signum)

    def _record(self) -> None:
        """Write exit.json durably: the engine may be gone and read it much later."""
        code, signum = self.status or (None, None)
        record = {"exit_code": code, "signal": signum, "at": _now_iso(),
                  "start_error": self.start_error}
        self._notify(record)
        temporary = os.path.join(self.directory, f".{EXIT}.tmp")
        if os.path.exists(temporary):
            os.unlink(temporary)  # left by a parent killed while writing: only we write it
        _write_new(temporary, json.dumps(record).encode(), sync=True)
        os.replace(temporary, os.path.join(self.directory, EXIT))
        directory = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


    def _notify(self, record: Mapping[str, object]) -> None:
        """Tell the engine how the attempt ended, before exit.json is made durable: the
        engine records it in its store meanwhile, and the fsyncs cost it no wait. One write
        of at most PIPE_BUF bytes is atomic; a full pipe or a gone engine is no matter (the
        engine then learns of the exit when this process ends, from exit.json)."""
        if self.notice_fd is None or not self.identity:
            return
        line = f'{{{self.identity}, "exit": {json.dumps(record)}}}\n'.encode()
        if len(line) <= select.PIPE_BUF:
            with contextlib.suppress(OSError):
                os.write(self.notice_fd, line)


def _spawn(argv: list[str], env: dict[str, str], cwd: str, log: int) -> int:
    """Start the task: `posix_spawn` (a vfork) in a new session, every signal at its default.

    Not `subprocess`: importing it brings `threading`, whose after-fork hook runs in every
    fork of the spawner and doubles its cost. And unlike `Popen`, this resets every signal
    the engine ignored (`nohup`'s SIGHUP, a shell's SIGQUIT), not only SIGPIPE and SIGXFSZ.
    (glibc leaves its two internal signals, 32 and 33, ignored in the child: glibc and musl
    programs install handlers for those when they need them.)
    """
    if not argv:
        raise OSError(errno.ENOENT, "an empty command")
    os.chdir(cwd)  # posix_spawn cannot (before Python 3.13); relative programs start here
    if "PATH" in env:  # posix_spawnp searches our PATH: make it the task's, as Popen would
        os.environ["PATH"] = env["PATH"]
    else:
        os.environ.pop("PATH", None)
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.posix_spawnp(
            argv[0], argv, env, setsid=True, setsigdef=_DEFAULT_SIGNALS, setsigmask=(),
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log, 1),
                          (os.POSIX_SPAWN_DUP2, log, 2)],
        )
    finally:
        os.close(devnull)


class PreparedTask:
    """A task process forked from a fork server's parent ahead of its request, waiting to be
    told what to become (`start`) in a session of its own, its signals blocked.

    The fork of a warm interpreter and its child's first writes to the pages they share cost
    more than the rest of a task's start: done while the parent waits for its request, they
    are off the launch's path. If the parent ends or lets it go first, it reads EOF and
    exits having run nothing.
    """

    def __init__(self, pid: int, go_fd: int) -> None:
        self.pid, self.go_fd = pid, go_fd

    @classmethod
    def fork(cls, forking: ForkSetup, libc: ctypes.CDLL) -> PreparedTask | None:
        """Fork one now; None when it cannot be (the task is forked at its start instead)."""
        go_read, go_write = os.pipe2(os.O_CLOEXEC)
        blocked = _block_signals()
        try:
            pid = os.fork()
        except OSError:
            _set_signal_mask(blocked)
            os.close(go_read)
            os.close(go_write)
            return None
        if pid == 0:
            os.close(go_write)
            _await_start(forking, libc, go_read)  # raises BecomeTask, or exits
        _set_signal_mask(blocked)
        os.close(go_read)
        return cls(pid, go_fd=go_write)

    def start(self, what: bytes) -> bool:
        """Tell it what to become (`[cwd, log, tag]`, a tab, the request's task part);
        False when it is gone (it is reaped then)."""
        try:
            _write_all(self.go_fd, what)
        except OSError:
            self.discard()
            return False
        os.close(self.go_fd)
        return True

    def discard(self) -> None:
        """Let it go and reap it: it exits at EOF, having run nothing."""
        with contextlib.suppress(OSError):
            os.close(self.go_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _await_start(forking: ForkSetup, libc: ctypes.CDLL, go_fd: int) -> None:
    """In a prepared task: set itself apart now, then wait to be told what to become."""
    try:
        _set_apart(forking, go_fd)
        message = _read_all(go_fd)
        if not message:
            os._exit(0)
        where, _, task = message.partition(b"\t")
        cwd, log_path, tag = json.loads(where)
        argv, env = _task_of(task)
        log = os.open(log_path, _LOG_FLAGS, _LOG_MODE)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.chdir(cwd)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        os._exit(_FAILED)
    _become_task(forking, libc, argv, env, tag)


def _set_apart(forking: ForkSetup, keep: int) -> None:
    """In a forked task, its signals still blocked: a session of its own, every signal at
    its default (what an interpreter sets as it starts), stdin from /dev/null, no descriptor
    of ours but `keep` (and those the preloaded modules hold)."""
    os.setsid()
    _reset_signals(forking.signals)  # while blocked: none can arrive before the task starts
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    os.dup2(devnull, 0)
    _close_descriptors(forking.keep_fds | {keep})


def _become_task(forking: ForkSetup, libc: ctypes.CDLL, argv: list[str],
                 env: dict[str, str], tag: str) -> None:
    """In a forked task set apart, its output on the log: become what a spawned task process
    is (the task's environment, named as `exec` names it, its signals unblocked), then
    unwind to the fork server's top, which runs the command line (`BecomeTask`)."""
    try:
        _replace_environment(forking.environ, env)
        time.tzset()  # the task's TZ, as a new process reads it
        forking.mark(tag)
        forking.show(argv)
        libc.prctl(_PR_SET_NAME, os.path.basename(argv[0]).encode()[:15], 0, 0, 0)
        gc.enable()
        _set_signal_mask(())
    except BaseException:
        sys.excepthook(*sys.exc_info())
        os._exit(_FAILED)
    raise BecomeTask(argv)


def _ignore(signum: int, frame: object) -> None:
    """A handler that does nothing (a caught signal, unlike SIG_IGN, is reset by exec)."""


# Each as `_SIGNAL_C.getsignal` answers it (SIG_DFL and SIG_IGN as plain numbers).
_STARTED: dict[int, object] = {signal.SIGINT: signal.default_int_handler,
                               signal.SIGPIPE: _SIGNAL_C.SIG_IGN,
                               signal.SIGXFSZ: _SIGNAL_C.SIG_IGN}
# The signals an attempt parent handles (see `AttemptParent._handle_signals`).
_PARENT_SIGNALS = frozenset({signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1,
                             signal.SIGALRM, signal.SIGCHLD})


def _changed_signals() -> frozenset[int]:
    """The signals whose disposition is not what an interpreter sets as it starts, and
    those an attempt parent changes: what a forked task must reset (see `ForkSetup`)."""
    changed = set(_PARENT_SIGNALS)
    for signum in _DEFAULT_SIGNALS:
        with contextlib.suppress(OSError, ValueError):  # glibc's own, 32 and 33
            if _SIGNAL_C.getsignal(signum) is not _STARTED.get(signum, _SIGNAL_C.SIG_DFL):
                changed.add(signum)
    return frozenset(changed)


def _reset_signals(signums: frozenset[int]) -> None:
    """Each of `signums` at what an interpreter sets as it starts (its default, but for
    three). Only those: each call in a fresh fork copies pages the server shares."""
    for signum in signums:
        wanted = _STARTED.get(signum, _SIGNAL_C.SIG_DFL)
        with contextlib.suppress(OSError, ValueError):
            if _SIGNAL_C.getsignal(signum) is not wanted:
                _SIGNAL_C.signal(signum, wanted)


def _replace_environment(current: Mapping[str, str], env: dict[str, str]) -> None:
    """Make `os.environ` (and the C library's, which programs started with `exec` get)
    exactly `env`, changing only what differs from `current`, a copy of what it holds:
    reading `os.environ` itself decodes each name and value anew."""
    for name in current.keys() - env.keys():
        del os.environ[name]
    for name, value in env.items():
        if current.get(name) != value:
            os.environ[name] = value


def _close_descriptors(keep: frozenset[int]) -> None:
    """Close every descriptor above stderr but those in `keep`."""
    for name in os.listdir("/proc/self/fd"):
        if int(name) > 2 and int(name) not in keep:
            with contextlib.suppress(OSError):  # the listing's own, closed by now
                os.close(int(name))


class ForkSetup:
    """What a fork server knows of itself for the tasks it forks: the descriptors its
    preloaded modules hold (left open), its environment (which each task replaces), the
    signals a task must reset, where its command line is (which each task overwrites with
    its own, for `ps`), and where its
    environment block holds the value of the tag placeholder, which each task overwrites
    with its own tag.

    Why the block: /proc/<pid>/environ shows the environment a process was started with,
    read from its memory, and that is where an engine looks for the tag of a task whose
    parent is gone (`proctree.kill_tagged`). A forked task was not started with its own
    environment; writing its tag there makes it, and each process it forks, findable as a
    spawned task is. (Programs it starts with `exec` get the tag from `os.environ`.)
    """

    def __init__(self, keep_fds: frozenset[int], tag_variable: str) -> None:
        self.keep_fds = keep_fds
        # The server's environment, which every fork starts with: it never changes once
        # the server serves (only the block's tag does, in each fork, by `mark`).
        self.environ = dict(os.environ)
        self.slot = _environ_slot(tag_variable)
        self.command_block = command_block()
        self.signals = _changed_signals()  # set again once the server handles its own

    def mark(self, tag: str) -> None:
        """Write `tag` over the placeholder (the rest of it becomes NUL bytes)."""
        data = tag.encode()
        if self.slot is not None and len(data) <= self.slot[1]:
            ctypes.memmove(self.slot[0], data.ljust(self.slot[1], b"\0"), self.slot[1])


    def show(self, argv: list[str]) -> None:
        """Write `argv` over the server's command line, which is what /proc/<pid>/cmdline,
        and so `ps`, shows of a process: a forked task is then shown as a spawned one is,
        cut to the block's length (the server has room for 1 KiB more, see forkserver.py)."""
        show_command_line(self.command_block, argv)


def show_command_line(block: tuple[int, int] | None, argv: list[str]) -> None:
    """Write `argv` over a command-line block (`command_block()`), cut to its length."""
    if block is not None:
        address, length = block
        data = b"\0".join(os.fsencode(word) for word in argv)[:length - 1]
        ctypes.memmove(address, data.ljust(length, b"\0"), length)


def command_block() -> tuple[int, int] | None:
    """(address, length) of this process's command line, its words each ending in NUL."""
    fields = _stat("self")
    if not fields or len(fields) <= _ARG_END:
        return None
    start, end = int(fields[_ARG_START]), int(fields[_ARG_END])
    return start, end - start


def _environ_slot(name: str) -> tuple[int, int] | None:
    """(address, length) of the value of `name` in this process's environment block."""
    fields = _stat("self")
    if not fields or len(fields) <= _ENV_END:
        return None
    start, end = int(fields[_ENV_START]), int(fields[_ENV_END])
    block = b"\0" + ctypes.string_at(start, end - start)
    at = block.find(b"\0" + name.encode() + b"=")
    if at < 0:
        return None
    value = at + len(name) + 2  # the NUL we put in front, the name, "="
    return start + value - 1, block.index(b"\0", value) - value


def _block_signals() -> set[int]:
    """Block every signal that can be; the mask before (for `_set_signal_mask`)."""
    blocked: set[int] = _SIGNAL_C.pthread_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
    return blocked


def _set_signal_mask(mask: Iterable[int]) -> None:
    _SIGNAL_C.pthread_sigmask(signal.SIG_SETMASK, mask)


def _killpg(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


# -- the spawner -------------------------------------------------------------------------------


class _Spare:
    """An attempt parent forked ahead of its request, blocked reading it from a pipe.

    Forking a warm interpreter, and the child's first writes to the pages it shares with
    it, take about as long as the rest of a launch: the server does that between requests,
    so that a request finds its parent ready (see `Server._answer`).
    """

    def __init__(self, pid: int, pidfd: int, request_fd: int, report_fd: int) -> None:
        self.pid, self.pidfd = pid, pidfd
        self.start_ticks = _start_ticks(pid)
        self.request_fd, self.report_fd = request_fd, report_fd  # our ends of its pipes

    def alive(self) -> bool:
        return not select.select([self.pidfd], [], [], 0)[0]  # a pidfd reads when it ends

    def discard(self) -> None:
        """Let it go: it reads EOF and exits (or has), having claimed nothing."""
        for fd in (self.request_fd, self.report_fd, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)


class Server:
    """The spawner's loop: one attempt parent per request line, until EOF.

    Each request goes to the parent forked ahead of it (`_Spare`), or to one forked then if
    that one is gone; the next is forked once the answer is sent.

    Args:
        fd: the socket to the engine.
        notice_fd: the pipe on which parents tell the engine of exits (see `_notify`).
        forking: set in a fork server (`zygote.py`): requests may ask for a forked task.
    """

    def __init__(self, fd: int, notice_fd: int | None = None,
                 forking: ForkSetup | None = None) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.prctl(_PR_SET_NAME, b"hw-spawner" if forking is None else b"hw-forkserver",
                        0, 0, 0)
        self.boot_id = read_boot_id()
        self.channel, self.channel_fd = socket.socket(fileno=fd), fd
        self.channel.setblocking(True)
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.notice_fd, self.forking = notice_fd, forking
        self.spare: _Spare | None = None
        if notice_fd is not None:  # inherited from the engine: no task may inherit it
            os.set_inheritable(notice_fd, False)
            os.set_blocking(notice_fd, False)

    def serve(self) -> int:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, _ignore)  # caught, so that it reaches the wakeup fd
        if self.forking is not None:
            self.forking.signals = _changed_signals()
        # Nothing the spawner holds now is garbage: a collection in a fork would touch (and
        # so copy) every page of it.
        gc.freeze()
        poller = select.poll()
        poller.register(self.channel, select.POLLIN)
        poller.register(self.wake_read, select.POLLIN)
        with contextlib.suppress(OSError):  # no spare now: the first request forks one
            self.spare = self._fork_spare()
        try:
            with contextlib.suppress(ConnectionError):  # the engine died mid-request
                self._loop(poller)
        finally:
            if self.spare is not None:
                self.spare.discard()
        return 0  # the engine closed us or died: our children run on

    def _loop(self, poller: select.poll) -> None:
        pending = b""
        while True:
            for fd, _ in poller.poll():
                if fd == self.wake_read:
                    _drain(self.wake_read)
                    _reap_children()
                    continue
                data = self.channel.recv(1 << 16)
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, _, pending = pending.partition(b"\n")
                    self._answer(line)

    def _answer(self, line: bytes) -> None:
        reply, pidfd = self._launch(line)
        data = json.dumps(reply).encode() + b"\n"
        try:
            if pidfd is None:
                self.channel.sendall(data)
            else:
                socket.send_fds(self.channel, [data], [pidfd])
        finally:
            if pidfd is not None:
                os.close(pidfd)
        if self.spare is None:  # for the next request, while the engine works on
            with contextlib.suppress(OSError):
                self.spare = self._fork_spare()

    def _launch(self, line: bytes) -> tuple[dict[str, object], int | None]:
        """Hand the request to a parent; the reply once it claimed the attempt, or not."""
        try:
            split_request(line)
        except Exception as error:  # whatever the request, the spawner serves the next one
            return {"error": f"not a launch request: {error!r}"}, None
        for _ in range(2):  # a spare that died since it was forked is replaced once
            spare, self.spare = self.spare, None
            try:
                if spare is None or not spare.alive():
                    if spare is not None:
                        spare.discard()
                    spare = self._fork_spare()
            except OSError as error:
                return {"error": f"cannot fork an attempt parent: {error.strerror}"}, None
            try:
                _write_all(spare.request_fd, line)
            except OSError:  # it died before reading: it claimed nothing
                spare.discard()
                continue
            os.close(spare.request_fd)
            # Not reaped before this reply is sent (its pidfd pins it): the pidfd and the
            # start ticks are its own.
            reply: dict[str, object] = {"pid": spare.pid, "start_ticks": spare.start_ticks}
            with open(spare.report_fd, "rb") as report:  # until it claimed the attempt, or not
                reply["claim"] = report.read().decode("utf-8", "replace")
            return reply, spare.pidfd
        return {"error": "the attempt parents forked for it ended before reading it"}, None

    def _fork_spare(self) -> _Spare:
        request_read, request_write = os.pipe2(os.O_CLOEXEC)
        report_read, report_write = os.pipe2(os.O_CLOEXEC)
        try:
            pid = os.fork()
        except OSError:
            for fd in (request_read, request_write, report_read, report_write):
                os.close(fd)
            raise
        if pid == 0:
            os.close(request_write)
            os.close(report_read)
            self._become_parent(request_read, report_write)
        os.close(request_read)
        os.close(report_write)
        return _Spare(pid, os.pidfd_open(pid), request_write, report_read)

    def _become_parent(self, request_fd: int, report_fd: int) -> None:
        """The forked child: wait for its request, then run that attempt. Never returns into
        the spawner's loop, except as a forked task (`BecomeTask`), which unwinds to the fork
        server's top."""
        code, becoming, attempt = _FAILED, False, None
        try:
            gc.disable()  # a parent makes no cycles worth the copied pages a collection costs
            signal.set_wakeup_fd(-1)
            self.channel.detach()  # closed below: its object must never close it again
            for fd in (self.channel_fd, self.wake_read, self.wake_write):
                os.close(fd)
            prepared = None if self.forking is None else \
                PreparedTask.fork(self.forking, self.libc)
            line = _read_all(request_fd)
            if not line:  # the spawner let us go (or ended) before a request came
                code = 0
                return  # (the prepared task reads EOF as we exit)
            request, task = split_request(line)
            attempt = AttemptParent(request, self.libc, self.boot_id, self.notice_fd,
                                    self.forking, task)
            attempt.report_fd, attempt.prepared = report_fd, prepared
            code = attempt.run()
        except BecomeTask:
            becoming = True
            raise
        except BaseException as error:
            failed = f"the attempt parent failed: {error!r}"
            if attempt is None:
                _report_once(report_fd, failed)
            else:
                attempt.report(failed)  # unless it reported already (and closed the pipe)
            sys.excepthook(*sys.exc_info())
        finally:
            if not becoming:
                with contextlib.suppress(BaseException):
                    sys.stderr.flush()
                os._exit(code)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _report_once(fd: int, outcome: str) -> None:
    """Write `outcome` on a report pipe that no `AttemptParent` took yet."""
    with contextlib.suppress(OSError):
        os.write(fd, outcome.encode("utf-8", "replace")[:4096])


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve_arguments(argv: list[str]) -> tuple[int, int | None] | None:
    """`serve <socket fd> [<notice fd>]`: the descriptors; None when not that."""
    if 2 <= len(argv) <= 3 and argv[0] == "serve" and all(a.isdigit() for a in argv[1:]):
        return int(argv[1]), int(argv[2]) if len(argv) == 3 else None
    return None


def main(argv: list[str]) -> int:
    """`parent.py serve <socket fd> [<notice fd>]`: serve launch requests on the socket."""
    descriptors = serve_arguments(argv)
    if descriptors is None:
        sys.stderr.write("usage: python -I -S parent.py serve <socket fd> [<notice fd>]\n")
        return 2
    return Server(*descriptors).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
