"""Statements on jobs and their versions, as functions of an open `Connection`.

The caller owns the transaction; `SqlStore` wraps each public call in exactly one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, Select, func, insert, select, update

from headwater.errors import NotFound
from headwater.ports import JobRecord
from headwater.store.rows import job_record_from_row
from headwater.store.tables import dumps_canonical, job_versions, jobs

_JOB_COLUMNS = (
    jobs.c.job_id,
    jobs.c.name,
    job_versions.c.version,
    job_versions.c.settings,
    job_versions.c.source,
    job_versions.c.created_time,
)
_JOB_JOIN = jobs.join(job_versions, job_versions.c.job_id == jobs.c.job_id)


def latest_version_query() -> Select[tuple[int]]:
    """A scalar subquery shape: the newest version number of the job in the outer row."""
    other = job_versions.alias("other_versions")
    return select(func.max(other.c.version)).where(other.c.job_id == jobs.c.job_id)


def save_job(
    conn: Connection, name: str, settings: Mapping[str, object], source: str, at: datetime
) -> JobRecord:
    """Create job `name` at version 1, or add a version when `settings` differ from the latest.

    Saving the settings of the latest version again returns that version unchanged. Saving
    under the name of a deleted job brings the job back.
    """
    row = conn.execute(
        select(jobs.c.job_id, jobs.c.deleted).where(jobs.c.name == name)
    ).first()
    if row is None:
        new_job = insert(jobs).values(name=name, created_time=at, deleted=False)
        job_id = conn.execute(new_job.returning(jobs.c.job_id)).scalar_one()
        return _add_version(conn, job_id, 1, settings, source, at)
    job_id = row.job_id
    if row.deleted:
        conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(deleted=False))
    latest = get_job(conn, job_id)
    if dumps_canonical(latest.settings) == dumps_canonical(settings):
        return latest
    return _add_version(conn, job_id, latest.version + 1, settings, source, at)


def _add_version(
    conn: Connection, job_id: int, version: int, settings: Mapping[str, object], source: str,
    at: datetime,
) -> JobRecord:
    conn.execute(
        insert(job_versions).values(
            job_id=job_id, version=version, settings=dict(settings), source=source,
            created_time=at,
        )
    )
    return get_job(conn, job_id, version)


def get_job(conn: Connection, job_id: int, version: int | None = None) -> JobRecord:
    """The job at `version`, or at its latest version; `NotFound` otherwise."""
    wanted = latest_version_query().scalar_subquery() if version is None else version
    query = (
        select(*_JOB_COLUMNS)
        .select_from(_JOB_JOIN)
        .where(jobs.c.job_id == job_id, job_versions.c.version == wanted)
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        if version is None:
            raise NotFound(f"Job {job_id} does not exist.")
        raise NotFound(f"Job {job_id} version {version} does not exist.")
    return job_record_from_row(row)


def job_by_name(conn: Connection, name: str) -> JobRecord | None:
    """The latest version of the job called `name`, or None (deleted jobs included as None)."""
    job_id = conn.execute(
        select(jobs.c.job_id).where(jobs.c.name == name, jobs.c.deleted.is_(False))
    ).scalar()
    return None if job_id is None else get_job(conn, job_id)


def list_jobs(conn: Connection) -> list[JobRecord]:
    """The latest version of every job that is not deleted, by job id."""
    query = (
        select(*_JOB_COLUMNS)
        .select_from(_JOB_JOIN)
        .where(
            jobs.c.deleted.is_(False),
            job_versions.c.version == latest_version_query().scalar_subquery(),
        )
        .order_by(jobs.c.job_id)
    )
    return [job_record_from_row(row) for row in conn.execute(query).mappings()]
