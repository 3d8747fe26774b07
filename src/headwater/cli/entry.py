"""The `headwater` command: served by the warm CLI when one is up, else run in this process.

Before a command does anything it imports what it uses (click, pydantic, SQLAlchemy, the
engine): about 0.4 s, against 0.1 s for `headwater run` of a small job itself. So the console
script is this module, which imports only built-in modules, and asks the *warm CLI*
(`cli/warm.py`: an interpreter of the same Python, path and locale with those modules
imported) to run the command. The warm CLI forks a child that takes this process's command
line, environment, working directory, umask, limits and standard streams, and runs the command line
as a new interpreter would; this process forwards its signals to the child and ends with
the child's status. When no warm CLI is up (the first command, or after ten idle minutes),
the command runs here, as it always did, and a warm CLI starts beside it for the next one.

Never served: `server` and `engine` (a service belongs in its own process tree: a service
manager's cgroup, a container's first process) and `secrets` (its prompt turns the echo off,
which needs the terminal as the controlling one); nor is a container's first process (PID 1),
whose one command ends the container. `HEADWATER_WARM_CLI=0` turns it off;
`python -m headwater` never uses it. Linux only (abstract sockets, pidfds).
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # `typing` would import `re`, `enum` and more: a tenth of the client
if TYPE_CHECKING:
    from typing import Any

VARIABLE = "HEADWATER_WARM_CLI"  # 0 turns it off; another value names a separate warm CLI
OFF = frozenset({"0", "off", "false", "no"})
NOT_SERVED = frozenset({"server", "engine", "secrets"})
RUN_HERE = False  # True in a warm CLI's child: the command line runs in this process
STARTER = "from headwater.cli.warm import serve; serve()"  # what `python -c` runs
# A blank word after it: room for a served command's own command line (see `warm.py`).
COMMAND_LINE_ROOM = " " * 1024


def main() -> None:
    """Run the command line: through the warm CLI when it serves it, else here."""
    if not RUN_HERE and _may_be_served(sys.argv[1:], os.environ):
        status = _served_status()
        if status is not None:
            _end_as(status)
    from headwater.cli.main import main as command

    command()


def _may_be_served(args: list[str], env: os._Environ[str]) -> bool:
    if sys.platform != "linux" or env.get(VARIABLE, "").lower() in OFF:
        return False
    if os.getpid() == 1:  # a container's first process: its one command ends the container,
        return False  # which would end a warm CLI started for the next one
    words = [arg for arg in args if not arg.startswith("-")]
    return not (words and words[0] in NOT_SERVED)


Key = tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...], int]
NAMESPACES = ("mnt", "pid", "user")


def interpreter_key(path: list[str], env: os._Environ[str]) -> Key:
    """What makes two interpreters import the same modules alike, read and write text alike
    and see the same files and processes: a warm CLI serves only a command line whose key is
    its own. `path` is `sys.path` without the script's directory. The namespaces keep apart
    containers that share the host's network, and with it the abstract socket names.

    Raises:
        OSError: without /proc, where no warm CLI serves.
    """
    settings = sorted((name, value) for name, value in env.items()
                      if name.startswith(("PYTHON", "LC_")) or name in ("LANG", VARIABLE))
    namespaces = tuple(os.readlink(f"/proc/self/ns/{kind}") for kind in NAMESPACES)
    return (sys.executable, tuple(path), tuple(settings), namespaces, os.getuid())


def script_path() -> list[str]:
    """`sys.path` without what the interpreter put first for the script (its directory)."""
    return sys.path if sys.flags.safe_path else sys.path[1:]


def socket_name(key: Key) -> bytes:
    """The warm CLI's address: an abstract socket (no file to leave behind) named by the
    user and the key."""
    import binascii

    digest = binascii.crc32(marshal.dumps(key, 2))  # version 2: no references, so stable
    return b"\0headwater-warm-cli-%d-%08x" % (os.getuid(), digest)


def _served_status() -> int | None:
    """The served command's exit status (minus a signal's number when one ended it); None
    when no warm CLI took it, and then it has not run."""
    import _socket

    try:
        key = interpreter_key(script_path(), os.environ)
    except OSError:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(socket_name(key))
    except OSError:
        sock.close()
        start_warm_cli()
        return None
    try:
        return _ask(sock, key)
    finally:
        sock.close()


def peer_uid(sock: object) -> int:
    """The user id of the process at the other end of a Unix socket."""
    import _socket

    credentials = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # type: ignore[attr-defined]
    return int.from_bytes(credentials[4:8], sys.byteorder)  # pid, uid, gid


def _ask(sock: object, key: Key) -> int | None:
    """Send the command to the warm CLI at the other end of `sock`; its status, or None
    when it did not start it (and only then: a command it started is never run twice)."""
    try:
        if peer_uid(sock) != os.getuid():  # an abstract name has no owner: anyone may take it
            return None
        _send_request(sock, key)
    except OSError:  # our working directory or a standard stream is gone: run it here
        return None
    reader = _Lines(sock)
    started = reader.next()
    if not started.startswith(b"pid "):  # refused: `no <why>`, or gone
        if started == b"no out of date":  # it is leaving: a new one for the next command
            start_warm_cli()
        return None
    pid = int(started[4:])
    _forward_signals(pid)
    return _status(reader.next(), pid)


def _send_request(sock: object, key: Key) -> None:
    """The command line, environment and process settings, with descriptors 0-2 and the
    working directory."""
    import _socket

    here = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        request = marshal.dumps((key, sys.orig_argv, dict(os.environb), process_settings()), 2)
        message = len(request).to_bytes(8, "little") + request
        descriptors = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2, here))
        sent = sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, descriptors)])  # type: ignore[attr-defined]
        if sent < len(message):  # not an empty send: once refused, the connection is closed
            sock.sendall(message[sent:])  # type: ignore[attr-defined]
    finally:
        os.close(here)


def process_settings() -> tuple[int, int, dict[int, tuple[int, int]]]:
    """What a process passes on to the processes it starts besides its environment: its
    umask, its niceness and its resource limits (`ulimit`)."""
    import resource

    umask = os.umask(0o22)
    os.umask(umask)
    limits = {getattr(resource, name): resource.getrlimit(getattr(resource, name))
              for name in dir(resource) if name.startswith("RLIMIT_")}
    return umask, os.getpriority(os.PRIO_PROCESS, 0), limits


class _Lines:
    """The lines the warm CLI sends, one at a time (b"" once it closed the connection)."""

    def __init__(self, sock: object) -> None:
        self.sock, self.buffer = sock, b""

    def next(self) -> bytes:
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(256)  # type: ignore[attr-defined]
            except OSError:  # reset: as gone
                chunk = b""
            if not chunk:
                return b""
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


def _status(line: bytes, pid: int) -> int:
    """The status a `exit N` or `signal N` line gives; when the warm CLI ended first (its
    line is empty), wait for the command to end and say its status is unknown."""
    word, _, number = line.partition(b" ")
    if word == b"exit":
        return int(number)
    if word == b"signal":
        return -int(number)
    import time

    while _alive(pid):
        time.sleep(0.1)
    sys.stderr.write("headwater: the warm CLI ended before the command; its exit status "
                     "is unknown\n")
    return 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# What this process passes on to the command's process group: what a terminal, a service
# manager or `kill` sends to a command. Ctrl-Z stops both (`_stop`).
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH",
             "SIGCONT")


def _forward_signals(pid: int) -> None:
    _signal: Any = sys.modules["_signal"]  # always imported; `signal` makes enums

    def forward(signum: int, frame: object) -> None:
        try:  # noqa: SIM105 - contextlib is not imported at start, so not here either
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass

    def stop(signum: int, frame: object) -> None:
        forward(_signal.SIGSTOP, frame)
        os.kill(os.getpid(), _signal.SIGSTOP)

    for name in FORWARDED:
        _signal.signal(getattr(_signal, name), forward)
    _signal.signal(_signal.SIGTSTP, stop)


def _end_as(status: int) -> None:
    """End this process as the command's ended: with its code, or by its signal."""
    if status >= 0:
        sys.exit(status)
    _signal: Any = sys.modules["_signal"]  # always imported; `signal` makes enums

    try:  # noqa: SIM105 - as in `forward`
        _signal.signal(-status, _signal.SIG_DFL)
    except OSError:
        pass  # SIGKILL and SIGSTOP keep theirs
    os.kill(os.getpid(), -status)
    os._exit(128 - status)


def start_warm_cli() -> None:
    """Start a warm CLI for this interpreter, in its own session, in the background; it
    gives up at once if another took the address first."""
    settings = {name: value for name, value in os.environb.items()
                if name.startswith((b"PYTHON", b"LC_"))
                or name in (b"LANG", b"PATH", b"HOME", VARIABLE.encode())}
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.posix_spawn(sys.executable, [sys.executable, "-c", STARTER, COMMAND_LINE_ROOM],
                       settings,
                       file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
                       setsid=True)
    except OSError:
        pass  # the command still runs here
    finally:
        os.close(devnull)
