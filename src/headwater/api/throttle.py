"""A token bucket per client, so that one client's flood cannot starve the others.

Each client (a token, or an address for requests without one) has a bucket of `burst`
requests that refills at `rate` per second. A request takes one; an empty bucket answers how
long until the next one, which the API sends as `Retry-After` on a 429 (the databricks-sdk
waits that long and tries again). Pure: the caller passes `now` (seconds on a monotonic clock).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    """How fast one client may call: `rate` requests per second, `burst` at once."""

    rate: float = 100.0
    burst: float = 200.0


def failed_authentications(per_minute: float = 12.0) -> Limit:
    """How many failed authentications one address may make: a burst of 20 (or a minute's
    worth, if more), then `per_minute`. The default slows guessing tokens (or a script with
    a revoked one in a loop) to a crawl, while a user who mistypes a token a few times never
    notices."""
    return Limit(rate=per_minute / 60, burst=max(20.0, per_minute))


class Throttle:
    """The buckets of every client seen lately (thread-safe: requests run in a pool)."""

    def __init__(self, limit: Limit, max_clients: int = 10_000) -> None:
        self.limit, self.max_clients = limit, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str, now: float) -> int | None:
        """Take one request from `client`'s bucket: None if it may go on, else the whole
        seconds to wait (at least 1) before its next request would be let through."""
        with self._lock:
            tokens = self._refilled(client, now)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                self._forget_idle(now)
                return None
            self._buckets[client] = (tokens, now)
        return self._wait(tokens)

    def waiting(self, client: str, now: float) -> int | None:
        """What `take` would answer, without taking anything: whether a client is refused
        before its request is looked at."""
        with self._lock:
            tokens = self._refilled(client, now)
        return None if tokens >= 1 else self._wait(tokens)

    def _refilled(self, client: str, now: float) -> float:
        tokens, at = self._buckets.get(client, (self.limit.burst, now))
        return min(self.limit.burst, tokens + (now - at) * self.limit.rate)

    def _wait(self, tokens: float) -> int:
        return max(1, math.ceil((1 - tokens) / self.limit.rate))

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled (their clients went quiet) once there are
        many, so that clients sending made-up tokens cannot grow the table for ever."""
        if len(self._buckets) <= self.max_clients:
            return
        full = self.limit.burst / self.limit.rate
        for client, (_, at) in list(self._buckets.items()):
            if now - at >= full:
                del self._buckets[client]


__all__ = ["Limit", "Throttle", "failed_authentications"]
