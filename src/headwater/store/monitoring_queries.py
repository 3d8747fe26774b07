"""The reads behind `/api/metrics`: audit entries after a cursor, and what is happening now.

Each is cheap enough for a scrape every few seconds on a store of many runs: the entries come
by primary key after the cursor, the live counts from the runs not ended (which the engines'
own reads keep few) joined to their task runs by the `(run_id, seq)` index, and the outbox's
backlog from its `(status, next_attempt_time)` index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, func, select

from headwater.core.audit import StoredAuditEntry
from headwater.core.monitoring import LiveCounts
from headwater.core.notifications import DeliveryStatus
from headwater.ports import Clock
from headwater.store import liveness_queries
from headwater.store.lease_queries import claimable_count
from headwater.store.ops_queries import audit_head_row, stored_entry
from headwater.store.ops_tables import audit_log, outbox
from headwater.store.run_queries import TERMINAL
from headwater.store.tables import runs, task_runs


def last_audit_id(conn: Connection) -> int:
    """The number of the audit log's last entry (0 when it is empty)."""
    head = audit_head_row(conn)
    return 0 if head is None else head[0]


def audit_after(conn: Connection, entry_id: int, actions: Collection[str],
                limit: int) -> list[StoredAuditEntry]:
    """Up to `limit` entries numbered after `entry_id` with one of `actions`, oldest first."""
    query = (select(audit_log).where(audit_log.c.entry_id > entry_id,
                                     audit_log.c.action.in_(list(actions)))
             .order_by(audit_log.c.entry_id).limit(limit))
    return [stored_entry(row) for row in conn.execute(query).mappings()]


def live_counts(conn: Connection, clock: Clock | None, now: datetime) -> LiveCounts:
    """Runs and task runs not ended by state, runs no engine holds, the outbox's backlog."""
    active = runs.c.life_cycle.not_in(TERMINAL)
    run_counts = conn.execute(select(runs.c.life_cycle, func.count())
                              .where(active).group_by(runs.c.life_cycle))
    task_counts = conn.execute(
        select(task_runs.c.life_cycle, func.count())
        .select_from(runs.join(task_runs, task_runs.c.run_id == runs.c.run_id))
        .where(active, task_runs.c.life_cycle.not_in(TERMINAL))
        .group_by(task_runs.c.life_cycle))
    backlog = conn.execute(select(func.count(), func.min(outbox.c.created_time))
                           .where(outbox.c.status == str(DeliveryStatus.PENDING))).one()
    oldest = backlog[1]
    return LiveCounts(
        runs={str(state): int(count) for state, count in run_counts},
        task_runs={str(state): int(count) for state, count in task_counts},
        runs_awaiting_engine=claimable_count(conn, clock),
        notifications_pending=int(backlog[0]),
        oldest_pending_notification_seconds=(
            0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())),
        engines=Counter(engine.state for engine in liveness_queries.listed(conn, clock)))


__all__ = ["audit_after", "last_audit_id", "live_counts"]
