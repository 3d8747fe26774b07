"""Statements on jobs and their versions, as functions of an open `Connection`.

Jobs are keyed by id, as in the Jobs API: every create makes a new job, names need not be
unique, and every change of settings is a new version that runs point at. A job deployed from
files also has a `deployment_key` (bundle, target, resource key), unique among jobs that are
not deleted, so that deploying the same files again updates it. Deleting a job marks it
deleted and frees its deployment key; its versions stay, because its runs point at them.

The caller owns the transaction; `SqlStore` wraps each public call in exactly one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, func, insert, select, update

from headwater.errors import NotFound
from headwater.ports import JobRecord
from headwater.store.rows import job_record_from_row
from headwater.store.tables import dumps_canonical, job_versions, jobs

_JOB_COLUMNS = (
    jobs.c.job_id,
    jobs.c.name,
    jobs.c.creator,
    jobs.c.deployment_key,
    jobs.c.hidden,
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


def create_job(conn: Connection, name: str, settings: Mapping[str, object], source: str,
               at: datetime, creator: str, deployment_key: str | None = None,
               hidden: bool = False) -> JobRecord:
    """A new job at version 1."""
    new_job = insert(jobs).values(name=name, created_time=at, deleted=False, creator=creator,
                                  deployment_key=deployment_key, hidden=hidden)
    job_id = conn.execute(new_job.returning(jobs.c.job_id)).scalar_one()
    return _add_version(conn, job_id, 1, name, settings, source, at)


def update_job(conn: Connection, job_id: int, name: str, settings: Mapping[str, object],
               source: str, at: datetime) -> JobRecord:
    """Add a version when `settings` differ from the latest; else return the latest.

    `NotFound` for an unknown or deleted job.
    """
    latest = get_job(conn, job_id)
    if dumps_canonical(latest.settings) == dumps_canonical(settings):
        return latest
    return _add_version(conn, job_id, latest.version + 1, name, settings, source, at)


def delete_job(conn: Connection, job_id: int) -> JobRecord:
    """Mark a job deleted and free its deployment key; `NotFound` if it is not there."""
    record = get_job(conn, job_id)
    conn.execute(update(jobs).where(jobs.c.job_id == job_id)
                 .values(deleted=True, deployment_key=None))
    return record


def _add_version(conn: Connection, job_id: int, version: int, name: str,
                 settings: Mapping[str, object], source: str, at: datetime) -> JobRecord:
    conn.execute(
        insert(job_versions).values(
            job_id=job_id, version=version, settings=dict(settings), source=source,
            created_time=at,
        )
    )
    conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(name=name))
    return get_job(conn, job_id, version)


def get_job(conn: Connection, job_id: int, version: int | None = None) -> JobRecord:
    """The job at `version` (deleted or not), or at its latest version (not deleted).

    Raises:
        NotFound: for an unknown job, a deleted one without `version`, an unknown version.
    """
    wanted = latest_version_query().scalar_subquery() if version is None else version
    query = (
        select(*_JOB_COLUMNS)
        .select_from(_JOB_JOIN)
        .where(jobs.c.job_id == job_id, job_versions.c.version == wanted)
    )
    if version is None:
        query = query.where(jobs.c.deleted.is_(False))
    row = conn.execute(query).mappings().first()
    if row is None:
        if version is None:
            raise NotFound(f"Job {job_id} does not exist.")
        raise NotFound(f"Job {job_id} version {version} does not exist.")
    return job_record_from_row(row)


def job_by_deployment(conn: Connection, key: str) -> JobRecord | None:
    """The latest version of the job deployed under `key`, or None."""
    job_id = conn.execute(
        select(jobs.c.job_id).where(jobs.c.deployment_key == key, jobs.c.deleted.is_(False))
    ).scalar()
    return None if job_id is None else get_job(conn, job_id)


def rekey_deployment(conn: Connection, job_id: int, key: str) -> None:
    """Give the job the deployment key `key`."""
    conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(deployment_key=key))


def jobs_deployed_under(conn: Connection, prefix: str) -> list[JobRecord]:
    """The latest version of every job not deleted whose deployment key starts with `prefix`
    (a bundle and target), by job id. SQLite's LIKE ignores case: the caller decides exactly
    (`core.deployment.resource_key`)."""
    query = (
        select(*_JOB_COLUMNS)
        .select_from(_JOB_JOIN)
        .where(
            jobs.c.deleted.is_(False),
            jobs.c.deployment_key.startswith(prefix, autoescape=True),
            job_versions.c.version == latest_version_query().scalar_subquery(),
        )
        .order_by(jobs.c.job_id)
    )
    return [job_record_from_row(row) for row in conn.execute(query).mappings()]


def list_jobs(conn: Connection, name: str | None = None, limit: int | None = None,
              after_id: int | None = None, visible: ColumnElement[bool] | None = None
              ) -> list[JobRecord]:
    """The latest version of every job not deleted, by job id.

    `name` filters by exact name, ignoring case (as `jobs/list?name=` does); `after_id`
    starts after that job id (a page token); `limit` caps the count.
    """
    query = (
        select(*_JOB_COLUMNS)
        .select_from(_JOB_JOIN)
        .where(
            jobs.c.deleted.is_(False),
            jobs.c.hidden.is_(False),
            job_versions.c.version == latest_version_query().scalar_subquery(),
        )
        .order_by(jobs.c.job_id)
    )
    if name is not None:
        query = query.where(func.lower(jobs.c.name) == name.lower())
    if after_id is not None:
        query = query.where(jobs.c.job_id > after_id)
    if visible is not None:
        query = query.where(visible)
    if limit is not None:
        query = query.limit(limit)
    return [job_record_from_row(row) for row in conn.execute(query).mappings()]
