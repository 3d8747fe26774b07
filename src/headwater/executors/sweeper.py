"""`StraySweeper`: a background thread that SIGKILLs what ended attempts left outside their group.

When an attempt's leader ends, the executor SIGKILLs its process group at once (one system
call). Processes that left the group (setsid children, double-forked daemons) can only be found
by scanning /proc, which costs about a millisecond per hundred processes. That scan runs here,
off the engine's path, batched over the attempts that ended in the last 50 ms; the
processes are recognised by the attempt's environment tag, and their descendants with them.
"""

from __future__ import annotations

import signal
import threading
import time

from headwater.executors import proctree

__all__ = ["StraySweeper"]

_MAX_PASSES = 5  # a stray may fork while a pass runs: repeat until a pass finds nothing
_PASS_PAUSE_SECONDS = 0.01  # long enough for an `exec` in progress to show its environment


def sweep(tags: list[bytes], since_ticks: int) -> int:
    """SIGKILL every living process tagged with one of `tags`, and its descendants, now.

    Passes repeat while they find something (a stray may fork meanwhile) or while some young
    process's environment could not be read yet (it was in the middle of `exec`).
    Returns how many processes were signalled.
    """
    total = 0
    for _ in range(_MAX_PASSES):
        processes = proctree.snapshot()
        tagged, unsure = proctree.tagged_since(processes, tags, since_ticks)
        found = proctree.members(processes, leaders=(), tagged=tagged)
        for info in found:
            proctree.send_signal(info, signal.SIGKILL)
        total += len(found)
        if not found and not unsure:
            break
        time.sleep(_PASS_PAUSE_SECONDS)
    return total


class StraySweeper:
    """Sweeps ended attempts' tags in a daemon thread, started on first use.

    Args:
        batch_seconds: how long to gather ended attempts before one scan covers them all.
    """

    def __init__(self, batch_seconds: float = 0.05) -> None:
        self._batch_seconds = batch_seconds
        self._condition = threading.Condition()
        self._pending: list[tuple[bytes, int]] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, tag: bytes, since_ticks: int) -> None:
        """Sweep the processes tagged `tag`, started at or after `since_ticks`, soon."""
        with self._condition:
            if self._closed:
                return
            self._pending.append((tag, since_ticks))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="headwater-stray-sweeper", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def close(self) -> None:
        """Sweep what is pending, then stop the thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending or self._closed)
                closing = self._closed
            if not closing:
                time.sleep(self._batch_seconds)  # let more attempts end: one scan for all
            with self._condition:
                batch, self._pending = self._pending, []
            if batch:
                sweep([tag for tag, _ in batch], min(ticks for _, ticks in batch))
            if closing:
                return
