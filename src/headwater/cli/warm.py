"""The warm CLI: an interpreter with the commands' modules imported, forking one child per
`headwater` command line (see `cli/entry.py`, its client).

    python -c "from headwater.cli.warm import serve; serve()"

It listens on an abstract Unix socket named by its user and interpreter key
(`entry.socket_name`) and takes requests only from its own user, with its own key, while
none of the files it imported and none of its path's directories (a package installed or
removed) has changed since it started: else it refuses, stops listening and leaves once its
commands have ended, and the client runs the command itself and starts a new warm CLI.
A request carries the client's command line, environment, umask, niceness and limits (lower
or equal to this process's, or refused), and its standard streams and working directory as
descriptors. The child takes them, in a session of its own, and runs the command line as a
new interpreter would (`executors/pymain.py`, as the fork server runs a task); this process
tells the client the child's pid, then how it ended. When the client goes away (killed), the
child is killed, as a command killed with its process is. It leaves after ten idle minutes.

It never runs a command itself and holds nothing of one: each child starts from the state it
had before serving, with no connection, thread or file of an earlier command.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import marshal
import math
import os
import resource
import selectors
import signal
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from headwater.cli import entry
from headwater.executors import pymain
from headwater.executors.parent import command_block, show_command_line

IDLE_SECONDS = 600
# What the commands people run most import as they run (`run`, `validate`, `bundle`,
# `describe`, `runs`, `jobs`), on SQLite: imported once here, so that a served command starts
# with them. Not Alembic (only a new state store needs it) nor the server's stack.
PRELOAD = ("headwater.cli.main", "headwater.cli.follow", "headwater.cli.display",
           "headwater.cli.bundle", "headwater.cli.bundle_upload", "headwater.cli.bundle_python",
           "headwater.cli.design", "headwater.cli.runs", "headwater.cli.jobs",
           "headwater.bootstrap", "headwater.core.partial_run", "headwater.client.config",
           "headwater.runners.script", "headwater.runners.shell", "headwater.runners.notebook",
           "headwater.runners.wheel", "headwater.runners.operator", "headwater.runners.run_job",
           "headwater.runners.dbt", "headwater.runners.sql", "pathspec", "tomllib", "sqlite3",
           "sqlalchemy.dialects.sqlite", "sqlalchemy.ext.compiler")
_DESCRIPTORS = 4  # stdin, stdout, stderr, the working directory


@dataclass
class _Request:
    """What a client sent: its interpreter key, command line, environment, umask, niceness
    and resource limits, and descriptors (stdin, stdout, stderr, working directory)."""

    key: entry.Key
    argv: list[str]
    environ: dict[bytes, bytes]
    settings: tuple[int, int, dict[int, tuple[int, int]]]  # see `entry.process_settings`
    descriptors: list[int]

    def close(self) -> None:
        for fd in self.descriptors:
            os.close(fd)


@dataclass
class _Command:
    """A child running a served command, and the connection its status goes to."""

    pid: int
    pidfd: int
    conn: socket.socket
    client_left: bool = False


def serve() -> None:
    """Listen for command lines until idle for `IDLE_SECONDS` or out of date."""
    # What the first client had open (a shell's pipe, a test's) is not ours to keep open:
    # a `$(headwater ...)` would wait for this process to end to see its output end.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    key = entry.interpreter_key(entry.script_path(), os.environ)
    sys.path[:] = entry.script_path()  # without the '' that -c put first
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(entry.socket_name(key))
    except OSError:
        return  # another warm CLI serves this key
    listener.listen(64)
    path_stamps = _file_stamps(entry for entry in sys.path if entry)  # before, not after
    for name in PRELOAD:
        importlib.import_module(name)
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return  # a module started a thread: forking would copy it stopped midway
    Server(listener, key, path_stamps).serve()


class Server:
    """The loop: accept requests, fork their children, report how each ended."""

    def __init__(self, listener: socket.socket, key: entry.Key,
                 path_stamps: dict[str, tuple[int, int]]) -> None:
        self.listener, self.key = listener, key
        self.known_modules = frozenset(sys.modules)
        self.files = {**_file_stamps(_module_files()), **path_stamps}
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        self.commands: dict[int, _Command] = {}  # by pid
        self.command_block = command_block()

    def serve(self) -> None:
        gc.freeze()  # what every child shares: collections in a child leave it uncopied
        idle_since = time.monotonic()
        while self.commands or self.listener.fileno() >= 0:
            timeout = None if self.commands else IDLE_SECONDS - (time.monotonic() - idle_since)
            if timeout is not None and timeout <= 0:
                break
            for selected, _ in self.selector.select(timeout):
                selected.data()  # bound to what it was registered for, not to a number
            idle_since = time.monotonic()

    def _accept(self) -> None:
        conn, _address = self.listener.accept()
        conn.settimeout(5)
        try:
            request = _receive(conn) if entry.peer_uid(conn) == os.getuid() else None
        except (OSError, ValueError, EOFError, TypeError):
            request = None
        if request is None:
            conn.close()
            return
        try:
            self._start(conn, request)
        finally:
            request.close()

    def _start(self, conn: socket.socket, request: _Request) -> None:
        refusal = self._refusal(request)
        if refusal is not None:
            if refusal == b"out of date":  # first: the client starts the next one at once
                self._stop_listening()
            _send(conn, b"no " + refusal)
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            self._become_command(conn, request)
        command = _Command(pid, os.pidfd_open(pid), conn)
        self.commands[pid] = command
        self.selector.register(command.pidfd, selectors.EVENT_READ, partial(self._ended, command))
        self.selector.register(conn, selectors.EVENT_READ, partial(self._client_left, command))
        _send(conn, b"pid %d" % pid)

    def _refusal(self, request: _Request) -> bytes | None:
        if request.key != self.key:
            return b"another interpreter"
        if pymain.parse(list(request.argv)) is None:
            return b"a command line only an interpreter runs"
        if _file_stamps(self.files) != self.files:
            return b"out of date"
        if not _may_take(request.settings):
            return b"limits above this process's"
        return None

    def _stop_listening(self) -> None:
        """Let a new warm CLI take the address; end once the running commands have."""
        self.selector.unregister(self.listener)
        self.listener.close()

    def _ended(self, command: _Command) -> None:
        del self.commands[command.pid]
        _, wait_status = os.waitpid(command.pid, 0)
        signum = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else 0
        line = (b"signal %d" % signum if signum
                else b"exit %d" % os.waitstatus_to_exitcode(wait_status))
        self.selector.unregister(command.pidfd)
        os.close(command.pidfd)
        if not command.client_left:
            self.selector.unregister(command.conn)
            with contextlib.suppress(OSError):
                _send(command.conn, line)
        command.conn.close()

    def _client_left(self, command: _Command) -> None:
        """The client sends nothing after its request: readable means it is gone, killed
        (a signal it can catch is passed on instead), so its command is killed too, as a
        command killed with its process is."""
        command.client_left = True
        self.selector.unregister(command.conn)
        with contextlib.suppress(ProcessLookupError):
            os.kill(command.pid, signal.SIGKILL)

    def _become_command(self, conn: socket.socket, request: _Request) -> None:
        """In the child: become the client's process, run its command line, and end as
        the interpreter would. Never returns."""
        try:
            os.setsid()
            conn.close()
            self._drop_ours()
            stdin, stdout, stderr, here = request.descriptors
            for fd, standard in ((stdin, 0), (stdout, 1), (stderr, 2)):
                os.dup2(fd, standard)
            os.fchdir(here)
            request.close()
            _take(request.settings)
            os.environb.clear()
            os.environb.update(request.environ)
            time.tzset()
            _standard_streams()
            show_command_line(self.command_block, request.argv)
            entry.RUN_HERE = True
            command = pymain.parse(list(request.argv))
            assert command is not None  # `_refusal` checked it
        except BaseException:
            sys.excepthook(*sys.exc_info())
            os._exit(1)
        pymain.finish(pymain.run(command), self.known_modules)

    def _drop_ours(self) -> None:
        """Close, in the child, this process's own descriptors (its copies only)."""
        self.selector.close()
        self.listener.close()
        for command in self.commands.values():
            command.conn.close()
            os.close(command.pidfd)


