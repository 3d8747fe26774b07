"""`max_concurrent_runs` and the job queue, decided inside the transaction that changes a run.

The verdict is the pure `core.admission.admit`; these functions count a job's runs while they
hold the job's row (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` holds the whole
database), so that two engines or two `run-now` calls can never both take the last free slot.
A queued run leaves the queue (first in, first out) when a run of its job ends, in that same
transaction, and engines also look for queued runs now and then (`admit_queued`), so a slot
freed by any means is filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, select, update

from headwater.core.admission import Admission, Limits, Verdict, admit
from headwater.errors import NotFound
from headwater.store.job_queries import get_job
from headwater.store.run_queries import TERMINAL
from headwater.store.tables import jobs, runs

QUEUED = "QUEUED"
_ACTIVE = runs.c.life_cycle.not_in([*sorted(TERMINAL), QUEUED])


def lock_job(conn: Connection, job_id: int) -> None:
    """Hold the job's row until the transaction ends (PostgreSQL; SQLite holds it all)."""
    query = select(jobs.c.job_id).where(jobs.c.job_id == job_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    conn.execute(query)


def _count(conn: Connection, job_id: int, *conditions: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(runs).where(runs.c.job_id == job_id, *conditions)
    return int(conn.execute(query).scalar_one())


def admission(conn: Connection, job_id: int, settings: Mapping[str, object],
              queue: bool | None = None) -> Admission:
    """What happens to a new run of the job: start, queue behind the others, or skip;
    `queue` overrides the job's `queue.enabled` for this run (run-now's `queue`)."""
    lock_job(conn, job_id)
    active = _count(conn, job_id, _ACTIVE)
    queued = _count(conn, job_id, runs.c.life_cycle == QUEUED)
    limits = Limits.of(settings)
    if queue is not None:
        limits = replace(limits, queue_enabled=queue)
    return admit(limits, active, queued)


def admit_queued(conn: Connection, job_id: int, at: datetime) -> list[int]:
    """Move the job's queued runs to PENDING, oldest first, while slots are free."""
    lock_job(conn, job_id)
    admitted: list[int] = []
    while True:
        head = conn.execute(
            select(runs.c.run_id, runs.c.job_version)
            .where(runs.c.job_id == job_id, runs.c.life_cycle == QUEUED)
            .order_by(runs.c.run_id).limit(1)
        ).first()
        if head is None:
            return admitted
        settings = _current_settings(conn, job_id, head.job_version)
        verdict = admit(Limits.of(settings), _count(conn, job_id, _ACTIVE), queued=0)
        if verdict.verdict is not Verdict.START:
            return admitted
        conn.execute(update(runs).where(runs.c.run_id == head.run_id).values(
            life_cycle="PENDING", queued_until=at, needs_engine=True))
        admitted.append(head.run_id)


def _current_settings(conn: Connection, job_id: int, version: int) -> Mapping[str, object]:
    """The job's latest settings (limits apply to future runs); a deleted job's run keeps its
    own version's."""
    try:
        return get_job(conn, job_id).settings
    except NotFound:
        return get_job(conn, job_id, version).settings


def jobs_with_queued_runs(conn: Connection) -> list[int]:
    """The ids of the jobs that have runs waiting in their queue."""
    query = select(runs.c.job_id).distinct().where(runs.c.life_cycle == QUEUED)
    return sorted(row.job_id for row in conn.execute(query))
