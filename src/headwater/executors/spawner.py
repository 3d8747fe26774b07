"""The engine's end of a spawner (see `parent.py`): one request per launch, one pidfd back.

`Spawner` starts its program (`python -I -S parent.py`, or a fork server: `zygote.py`) with
`serve <socket fd> <notice fd> ARGS...` on first use, connected by a socket pair, and sends it
one request per launch (`request_line`); the answer carries the new attempt parent's pid and
start ticks, and a pidfd of it (SCM_RIGHTS). The pidfd comes from the spawner, the parent's
own parent, which opened it before it could reap the child, so it can never name a process
that reused the pid. The notice descriptor is the write end of the executor's pipe on which parents
announce exits (see `AttemptParent._notify`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from headwater.executors import parent

__all__ = ["SpawnError", "Spawned", "Spawner", "light_spawner_program", "request_line"]

_REPLY_TIMEOUT_SECONDS = 30.0  # a spawner answers in a millisecond; 30 s means it is stuck
_STOP_SECONDS = 2.0


class SpawnError(Exception):
    """Raised when no attempt parent could be started (the spawner refused or failed)."""


@dataclass(frozen=True, slots=True)
class Spawned:
    """An attempt parent the spawner forked, once it claimed the attempt or failed to."""

    pid: int
    start_ticks: int
    pidfd: int  # the caller's to close
    claim: str  # `parent.CLAIMED`, `parent.LOST` (another parent has it), or what went wrong


def request_line(request: Mapping[str, object]) -> bytes:
    """The line that asks for `request`: the attempt parent's part, a tab, then the task's
    command line and environment (`parent.TASK_FIELDS`), which a parent that forks its task
    hands over as it is. JSON text holds no raw tab, so the first tab splits the two, and
    neither the spawner nor the parent decodes (and so copies, page by page, in a fork)
    the environment a forked task decodes anyway."""
    head = {k: v for k, v in request.items() if k not in parent.TASK_FIELDS}
    task = {k: v for k, v in request.items() if k in parent.TASK_FIELDS}
    return json.dumps(head).encode() + b"\t" + json.dumps(task).encode() + b"\n"


def light_spawner_program(python: str = sys.executable) -> list[str]:
    """`python -I -S parent.py`: a spawner that starts in ~30 ms whatever is installed."""
    return [python, "-I", "-S", os.path.abspath(parent.__file__)]


class Spawner:
    """The engine's end of a spawner: started on first use, started again if it died.

    Not thread-safe: the caller serialises `spawn` and `close`.

    Args:
        program: the spawner's command line, before `serve` (see `light_spawner_program`).
        notice_fd: the write end of the executor's notice pipe, passed to the spawner.
        arguments: more words after `serve <socket fd> <notice fd>`.
        env: the spawner's environment (None: the engine's).
    """

    def __init__(self, program: Sequence[str] | None = None, notice_fd: int | None = None,
                 arguments: Sequence[str] = (), env: Mapping[str, str] | None = None) -> None:
        self._program = list(program or light_spawner_program())
        self._notice_fd, self._arguments = notice_fd, list(arguments)
        self._env = None if env is None else dict(env)
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None

    def start(self) -> None:
        """Start the spawner now, if it does not run (it boots while the caller works on).

        Raises:
            OSError: when it cannot be started.
        """
        self._connect()

    @property
    def pid(self) -> int | None:
        """The spawner's pid while it runs."""
        return self._process.pid if self._process is not None else None

    def spawn(self, request: dict[str, object]) -> Spawned:
        """Fork an attempt parent for `request`; return once it claimed the attempt, or not.

        A spawner that died or stopped answering is replaced and the request sent once
        more. If the first request got through after all, its parent holds the claim and
        the second one's parent exits at once: the attempt still runs once.

        Raises:
            SpawnError: when no parent could be started.
        """
        line = request_line(request)
        try:
            return self._exchange(line)
        except (OSError, EOFError, ValueError):
            self.close()
        try:
            return self._exchange(line)
        except (OSError, EOFError, ValueError) as error:
            self.close()
            raise SpawnError(f"the attempt spawner failed: {error}") from error

    def _exchange(self, line: bytes) -> Spawned:
        channel = self._connect()
        channel.sendall(line)
        data, fds = b"", []
        try:
            while not data.endswith(b"\n"):
                chunk, received, _, _ = socket.recv_fds(
                    channel, 4096, 1, socket.MSG_CMSG_CLOEXEC)
                fds += received
                if not chunk:
                    raise EOFError("the attempt spawner ended")
                data += chunk
            reply = json.loads(data)
            if "error" in reply:
                raise SpawnError(str(reply["error"]))
            if len(fds) != 1:
                raise ValueError(f"expected one pidfd with the reply, got {len(fds)}")
            return Spawned(int(reply["pid"]), int(reply["start_ticks"]), fds.pop(),
                           str(reply.get("claim", "")))
        finally:
            for fd in fds:
                os.close(fd)

    def _connect(self) -> socket.socket:
        if self._channel is not None and self._process is not None \
                and self._process.poll() is None:
            return self._channel
        self.close()
        mine, theirs = socket.socketpair()
        passed = [theirs.fileno()] if self._notice_fd is None else [theirs.fileno(),
                                                                     self._notice_fd]
        try:
            self._process = subprocess.Popen(
                [*self._program, "serve", *(str(fd) for fd in passed), *self._arguments],
                pass_fds=passed, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=self._env,
            )
        except OSError:
            mine.close()
            raise
        finally:
            theirs.close()
        mine.settimeout(_REPLY_TIMEOUT_SECONDS)
        self._channel = mine
        return mine

    def close(self) -> None:
        """Stop the spawner (it exits at EOF); the attempt parents it forked run on."""
        channel, process = self._channel, self._process
        self._channel = self._process = None
        if channel is not None:
            channel.close()
        if process is not None:
            try:
                process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:  # stopped or stuck: it holds nothing we need
                process.kill()
                process.wait()