def running(name: str) -> list[int]:
    """The pids of this user's warm CLIs started with `HEADWATER_WARM_CLI=name` (what the
    tests and the benchmark started, to stop them)."""
    wanted = f"{entry.VARIABLE}={name}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline, \
                    open(f"/proc/{pid}/environ", "rb") as environ:
                ours = entry.STARTER.encode() in cmdline.read()
                if ours and wanted in environ.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            continue  # gone, or another user's
    return found


def _receive(conn: socket.socket) -> _Request | None:
    """A client's request, its descriptors with it; None when it is not one."""
    data, fds, _flags, _address = socket.recv_fds(conn, 1 << 16, _DESCRIPTORS)
    if len(fds) != _DESCRIPTORS or len(data) < 8:
        for fd in fds:
            os.close(fd)
        return None
    size = int.from_bytes(data[:8], "little")
    body = data[8:]
    while len(body) < size:
        chunk = conn.recv(min(1 << 20, size - len(body)))
        if not chunk:
            raise EOFError("the request ended early")
        body += chunk
    # From a process of this user (`peer_uid`), as trusted as the user's own shell.
    key, argv, environ, settings = marshal.loads(body)  # noqa: S302
    return _Request(key, list(argv), dict(environ), settings, list(fds))


def _may_take(settings: tuple[int, int, dict[int, tuple[int, int]]]) -> bool:
    """Whether a child of this process may take a client's niceness and limits: an
    unprivileged process can lower them, never raise them."""
    if os.geteuid() == 0:
        return True
    _umask, nice, limits = settings
    ours = entry.process_settings()
    return nice >= ours[1] and all(
        _limit_order(hard) <= _limit_order(ours[2].get(number, (-1, -1))[1])
        for number, (_soft, hard) in limits.items())


