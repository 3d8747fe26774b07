"""The engine's end of the spawner (see `parent.py`): one request per launch, one pidfd back.

`Spawner` starts `python -I -S parent.py serve <fd>` on first use, connected by a socket pair,
and sends it one JSON request per launch; the answer carries the new attempt parent's pid and
start ticks, and a pidfd of it (SCM_RIGHTS). The pidfd comes from the spawner, the parent's
own parent, which opened it before it could reap the child, so it can never name a process
that reused the pid.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass

from headwater.executors import parent

__all__ = ["SpawnError", "Spawned", "Spawner"]

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


class Spawner:
    """The engine's end of the spawner: started on first use, started again if it died.

    Not thread-safe: the caller serialises `spawn` and `close`.

    Args:
        python: the interpreter that runs `parent.py` (standard library only).
    """

    def __init__(self, python: str = sys.executable) -> None:
        self._python = python
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None

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
        line = json.dumps(request).encode() + b"\n"
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
        try:
            self._process = subprocess.Popen(
                [self._python, "-I", "-S", os.path.abspath(parent.__file__), "serve",
                 str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
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
