"""The Linux process table as seen through /proc: who belongs to an attempt, and how to signal it.

A task may leave processes that outlive its leader: background children still in its process
group, children that called `setsid` (a new session and group), and double-forked daemons whose
parent is gone, so they are no longer anyone's descendant. The executor finds all of them with
one pass over /proc (`snapshot`) and three tests: same process group or session as the attempt's
leader, the attempt's tag in the environment (inherited through fork, exec and setsid), or
descent from a process already found.

Signals go through a pidfd opened *before* the start time is checked, so a pid reused between
the scan and the signal is never hit (`send_signal`).

While an attempt's parent lives, it finds the attempt's processes itself (it is their
subreaper: see `parent.py`). This module serves the engine when a parent is gone: the
attempt's processes are then found by their tag (`kill_tagged`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

# Field 22 of /proc/<pid>/stat, counted after the `)` that closes field 2 (comm) from field 3.
_STATE, _PARENT, _GROUP, _SESSION, _START_TICKS = 0, 1, 2, 3, 19
_GONE_STATES = frozenset({"Z", "X", "x"})  # zombie or dead: nothing left to signal


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One line of the process table, as much of it as the executor needs."""

    pid: int
    parent: int
    group: int
    session: int
    start_ticks: int  # clock ticks after boot; (pid, start_ticks) names a process for good
    state: str  # one letter from /proc/<pid>/stat: R, S, D, Z, ...

    @property
    def gone(self) -> bool:
        """True for a zombie or a dead process: it runs nothing any more."""
        return self.state in _GONE_STATES


def parse_stat(pid: int, data: bytes) -> ProcessInfo | None:
    """Parse the contents of /proc/<pid>/stat; None when it is not in the expected shape."""
    # comm may hold spaces and parentheses, so split after the LAST closing parenthesis.
    fields = data.rpartition(b")")[2].split()
    try:
        return ProcessInfo(
            pid=pid,
            parent=int(fields[_PARENT]),
            group=int(fields[_GROUP]),
            session=int(fields[_SESSION]),
            start_ticks=int(fields[_START_TICKS]),
            state=fields[_STATE].decode("ascii", "replace"),
        )
    except (IndexError, ValueError):
        return None


def _read(path: str, limit: int = 4096) -> bytes | None:
    """Read a /proc file with raw system calls (this is on the exit path of every task)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, limit):
            chunks.append(chunk)
            if len(chunk) < limit:
                break
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_process(pid: int) -> ProcessInfo | None:
    """The process `pid` now, or None when no such process exists."""
    data = _read(f"/proc/{pid}/stat")
    return None if data is None else parse_stat(pid, data)


def snapshot() -> list[ProcessInfo]:
    """Every process visible in /proc at this moment (processes may end while it is read)."""
    found = []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit() and (info := read_process(int(entry.name))) is not None:
                found.append(info)
    return found


def with_tag_suffix(processes: Iterable[ProcessInfo], name: bytes,
                    suffix: bytes) -> list[ProcessInfo]:
    """The processes whose environment has `name=<anything><suffix>.<digits>`: an attempt's
    processes, whatever engine launched them (see `LocalExecutor`'s tags)."""
    prefix = name + b"="
    found = []
    for info in processes:
        data = _read(f"/proc/{info.pid}/environ", limit=65536) if not info.gone else None
        for entry in (data or b"").split(b"\0"):
            if entry.startswith(prefix) and entry.rpartition(b".")[0].endswith(suffix):
                found.append(info)
                break
    return found


def environ_has(pid: int, needles: Collection[bytes]) -> bool | None:
    """Whether the environment of `pid` holds one of the `NAME=value` entries in `needles`.

    None when the environment reads empty: the process is in the middle of `exec` (the kernel
    shows no environment until the new image is set up), or it really has none. False when
    it is gone, a zombie, or not ours to read.
    """
    data = _read(f"/proc/{pid}/environ", limit=65536)
    if data is None:
        return False
    if not data:
        return None
    entries = b"\0" + data + b"\0"
    return any(b"\0" + needle + b"\0" in entries for needle in needles)


def members(
    processes: Iterable[ProcessInfo],
    leaders: Collection[int],
    tagged: Collection[int] = (),
) -> list[ProcessInfo]:
    """The living processes that belong to the attempts led by `leaders`.

    A process belongs when its group or session is a leader's (each attempt starts a new
    session, so both ids equal the leader's pid), when its pid is in `tagged`, or when it
    descends from a process that belongs.
    """
    table = {info.pid: info for info in processes}
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.parent, []).append(info.pid)
    pending = [
        info.pid for info in table.values()
        if info.group in leaders or info.session in leaders or info.pid in tagged
    ]
    seen: set[int] = set()
    while pending:
        pid = pending.pop()
        if pid not in seen:
            seen.add(pid)
            pending.extend(children.get(pid, ()))
    seen.discard(os.getpid())  # never ourselves, whatever the table says
    return [table[pid] for pid in sorted(seen) if not table[pid].gone]


def tagged_since(
    processes: Iterable[ProcessInfo], needles: Collection[bytes], since_ticks: int
) -> tuple[set[int], set[int]]:
    """Pids of the processes started at or after `since_ticks` whose environment has a needle.

    Returns `(tagged, unsure)`: `unsure` are those whose environment read empty, to look at
    again a moment later. Only processes younger than the attempt can belong to it, so older
    ones are not read.
    """
    tagged: set[int] = set()
    unsure: set[int] = set()
    for info in processes:
        if info.start_ticks >= since_ticks and not info.gone:
            match = environ_has(info.pid, needles)
            if match:
                tagged.add(info.pid)
            elif match is None:
                unsure.add(info.pid)
    return tagged, unsure


def kill_tagged(needles: Collection[bytes], since_ticks: int, passes: int = 5) -> int:
    """SIGKILL the processes tagged with a `needles` entry (`NAME=value`), now.

    For an attempt whose parent is gone: its processes are found by their tag (started at or
    after `since_ticks`), with the members of the groups and sessions they lead and their
    descendants. Passes repeat while they find something (a process may fork meanwhile) or
    while a young process's environment could not be read yet (it was in the middle of
    `exec`), at most `passes` times. Returns how many processes were signalled.
    """
    total = 0
    for _ in range(passes):
        processes = snapshot()
        tagged, unsure = tagged_since(processes, needles, since_ticks)
        found = members(processes, leaders=tagged, tagged=tagged)
        for info in found:
            send_signal(info, signal.SIGKILL)
        total += len(found)
        if not found and not unsure:
            break
        time.sleep(0.01)  # long enough for an `exec` in progress to show its environment
    return total


def send_signal(info: ProcessInfo, signum: int) -> None:
    """Signal `info`'s process if it is still that process; do nothing once it is gone."""
    try:
        pidfd = os.pidfd_open(info.pid)
    except OSError:
        return  # already gone
    try:
        # The pidfd pins the process: if the start time still matches, the signal hits it.
        now = read_process(info.pid)
        if now is not None and now.start_ticks == info.start_ticks:
            signal.pidfd_send_signal(pidfd, signum)
    except ProcessLookupError:
        pass  # it ended between the check and the signal
    finally:
        os.close(pidfd)


def signal_group(group: int, signum: int) -> None:
    """Signal a whole process group; an empty group is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)
