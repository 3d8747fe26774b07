"""Who an engine is, in the leases it writes, and whether an engine on this host is gone.

An engine's name is `host:pid:start_ticks:nonce`: unique for good (a reused pid has another
start time, and the nonce tells apart two engines of one process). A lease whose owner is
on this host and whose process no longer exists can be taken at once instead of after its
expiry: that is how `headwater runs resume` continues a run right after a `kill -9`.
"""

from __future__ import annotations

import os
import secrets
import socket

_START_TICKS_FIELD = 19  # field 22 of /proc/<pid>/stat, counted after the `)` closing comm


def process_start_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks after boot), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    fields = data.rpartition(b")")[2].split()
    try:
        if fields[0] in (b"Z", b"X"):
            return None  # a zombie has ended: it holds nothing any more
        return int(fields[_START_TICKS_FIELD])
    except (IndexError, ValueError):
        return None


def engine_name(host: str | None = None, pid: int | None = None) -> str:
    """A new engine's name: `host:pid:start_ticks:nonce`."""
    host = host or socket.gethostname()
    pid = pid or os.getpid()
    return f"{host}:{pid}:{process_start_ticks(pid) or 0}:{secrets.token_hex(3)}"


def is_gone(name: str, host: str | None = None) -> bool:
    """True when `name` is an engine of this host whose process has ended.

    An engine of another host, or a name that is not an engine's, is never presumed gone:
    only its lease's expiry says so.
    """
    parts = name.split(":")
    if len(parts) != 4 or parts[0] != (host or socket.gethostname()):
        return False
    try:
        pid, ticks = int(parts[1]), int(parts[2])
    except ValueError:
        return False
    return process_start_ticks(pid) != ticks


__all__ = ["engine_name", "is_gone", "process_start_ticks"]
