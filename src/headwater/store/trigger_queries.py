"""Statements on the triggers' memory (`trigger_states`) and their fires (`trigger_fires`).

A state is updated compare-and-set on its version; a fire key is inserted once per job (ON
CONFLICT DO NOTHING). Either refusing means another engine got there first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from headwater.core.trigger_details import LastFire
from headwater.store.dialects import insert_ignoring
from headwater.store.tables import trigger_fires, trigger_states


def states(conn: Connection, job_ids: Collection[int]) -> dict[int, tuple[int, Any]]:
    """job id -> (version, state) of the jobs that have one."""
    if not job_ids:
        return {}
    query = select(trigger_states).where(trigger_states.c.job_id.in_(list(job_ids)))
    return {row.job_id: (row.version, row.body) for row in conn.execute(query)}


def save_state(conn: Connection, job_id: int, version: int, body: Mapping[str, Any]) -> bool:
    """Store a job's new state if its stored version is still `version` (0: none yet)."""
    if version == 0:
        inserted = conn.execute(insert_ignoring(conn, trigger_states, ["job_id"]).values(
            job_id=job_id, version=1, body=dict(body)))
        return bool(inserted.rowcount)
    updated = conn.execute(
        update(trigger_states)
        .where(trigger_states.c.job_id == job_id, trigger_states.c.version == version)
        .values(version=version + 1, body=dict(body)))
    return bool(updated.rowcount)


def add_fire(conn: Connection, job_id: int, key: str, run_id: int, at: datetime) -> bool:
    """Record that `key` fired run `run_id`; False (nothing written) if it fired already."""
    result = conn.execute(insert_ignoring(conn, trigger_fires, ["job_id", "fire_key"]).values(
        job_id=job_id, fire_key=key, run_id=run_id, fired_time=at))
    return bool(result.rowcount)


def last_fires(conn: Connection, job_id: int, prefixes: Sequence[str]) -> list[LastFire | None]:
    """The run the job's trigger last started, for each prefix of its fire keys."""
    found: list[LastFire | None] = []
    for prefix in prefixes:
        row = conn.execute(
            select(trigger_fires.c.run_id, trigger_fires.c.fired_time)
            .where(trigger_fires.c.job_id == job_id,
                   trigger_fires.c.fire_key.startswith(prefix, autoescape=True))
            .order_by(trigger_fires.c.fired_time.desc(), trigger_fires.c.run_id.desc())
            .limit(1)).first()
        found.append(None if row is None else LastFire(row.run_id, row.fired_time))
    return found
