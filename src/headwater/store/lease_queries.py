"""Leases on runs: how engines share runs without ever driving one twice.

A run that needs an engine (`needs_engine`: started, running, or a repair asked for) is
claimed by writing its `lease_owner`, `lease_expires_ms` and a `fence` one higher than
before, in one statement per claim batch. The owner renews the lease well before it
expires; a lease that expired (its engine died, stalled or lost the database) is claimable
again, and the new claim's higher fence makes every later write of the old owner fail
(`run_queries.record_transitions` checks it in the same UPDATE). See docs/architecture.md.

- Time is the database's clock (`now_ms`): on PostgreSQL the server's, so engines on
  machines with skewed clocks agree; on SQLite the one host's. Tests may pass a fake clock.
- PostgreSQL picks candidates with `FOR UPDATE SKIP LOCKED` in small batches, so engines
  claiming at once never wait on each other's rows; SQLite's `BEGIN IMMEDIATE` already
  serializes writers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)

from headwater.ports import Claim, Clock
from headwater.store.tables import runs

QUEUED = "QUEUED"


def now_ms(conn: Connection, clock: Clock | None) -> ColumnElement[int]:
    """The current instant in epoch milliseconds: the database's clock, or `clock`'s."""
    if clock is not None:
        return literal(epoch_ms(clock.now()), BigInteger)
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()) * 1000, BigInteger)
    return cast((func.julianday("now") - 2440587.5) * 86400000.0, BigInteger)


def epoch_ms(instant: datetime) -> int:
    return int(instant.astimezone(UTC).timestamp() * 1000)


def _claimable(now: ColumnElement[int], take_from: Collection[str],
               skip: Collection[int] = ()) -> ColumnElement[bool]:
    """Needs an engine, is not waiting in a queue, has no live lease and is not in `skip`."""
    free = or_(runs.c.lease_owner.is_(None), runs.c.lease_expires_ms < now)
    if take_from:
        free = or_(free, runs.c.lease_owner.in_(list(take_from)))
    claimable = and_(runs.c.needs_engine.is_(True), runs.c.life_cycle != QUEUED, free)
    return and_(claimable, runs.c.run_id.not_in(list(skip))) if skip else claimable


def claim(conn: Connection, owner: str, clock: Clock | None, lease_ms: int, limit: int,
          run_ids: Collection[int] | None = None, take_from: Collection[str] = (),
          skip: Collection[int] = ()) -> list[tuple[Claim, str]]:
    """Claim up to `limit` claimable runs (of `run_ids`, if given; not of `skip`) for `owner`.

    `take_from` names owners known to be dead (an engine on this host whose process is
    gone), whose leases may be taken before they expire. Returns each claim with the run's
    life cycle at the claim.
    """
    now = now_ms(conn, clock)
    query = (select(runs.c.run_id, runs.c.lease_owner, runs.c.life_cycle)
             .where(_claimable(now, take_from, skip)).order_by(runs.c.run_id).limit(limit))
    if run_ids is not None:
        query = query.where(runs.c.run_id.in_(list(run_ids)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=runs)
    candidates = {row.run_id: (row.lease_owner, row.life_cycle) for row in conn.execute(query)}
    if not candidates:
        return []
    claimed = conn.execute(
        update(runs)
        .where(runs.c.run_id.in_(list(candidates)), _claimable(now, take_from))
        .values(lease_owner=owner, lease_expires_ms=now + lease_ms, fence=runs.c.fence + 1)
        .returning(runs.c.run_id, runs.c.fence)
    ).all()
    return sorted(((Claim(row.run_id, row.fence, candidates[row.run_id][0]),
                    candidates[row.run_id][1]) for row in claimed),
                  key=lambda found: found[0].run_id)


def renew(conn: Connection, owner: str, fences: Mapping[int, int], clock: Clock | None,
          lease_ms: int) -> set[int]:
    """Extend `owner`'s leases of these runs (run id -> fence); the run ids it lost."""
    if not fences:
        return set()
    now = now_ms(conn, clock)
    kept = conn.execute(
        update(runs)
        .where(runs.c.run_id.in_(list(fences)), runs.c.lease_owner == owner)
        .values(lease_expires_ms=now + lease_ms)
        .returning(runs.c.run_id, runs.c.fence)
    ).all()
    held = {row.run_id for row in kept if fences.get(row.run_id) == row.fence}
    return set(fences) - held


def release(conn: Connection, run_id: int, fence: int) -> bool:
    """Hand a run back (its next claimer need not wait for the expiry); False if not ours."""
    result = conn.execute(
        update(runs).where(runs.c.run_id == run_id, runs.c.fence == fence)
        .values(lease_owner=None, lease_expires_ms=None)
    )
    return bool(result.rowcount)


def lease_owners(conn: Connection, prefix: str) -> set[str]:
    """The owners whose names start with `prefix` that hold a lease of a run needing one."""
    rows = conn.execute(
        select(runs.c.lease_owner).distinct()
        .where(runs.c.needs_engine.is_(True), runs.c.lease_owner.startswith(prefix,
                                                                          autoescape=True))
    )
    return {row.lease_owner for row in rows}


def live_owner(conn: Connection, clock: Clock | None, run_id: int) -> str | None:
    """The engine whose lease on the run has not expired, if any."""
    now = now_ms(conn, clock)
    return conn.execute(select(runs.c.lease_owner).where(
        runs.c.run_id == run_id, runs.c.lease_expires_ms >= now)).scalar_one_or_none()


def claimable_count(conn: Connection, clock: Clock | None, take_from: Collection[str] = (),
                    skip: Collection[int] = ()) -> int:
    """How many runs are claimable now: one cheap read before a claim's write."""
    now = now_ms(conn, clock)
    query = select(func.count()).select_from(runs).where(_claimable(now, take_from, skip))
    return int(conn.execute(query).scalar_one())
