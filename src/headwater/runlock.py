"""One engine per run: an exclusive lock file held while a process drives a run.

`flock` locks vanish with their process, so a run whose engine was killed with `kill -9` can
be resumed at once, while a run that another live process drives cannot be driven twice (two
engines would run the same attempts twice).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from headwater.errors import InvalidRequest


@contextlib.contextmanager
def run_lock(locks_dir: Path, run_id: int) -> Iterator[None]:
    """Hold the lock of `run_id`; `InvalidRequest` if another process holds it."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"run-{run_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise InvalidRequest(
                f"Run {run_id} is being driven by another headwater process (pid {holder}); "
                f"cancel it with `headwater runs cancel {run_id}` or wait for it to end"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
