"""`SqlStore`: the `Store` port on SQLAlchemy Core, for SQLite files and PostgreSQL.

Every public method is one transaction. Writes begin with `BEGIN IMMEDIATE` on SQLite (see
`engine.py`); reads begin a deferred transaction, so a read sees one consistent snapshot and
never waits for the writer. Jobs and run reads are here; what engines write (runs, leases,
requests) is in `runs_store.py`, the outbox, audit and metrics in `operations.py`.

On PostgreSQL, where writers run at once, every transaction takes its row locks in one order
so that two can never wait for each other: a run's row, then its job's row (admission), then
the audit head (appending to the chain) last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    InternalError,
    OperationalError,
    SQLAlchemyError,
)

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.events import Event, event_from_dict
from headwater.core.permissions import Grant, Level, Principal
from headwater.core.plan import Plan
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState
from headwater.errors import InvalidRequest, NotFound, StoreError
from headwater.ports import Clock, JobRecord, RunRecord, RunSummary
from headwater.store import (
    access_queries,
    job_queries,
    ops_queries,
    run_queries,
    stalled_sessions,
)
from headwater.store.access_store import AccessMixin, replace_grants
from headwater.store.audit_anchor import AnchorFile
from headwater.store.details_store import DetailsMixin
from headwater.store.engine import READ_ONLY, FileIdentity, create_store_engine, read_only_file
from headwater.store.migrate import upgrade_to_head
from headwater.store.operations import OperationsMixin
from headwater.store.retention_store import RetentionMixin
from headwater.store.rows import run_state_from_rows, scope_of
from headwater.store.runs_store import RunsMixin
from headwater.store.tables import jobs, run_events, runs, task_run_outputs, task_runs
from headwater.store.triggers_store import TriggersMixin

_TERMINAL = [str(s) for s in LifeCycleState if s.is_terminal]


# The database cannot serve now (unreachable, restarting, a session cut, read-only, a lock not
# granted): the callers wait and try again. Other errors (a constraint, a syntax error) are bugs.
_UNAVAILABLE = (OperationalError, InternalError)
_NUMERIC_VALUE_OUT_OF_RANGE = "22003"  # the SQLSTATE of PostgreSQL's refusal
_SQLITE_INTEGER_TOO_LARGE = "too large to convert to SQLite INTEGER"  # sqlite3's OverflowError


@contextmanager
def _out_of_range_refused() -> Iterator[None]:
    """An id or number the database cannot hold (SQLite and PostgreSQL stop at 64 bits) is
    the caller's mistake, `InvalidRequest`: a run or job 99999999999999999999 is not a failure
    of the store. Any other overflow or error of the data is left as it is."""
    try:
        yield
    except (OverflowError, DataError) as error:
        refused = getattr(error.orig, "sqlstate", None) == _NUMERIC_VALUE_OUT_OF_RANGE \
            if isinstance(error, DataError) else _SQLITE_INTEGER_TOO_LARGE in str(error)
        if not refused:
            raise
        raise InvalidRequest(f"a number given is out of range: ids and counts are at most "
                             f"{2**63 - 1}") from error


class SqlStore(RunsMixin, TriggersMixin, AccessMixin, OperationsMixin, DetailsMixin,
               RetentionMixin):
    """The durable state of headwater in a SQL database (implements `ports.Store`).

    Args:
        engine: made by `create_store_engine`, its schema at head.
        lease_clock: the clock leases are measured on; None (the default) is the database's
            own, which engines on several machines share. Tests pass a fake clock.
    """

    def __init__(self, engine: Engine, lease_clock: Clock | None = None,
                 anchor: AnchorFile | None = None, read_only: Path | None = None) -> None:
        self.engine = engine
        self.read_only = read_only  # a SQLite file this process may only read
        self.lease_clock = lease_clock
        self.anchor = anchor  # where the audit chain's head is witnessed (audit_anchor.py)
        self.file = FileIdentity.of(engine)  # a SQLite file, checked around every transaction

    @classmethod
    def open(cls, url: str, lease_clock: Clock | None = None,
             anchor_path: Path | None = None) -> SqlStore:
        """Connect to `url` (`sqlite:///path/state.db`, `postgresql+psycopg://...`) and migrate.

        For SQLite the file's directory is created. Cheap when the schema is already at head.
        With `anchor_path`, the audit chain's head is appended there as it grows.

        Raises:
            StoreError: when the database cannot be opened or migrated.
        """
        engine, read_only = create_store_engine(url), read_only_file(url)
        try:
            upgrade_to_head(engine, engine.url.render_as_string(hide_password=True),
                            may_write=read_only is None)
        except BaseException:
            engine.dispose()
            raise
        anchor = None if anchor_path is None else AnchorFile(anchor_path, url)
        return cls(engine, lease_clock, anchor, read_only)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check` ("ok" when sound); "ok" on other databases."""
        if self.engine.dialect.name != "sqlite":
            return "ok"
        with self._reading() as conn:
            rows = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        return "\n".join(str(row) for row in rows)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction; a locked or unreachable database becomes `StoreError`.

        Once it has committed, a new audit head is appended to the anchor."""
        head: tuple[int, str] | None = None
        if self.read_only is not None:
            raise StoreError(
                f"the state store {self.read_only} is read-only for this user, and this "
                "changes it: run it as the user who owns the store, or give this user write "
                "access to the file and its folder")
        self._check_file()
        try:
            with _out_of_range_refused(), self.engine.begin() as conn:
                try:
                    yield conn
                finally:  # never left for the next transaction on this pooled connection
                    with contextlib.suppress(SQLAlchemyError):  # a connection cut: discarded
                        head = conn.info.pop(ops_queries.AUDIT_HEAD, None)
        except _UNAVAILABLE as exc:
            raise StoreError(f"cannot write the state store at {self.engine.url!r}: {exc}") from exc
        self._check_file()  # committed to the file that is still there, or reported lost
        if head is not None and self.anchor is not None:
            self.anchor.append(*head)

    def _check_file(self) -> None:
        if self.file is not None:
            self.file.check()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """One read transaction on a consistent snapshot; an unreachable database becomes
        `StoreError`."""
        self._check_file()
        try:
            with _out_of_range_refused(), \
                    self.engine.connect().execution_options(**READ_ONLY) as conn, conn.begin():
                yield conn
        except _UNAVAILABLE as exc:
            raise StoreError(f"cannot read the state store at {self.engine.url!r}: {exc}") from exc

    def end_stalled_sessions(self, stalled_ms: int = stalled_sessions.STALLED_MS) -> list[int]:
        """PostgreSQL: end headwater's sessions that a frozen process left waiting in the
        middle of a write for over `stalled_ms` (see `stalled_sessions`); their pids. Other
        databases have no such sessions: [].

        Raises:
            StoreError: when the database cannot be reached or refuses (a role that may not
                end the sessions it sees).
        """
        if self.engine.dialect.name != "postgresql":
            return []
        try:
            with self.engine.begin() as conn:
                return stalled_sessions.end_stalled(conn, stalled_ms)
        except DBAPIError as exc:
            raise StoreError(f"cannot look for stalled sessions at {self.engine.url!r}: "
                             f"{exc}") from exc

    def ping(self) -> None:
        """Read the store once (`/api/health`): `StoreError` when it cannot be read."""
        with self._reading() as conn:
            conn.execute(select(1))

    # Jobs.

    def create_job(self, settings: Mapping[str, object], source: str, at: datetime,
                   creator: str = "local", deployment_key: str | None = None,
                   grants: Sequence[Grant] | None = None, hidden: bool = False) -> JobRecord:
        """A new job (a new id every time), audited `job.created` in the same transaction.

        `grants` is its access control list (default: its creator owns it).
        """
        with self._writing() as conn:
            record = job_queries.create_job(conn, _name(settings), settings, source, at,
                                            creator, deployment_key, hidden)
            access_queries.set_grants(conn, record.job_id,
                                      grants or [Grant(creator, Level.IS_OWNER)])
            _audit_job(conn, record, at, creator, AuditAction.JOB_CREATED)
            return record

    def update_job(self, job_id: int, settings: Mapping[str, object], source: str,
                   at: datetime, actor: str) -> JobRecord:
        """Store `settings` as the job's next version (unless they are its latest), audited.

        `NotFound` for an unknown or deleted job.
        """
        with self._writing() as conn:
            before = job_queries.get_job(conn, job_id)
            record = job_queries.update_job(conn, job_id, _name(settings), settings, source, at)
            if record.version != before.version:
                _audit_job(conn, record, at, actor, AuditAction.JOB_UPDATED)
                run_queries.timeout_reaches_active_runs(conn, job_id, before.settings,
                                                        settings, at)
            return record

    def deploy_job(self, settings: Mapping[str, object], source: str, at: datetime,
                   actor: str, deployment_key: str,
                   grants: Sequence[Grant] | None = None) -> JobRecord:
        """Create the job deployed under `deployment_key`, or update it: one transaction.

        `grants` replace its access control list (a new job without them is its deployer's);
        a change of them is audited."""
        with self._writing() as conn:
            found = job_queries.job_by_deployment(conn, deployment_key)
            if found is None:
                record = job_queries.create_job(conn, _name(settings), settings, source, at,
                                                actor, deployment_key)
                access_queries.set_grants(conn, record.job_id,
                                          grants or [Grant(actor, Level.IS_OWNER)])
                _audit_job(conn, record, at, actor, AuditAction.JOB_CREATED)
                return record
            record = job_queries.update_job(conn, found.job_id, _name(settings), settings,
                                            source, at)
            if record.version != found.version:
                _audit_job(conn, record, at, actor, AuditAction.JOB_UPDATED)
                run_queries.timeout_reaches_active_runs(conn, found.job_id, found.settings,
                                                        settings, at)
            current = access_queries.grants(conn, [found.job_id]).get(found.job_id, [])
            if grants is not None and set(grants) != set(current):
                replace_grants(conn, found.job_id, grants, at, actor)
            return record

    def delete_job(self, job_id: int, at: datetime, actor: str) -> None:
        """Delete a job (its versions and runs stay); `NotFound` if it is not there."""
        with self._writing() as conn:
            record = job_queries.delete_job(conn, job_id)
            _audit_job(conn, record, at, actor, AuditAction.JOB_DELETED)

    def delete_jobs(self, job_ids: Sequence[int], at: datetime, actor: str) -> list[JobRecord]:
        """Delete several jobs in one transaction, each audited as `delete_job` does; those
        already deleted are skipped. The jobs deleted, as they were."""
        deleted = []
        with self._writing() as conn:
            for job_id in job_ids:
                try:
                    record = job_queries.delete_job(conn, job_id)
                except NotFound:
                    continue  # deleted meanwhile: what was asked is done
                _audit_job(conn, record, at, actor, AuditAction.JOB_DELETED)
                deleted.append(record)
        return deleted

    def get_job(self, job_id: int, version: int | None = None) -> JobRecord:
        """A job at a version (deleted or not), or at its latest (not deleted); `NotFound`."""
        with self._reading() as conn:
            return job_queries.get_job(conn, job_id, version)

    def job_by_deployment(self, deployment_key: str) -> JobRecord | None:
        """The job deployed under `deployment_key`, or None."""
        with self._reading() as conn:
            return job_queries.job_by_deployment(conn, deployment_key)

    def jobs_deployed_under(self, prefix: str) -> list[JobRecord]:
        """The jobs whose deployment key starts with `prefix` (ignoring case on SQLite), by
        id: what a bundle deployed to a target."""
        with self._reading() as conn:
            return job_queries.jobs_deployed_under(conn, prefix)

    def rekey_deployment(self, job_id: int, deployment_key: str) -> None:
        """Give the job `deployment_key`: a deployment taken over under its new key."""
        with self._writing() as conn:
            job_queries.rekey_deployment(conn, job_id, deployment_key)

    def list_jobs(self, name: str | None = None, limit: int | None = None,
                  after_id: int | None = None, visible_to: Principal | None = None
                  ) -> list[JobRecord]:
        """The latest version of every job, by id; `name` matches exactly, ignoring case;
        `visible_to` keeps the jobs that principal may view."""
        visible = None if visible_to is None else access_queries.visible_to(visible_to,
                                                                            jobs.c.job_id)
        with self._reading() as conn:
            return job_queries.list_jobs(conn, name, limit, after_id, visible)

    # Runs, as they are read.

    def load_run(self, run_id: int, plan: Plan | None = None) -> RunRecord:
        """A run with its snapshot rebuilt from the stored rows; `NotFound` otherwise."""
        with self._reading() as conn:
            run = conn.execute(select(runs).where(runs.c.run_id == run_id,
                                                  runs.c.deleted.is_(False))).mappings().first()
            if run is None:
                raise NotFound(f"Run {run_id} does not exist.")
            job = job_queries.get_job(conn, run["job_id"], run["job_version"])
            task_rows = run_queries.task_run_rows(conn, run_id)
            earlier = {number: job_queries.get_job(conn, job.job_id, version)
                       for number, version in _earlier_versions(run["repairs"], job.version)}
        scope = scope_of(run)
        if plan is None:
            plan = scope.plan(JobSettings.model_validate(dict(job.settings)))
        return RunRecord(
            run_id=run_id,
            job=job,
            parameters=run["parameters"],
            trigger=run["trigger"],
            creator=run["creator"],
            workdir=run["workdir"],
            created_time=run["created_time"],
            state=run_state_from_rows(plan, run, task_rows),
            task_run_ids={row["seq"]: row["task_run_id"] for row in task_rows},
            queued_until=run["queued_until"],
            lease_owner=run["lease_owner"],
            fence=run["fence"],
            trigger_info=run["trigger_info"],
            run_type=run["run_type"],
            run_as=run["run_as"],
            scope=scope,
            earlier_plans={number: scope.plan(JobSettings.model_validate(dict(old.settings)))
                           for number, old in earlier.items()},
        )

    def task_outputs(self, run_id: int) -> dict[int, Mapping[str, Any]]:
        """What each attempt of a run left as its result (result.json), by seq."""
        query = (select(task_runs.c.seq, task_run_outputs.c.body)
                 .select_from(task_run_outputs.join(
                     task_runs, task_runs.c.task_run_id == task_run_outputs.c.task_run_id))
                 .where(task_runs.c.run_id == run_id))
        with self._reading() as conn:
            return {row.seq: row.body for row in conn.execute(query)}

    def task_output(self, run_id: int, seq: int) -> Mapping[str, Any] | None:
        """What one attempt left as its result (result.json), or None."""
        query = (select(task_run_outputs.c.body)
                 .select_from(task_run_outputs.join(
                     task_runs, task_runs.c.task_run_id == task_run_outputs.c.task_run_id))
                 .where(task_runs.c.run_id == run_id, task_runs.c.seq == seq))
        with self._reading() as conn:
            body: Mapping[str, Any] | None = conn.execute(query).scalar()
        return body

    def events(self, run_id: int) -> list[Event]:
        """The run's event log, oldest first; `NotFound` for an unknown run."""
        query = (
            select(run_events.c.body)
            .where(run_events.c.run_id == run_id)
            .order_by(run_events.c.event_no)
        )
        with self._reading() as conn:
            bodies = conn.execute(query).scalars().all()
            if not bodies:
                run_queries.check_run_exists(conn, run_id)
        return [event_from_dict(body) for body in bodies]

    def list_runs(self, job_id: int | None = None, limit: int = 20, active_only: bool = False,
                  completed_only: bool = False, before_id: int | None = None,
                  visible_to: Principal | None = None, run_type: str | None = None,
                  started_after: datetime | None = None, started_before: datetime | None = None,
                  trigger: str | None = None, result: str | None = None,
                  ended_after: datetime | None = None) -> list[RunSummary]:
        """Runs, newest first; `before_id` starts below that run id (a page token);
        `visible_to` keeps the runs of the jobs that principal may view; `trigger` and
        `result` keep the runs fired that way and ended that way, `ended_after` those that
        ended after that instant."""
        query = (
            select(runs.c.run_id, runs.c.job_id, jobs.c.name, runs.c.life_cycle, runs.c.result,
                   runs.c.start_time, runs.c.end_time)
            .select_from(runs.join(jobs, jobs.c.job_id == runs.c.job_id))
            .order_by(runs.c.run_id.desc())
            .limit(limit)
        )
        for column, value in ((runs.c.job_id, job_id), (runs.c.run_type, run_type),
                              (runs.c.trigger, trigger), (runs.c.result, result)):
            if value is not None:
                query = query.where(column == value)
        if active_only:
            query = query.where(runs.c.life_cycle.not_in(_TERMINAL))
        if completed_only:
            query = query.where(runs.c.life_cycle.in_(_TERMINAL))
        if before_id is not None:
            query = query.where(runs.c.run_id < before_id)
        if visible_to is not None:
            query = query.where(access_queries.visible_to(visible_to, runs.c.job_id))
        if started_after is not None:
            query = query.where(runs.c.start_time >= started_after)
        if started_before is not None:
            query = query.where(runs.c.start_time <= started_before)
        if ended_after is not None:
            query = query.where(runs.c.end_time > ended_after)
        query = query.where(runs.c.deleted.is_(False))
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [
            RunSummary(run_id=r.run_id, job_id=r.job_id, job_name=r.name,
                       life_cycle=r.life_cycle, result=r.result, start_time=r.start_time,
                       end_time=r.end_time)
            for r in rows
        ]

    def last_end_time(self) -> datetime | None:
        """When the run that ended last ended (None before any did); the end time index
        answers it at once."""
        with self._reading() as conn:
            found: datetime | None = conn.execute(select(func.max(runs.c.end_time))).scalar()
        return found

    def find_task_run(self, task_run_id: int) -> tuple[int, int]:
        """(job run id, seq) of a global task run id; `NotFound` otherwise."""
        query = select(task_runs.c.run_id, task_runs.c.seq).where(
            task_runs.c.task_run_id == task_run_id
        )
        with self._reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"Task run {task_run_id} does not exist.")
        return row.run_id, row.seq

    def new_id(self, kind: str) -> int:
        """A fresh id from the space shared with run and task run ids (`kind`: "REPAIR")."""
        with self._writing() as conn:
            [new] = run_queries.allocate_ids(conn, kind, 1)
        return new


def _earlier_versions(repairs: Sequence[Mapping[str, Any]], current: int
                      ) -> Iterator[tuple[int, int]]:
    """(repair number, job version) of the attempts that ran another version than the run's
    `current` one: those before each repair that moved the run to another version."""
    for number, repair in enumerate(repairs):
        version = repair.get("previous_version")
        if version is not None and version != current:
            yield number, version


def _name(settings: Mapping[str, object]) -> str:
    return str(settings.get("name") or "Untitled")


def _audit_job(conn: Connection, record: JobRecord, at: datetime, actor: str,
               action: AuditAction) -> None:
    ops_queries.append_audit(conn, [AuditEntry(
        at=at, actor=actor, action=action, job_id=record.job_id,
        details={"name": record.name, "version": record.version, "source": record.source})])


def open_store(url: str, lease_clock: Clock | None = None,
               anchor_path: Path | None = None) -> SqlStore:
    """`SqlStore.open(url)`: connect, create a SQLite file's directory, migrate to head."""
    return SqlStore.open(url, lease_clock, anchor_path)
