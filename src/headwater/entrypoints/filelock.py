"""A lock file beside a path, for processes that share one resource (a DuckDB file only one
process may write, a task environment built once and used by many attempts, a bare copy of a
Git repository). Standard library only: child entry points import it and must start fast.

`locked` holds it exclusively; `hold_shared` holds it shared for the life of a process and of
what it execs (an attempt running in a task environment); `locked_if_free` takes it exclusively
only if nobody holds it (a pruner, which leaves what is in use). Lock files are never removed:
a process may be waiting on one, and a new file at the same path would let two hold "it".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def _lock_path(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"{path}.lock"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold `<path>.lock` exclusively (waiting for it), creating its folder if needed."""
    with open(_lock_path(path), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def hold_shared(path: Path) -> int:
    """Hold `<path>.lock` shared (waiting while someone holds it exclusively) on a descriptor
    that stays open through `exec`: the lock lasts as long as this process, or the program it
    becomes, keeps running. The descriptor (close it to let go early)."""
    descriptor = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        os.set_inheritable(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


@contextlib.contextmanager
def locked_if_free(path: Path) -> Iterator[bool]:
    """Hold `<path>.lock` exclusively if nobody holds it now, without waiting: True while
    held; False (and nothing held) when another process holds it."""
    with open(_lock_path(path), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
