"""Ending the PostgreSQL sessions that a frozen headwater process left in the middle of a write.

A process frozen (SIGSTOP, a paused VM) inside a transaction keeps its row locks: a run's,
which the other engines' claims then skip (`FOR UPDATE SKIP LOCKED`), and the audit head's,
which every audited write then waits for. The server ends a session left idle in a
transaction (`IDLE_IN_TRANSACTION_MS`, store/engine.py), but not one frozen in the middle of
a request: psycopg sends an executemany as a pipeline whose Sync follows the last statement,
and a process frozen before it leaves its session `active`, waiting to read from its client.
Neither the idle timeout nor `statement_timeout` applies to that wait (PostgreSQL 17's
`transaction_timeout` would).

So every engine watches for such sessions of headwater's (its `application_name`) that hold
a transaction id (they wrote or locked rows) and have waited for their client longer than the
idle timeout, and ends them. headwater never waits on anything else in the middle of a
request, so such a process is frozen; when it wakes, its connection is gone, and fencing
refuses what it would have written anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, text

from headwater.errors import StoreError
from headwater.store.engine import IDLE_IN_TRANSACTION_MS

__all__ = ["STALLED_MS", "WATCH_SECONDS", "StallWatch", "end_stalled"]

log = logging.getLogger(__name__)

STALLED_MS = IDLE_IN_TRANSACTION_MS  # as long as a session may sit idle in a transaction
WATCH_SECONDS = STALLED_MS / 2000  # so a stalled session is ended within 1.5x STALLED_MS

# Sessions of this database and application (this session's own name), of roles this one may
# signal, in a transaction that holds an id, waiting for their client since `stalled_ms` ago.
_STALLED = text("""
    SELECT pid, pg_terminate_backend(pid) AS ended FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name = current_setting('application_name')
      AND pg_has_role(usesysid, 'MEMBER')
      AND state = 'active' AND wait_event_type = 'Client' AND wait_event = 'ClientRead'
      AND backend_xid IS NOT NULL
      AND state_change < clock_timestamp() - make_interval(secs => :seconds)
""")


def end_stalled(conn: Connection, stalled_ms: int) -> list[int]:
    """End the stalled sessions (see above) on `conn`'s PostgreSQL; the pids ended."""
    rows = conn.execute(_STALLED, {"seconds": stalled_ms / 1000}).all()
    return [row.pid for row in rows if row.ended]


class StallWatch:
    """A daemon thread that calls `end` every `seconds` until `stop`.

    A thread of its own, not a step of the engine's loop: that loop may itself be waiting
    on a lock that a stalled session holds (the audit head's).
    """

    def __init__(self, end: Callable[[], list[int]], seconds: float = WATCH_SECONDS) -> None:
        self._end = end
        self._seconds = seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headwater-stall-watch",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(self._seconds + 5)

    def _loop(self) -> None:
        while not self._stopping.wait(self._seconds):
            try:
                ended = self._end()
            except StoreError as error:  # the store is down or restarting: next time
                log.warning("could not look for stalled store sessions: %s", error)
                continue
            for pid in ended:
                log.warning("ended the PostgreSQL session %s: it had waited for its client "
                            "in the middle of a write for over %d s (a frozen headwater "
                            "process), holding locks that other engines need", pid,
                            STALLED_MS // 1000)
