"""The engine's timers: due instants by key, in a heap.

A timer that is cancelled or set again is skipped when its old heap entry comes up, so both
operations are O(log n) and never search the heap.
"""

from __future__ import annotations

import heapq
from datetime import datetime


class Timers:
    """Keyed timers; `pop_due(now)` returns the keys whose instant has come."""

    def __init__(self) -> None:
        self.heap: list[tuple[datetime, str]] = []
        self.due: dict[str, datetime] = {}

    def set(self, key: str, at: datetime) -> None:
        self.due[key] = at
        heapq.heappush(self.heap, (at, key))

    def cancel(self, key: str) -> None:
        self.due.pop(key, None)

    def next_at(self) -> datetime | None:
        while self.heap and self.due.get(self.heap[0][1]) != self.heap[0][0]:
            heapq.heappop(self.heap)
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: datetime) -> list[str]:
        fired = []
        while (at := self.next_at()) is not None and at <= now:
            _, key = heapq.heappop(self.heap)
            del self.due[key]
            fired.append(key)
        return fired

    def keys_with_prefix(self, prefix: str) -> list[str]:
        """The keys set and not yet due that start with `prefix`."""
        return [key for key in self.due if key.startswith(prefix)]