def _limit_order(limit: int) -> float:
    return math.inf if limit == resource.RLIM_INFINITY else limit


def _take(settings: tuple[int, int, dict[int, tuple[int, int]]]) -> None:
    """Become as the client is: its umask, niceness and limits (`_may_take` holds)."""
    umask, nice, limits = settings
    os.umask(umask)
    if os.getpriority(os.PRIO_PROCESS, 0) != nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    for number, (soft, hard) in limits.items():
        if resource.getrlimit(number) != (soft, hard):
            resource.setrlimit(number, (soft, hard))


def _send(conn: socket.socket, line: bytes) -> None:
    conn.sendall(line + b"\n")


def _module_files() -> set[str]:
    """The file of each imported module."""
    files = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
    return {file for file in files if isinstance(file, str)}


def _file_stamps(paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(mtime, size) of each of `paths` that exists."""
    stamps = {}
    for path in paths:
        with contextlib.suppress(OSError):
            status = os.stat(path)
            stamps[path] = (status.st_mtime_ns, status.st_size)
    return stamps


def _standard_streams() -> None:
    """New `sys.stdin`, `stdout` and `stderr` over descriptors 0-2, made as the interpreter
    made this process's at start (the same encodings, and unbuffered under `-u`), but
    stdout line-buffered only on a terminal, as the interpreter decides by the descriptor."""
    for fd, name, mode in ((0, "stdin", "rb"), (1, "stdout", "wb"), (2, "stderr", "wb")):
        old = getattr(sys, name)
        raw = io.FileIO(fd, mode, closefd=False)
        writing = mode == "wb"
        unbuffered = writing and old.write_through  # -u or PYTHONUNBUFFERED
        buffer: Any = (
            raw if unbuffered else io.BufferedWriter(raw) if writing else io.BufferedReader(raw))
        line_buffering = writing and not unbuffered and (fd == 2 or os.isatty(fd))
        stream = io.TextIOWrapper(buffer, encoding=old.encoding, errors=old.errors,
                                  line_buffering=line_buffering, write_through=unbuffered)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
