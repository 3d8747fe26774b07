"""Which engines are alive: each fleet engine's row in `engines` (see ops_tables.py).

Times are the database's clock (`lease_queries.now_ms`), as leases are, so engines on hosts
with skewed clocks agree on who is alive.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from headwater.ports import Clock, EngineBeat, EngineRecord
from headwater.store.lease_queries import now_ms
from headwater.store.ops_tables import engines
from headwater.store.tables import runs

FORGOTTEN_AFTER_MS = 24 * 3600 * 1000  # an engine unseen for a day leaves the list


def beat(conn: Connection, clock: Clock | None, engine: EngineBeat) -> None:
    """Say that `engine` is alive until its lease length from now (its first beat adds it);
    forget engines unseen for a day."""
    now = conn.execute(select(now_ms(conn, clock))).scalar_one()
    alive = {"heartbeat_ms": now, "expires_ms": now + int(engine.lease_seconds * 1000),
             "stopped": False}
    if not conn.execute(update(engines).where(engines.c.engine_name == engine.name)
                        .values(**alive)).rowcount:
        conn.execute(insert(engines).values(engine_name=engine.name, home=engine.home,
                                            version=engine.version,
                                            started_time=engine.started_time, **alive))
    conn.execute(delete(engines).where(engines.c.heartbeat_ms < now - FORGOTTEN_AFTER_MS))


def stopped(conn: Connection, name: str) -> None:
    conn.execute(update(engines).where(engines.c.engine_name == name).values(stopped=True))


def listed(conn: Connection, clock: Clock | None) -> list[EngineRecord]:
    """Every engine seen in the last day, newest first, with the runs it holds now."""
    now = conn.execute(select(now_ms(conn, clock))).scalar_one()
    held = (select(runs.c.lease_owner, func.count().label("runs"))
            .where(runs.c.lease_expires_ms > now).group_by(runs.c.lease_owner).subquery())
    rows = conn.execute(
        select(engines, func.coalesce(held.c.runs, 0).label("runs_held"))
        .select_from(engines.outerjoin(held, held.c.lease_owner == engines.c.engine_name))
        .order_by(engines.c.started_time.desc(), engines.c.engine_name))
    return [EngineRecord(
        name=row.engine_name, home=row.home, version=row.version,
        started_time=row.started_time, last_seen=_instant(row.heartbeat_ms),
        state="stopped" if row.stopped else "alive" if row.expires_ms > now else "unresponsive",
        runs_held=int(row.runs_held), seconds_since_seen=max(0.0, (now - row.heartbeat_ms) / 1000))
        for row in rows]


def _instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


__all__ = ["beat", "listed", "stopped"]
