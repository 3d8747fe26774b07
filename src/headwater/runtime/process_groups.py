"""Killing a child process and everything it started, from inside a task.

`dbutils.notebook.run` starts its notebook as the leader of a session of its own; what that
notebook starts stays in the session, except an `.ipynb` kernel (and what a `%sh` in it
starts), which leads a session of its own too. So the tree is found in one pass over /proc:
the processes of the leader's session, and the descendants of any process found. Each of their
process groups gets SIGKILL, which also reaches a process forked in between the pass and the
signal, as it is born in its parent's group; then each process found is waited for, through a
pidfd, so that the caller goes on once they are gone.

A daemon that left both the session and the tree (double fork, then `setsid`) is not found
here; the executor finds it by the attempt's tag when the task ends.

Standard library only: the task side imports it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from dataclasses import dataclass

__all__ = ["ProcessRow", "kill_tree", "tree_members"]

_PARENT, _GROUP, _SESSION = 1, 2, 3  # fields 4, 5 and 6 of /proc/<pid>/stat, after `)`
_GONE_SECONDS = 10.0  # SIGKILL ends a process at once, unless it is stuck in the kernel


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """One line of the process table: as much as finding a tree needs."""

    pid: int
    parent: int
    group: int
    session: int


def _process_table() -> list[ProcessRow]:
    table = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                data = stat.read()
        except OSError:  # it ended meanwhile
            continue
        # comm may hold spaces and parentheses: the fields start after the last `)`.
        fields = data.rpartition(b")")[2].split()
        with contextlib.suppress(IndexError, ValueError):
            table.append(ProcessRow(int(name), int(fields[_PARENT]), int(fields[_GROUP]),
                                  int(fields[_SESSION])))
    return table


def tree_members(leader: int, table: list[ProcessRow]) -> list[ProcessRow]:
    """The processes of `leader`'s session or group, and every descendant of one of them."""
    members = {leader}
    grown = True
    while grown:
        found = {p.pid for p in table
                 if p.session == leader or p.group == leader or p.parent in members}
        grown = not found <= members
        members |= found
    return [p for p in table if p.pid in members]


def kill_tree(leader: int) -> None:
    """SIGKILL the session that `leader` started and every process below it, and wait until
    they are gone (at most `_GONE_SECONDS`: one stuck in the kernel is left to the executor).
    Never the caller's own group: a tree it is part of is not `leader`'s to end."""
    members = tree_members(leader, _process_table())
    handles = [h for h in (_pidfd(p.pid) for p in members) if h is not None]
    try:
        for group in ({leader} | {p.group for p in members}) - {os.getpgrp()}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        _wait_gone(handles)
    finally:
        for handle in handles:
            os.close(handle)


def _pidfd(pid: int) -> int | None:
    """A pidfd of `pid`, opened before the signal: it tells that process's end even if the pid
    is reused meanwhile."""
    try:
        return os.pidfd_open(pid)
    except OSError:  # it ended meanwhile
        return None


def _wait_gone(handles: list[int]) -> None:
    poller = select.poll()
    for handle in handles:
        poller.register(handle, select.POLLIN)  # readable once the process has ended
    deadline = time.monotonic() + _GONE_SECONDS
    waiting = set(handles)
    while waiting and (left := deadline - time.monotonic()) > 0:
        for handle, _ in poller.poll(left * 1000):
            poller.unregister(handle)
            waiting.discard(handle)
