"""`SqlStore`: the `Store` port on SQLAlchemy Core, for SQLite files and PostgreSQL.

Every public method is one transaction. Writes begin with `BEGIN IMMEDIATE` on SQLite (see
`engine.py`); reads begin a deferred transaction, so a read sees one consistent snapshot and
never waits for the writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import OperationalError

from headwater.core.audit import AuditAction, AuditEntry, TaskMetric
from headwater.core.events import Event, event_from_dict
from headwater.core.notifications import OutboxItem
from headwater.core.plan import Plan, build_plan
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState
from headwater.errors import NotFound, StoreError
from headwater.ports import JobRecord, RunRecord, RunSummary
from headwater.store import job_queries, ops_queries, run_queries
from headwater.store.engine import READ_ONLY, create_store_engine
from headwater.store.migrate import upgrade_to_head
from headwater.store.operations import OperationsMixin
from headwater.store.rows import run_state_from_rows
from headwater.store.tables import jobs, run_events, runs, task_runs

_TERMINAL = [str(s) for s in LifeCycleState if s.is_terminal]


class SqlStore(OperationsMixin):
    """The durable state of headwater in a SQL database (implements `ports.Store`)."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine made by `create_store_engine` whose schema is at head."""
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> SqlStore:
        """Connect to `url` (`sqlite:///path/state.db`, `postgresql+psycopg://...`) and migrate.

        For SQLite the file's directory is created. Cheap when the schema is already at head.

        Raises:
            StoreError: when the database cannot be opened or migrated.
        """
        engine = create_store_engine(url)
        try:
            upgrade_to_head(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

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
        """One write transaction; a locked or unreachable database becomes `StoreError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"cannot write the state store at {self.engine.url!r}: {exc}") from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """One read transaction on a consistent snapshot."""
        with self.engine.connect().execution_options(**READ_ONLY) as conn, conn.begin():
            yield conn

    # Jobs.

    def save_job(
        self, name: str, settings: Mapping[str, object], source: str, at: datetime,
        *, actor: str | None = None,
    ) -> JobRecord:
        """Create the job `name`, or add a version when its settings changed.

        With an `actor`, a new job or version is audited (`job.created`/`job.updated`) in the
        same transaction.
        """
        with self._writing() as conn:
            before = job_queries.job_by_name(conn, name)
            record = job_queries.save_job(conn, name, settings, source, at)
            if actor is not None and (before is None or before.version != record.version):
                action = AuditAction.JOB_CREATED if record.version == 1 else AuditAction.JOB_UPDATED
                ops_queries.append_audit(conn, [AuditEntry(
                    at=at, actor=actor, action=action, job_id=record.job_id,
                    details={"name": name, "version": record.version, "source": source})])
            return record

    def get_job(self, job_id: int, version: int | None = None) -> JobRecord:
        """A job at a version (the latest by default); `NotFound` otherwise."""
        with self._reading() as conn:
            return job_queries.get_job(conn, job_id, version)

    def job_by_name(self, name: str) -> JobRecord | None:
        """The latest version of the job called `name`, or None."""
        with self._reading() as conn:
            return job_queries.job_by_name(conn, name)

    def list_jobs(self) -> list[JobRecord]:
        """The latest version of every job, by job id."""
        with self._reading() as conn:
            return job_queries.list_jobs(conn)

    # Runs.

    def create_run(
        self, job: JobRecord, state: RunState, parameters: Mapping[str, str], trigger: str,
        creator: str, workdir: str, at: datetime,
    ) -> int:
        """Store a new run with its initial snapshot; return its run id."""
        with self._writing() as conn:
            run_id, _ = run_queries.insert_run(
                conn, job, state, parameters, trigger, creator, workdir, at
            )
        return run_id

    def record(
        self, run_id: int, event: Event, state: RunState, changed: Sequence[int], *,
        outbox: Sequence[OutboxItem] = (), audit: Sequence[AuditEntry] = (),
        metrics: Sequence[TaskMetric] = (),
    ) -> Mapping[int, int]:
        """In ONE transaction: append `event`, save the run row and the changed task runs,
        and the decision's outbox rows, audit entries and task metrics.

        Returns seq -> global task run id for the task runs in `changed`.
        """
        with self._writing() as conn:
            ids = run_queries.record_transition(conn, run_id, event, state, changed)
            if outbox or audit or metrics:
                ops_queries.write_effects(conn, run_id, ids, outbox, audit, metrics, event.at)
            return ids

    def load_run(self, run_id: int, plan: Plan | None = None) -> RunRecord:
        """A run with its snapshot rebuilt from the stored rows; `NotFound` otherwise."""
        with self._reading() as conn:
            run = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
            if run is None:
                raise NotFound(f"Run {run_id} does not exist.")
            job = job_queries.get_job(conn, run["job_id"], run["job_version"])
            task_rows = run_queries.task_run_rows(conn, run_id)
        if plan is None:
            plan = build_plan(JobSettings.model_validate(dict(job.settings)))
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
        )

    def set_job_version(self, run_id: int, version: int,
                        parameters: Mapping[str, str] | None = None) -> None:
        """Make a run run `version` of its job (a repair runs the job's current settings).

        `load_run` then builds the run's plan from that version. `NotFound` for an unknown
        run or job version.
        """
        with self._writing() as conn:
            run_queries.set_job_version(conn, run_id, version, parameters)

    def new_id(self, kind: str) -> int:
        """A fresh id from the space shared with run and task run ids (`kind`: "REPAIR")."""
        with self._writing() as conn:
            [new] = run_queries.allocate_ids(conn, kind, 1)
        return new

    # Requests to the engine driving a run.

    def request_cancel(self, run_id: int, task_key: str | None, at: datetime) -> None:
        """Ask the engine driving the run to cancel it (or one task); `NotFound` otherwise."""
        with self._writing() as conn:
            run_queries.add_request(conn, run_id, run_queries.CANCEL, task_key, at)

    def take_requests(self, run_id: int, at: datetime) -> list[tuple[int, str, str | None]]:
        """The run's unhandled requests (request id, kind, task key), oldest first, marked
        handled at `at` in the same transaction, so that each is returned once.

        Polled several times a second: when there is nothing, it is one indexed SELECT in a
        read transaction, which on SQLite never takes the write lock.
        """
        with self._reading() as conn:
            if not run_queries.has_pending_requests(conn, run_id):
                return []
        with self._writing() as conn:
            return run_queries.take_requests(conn, run_id, at)

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

    def list_runs(
        self, job_id: int | None = None, limit: int = 20, active_only: bool = False
    ) -> list[RunSummary]:
        """Runs, newest first."""
        query = (
            select(runs.c.run_id, runs.c.job_id, jobs.c.name, runs.c.life_cycle, runs.c.result,
                   runs.c.start_time, runs.c.end_time)
            .select_from(runs.join(jobs, jobs.c.job_id == runs.c.job_id))
            .order_by(runs.c.run_id.desc())
            .limit(limit)
        )
        if job_id is not None:
            query = query.where(runs.c.job_id == job_id)
        if active_only:
            query = query.where(runs.c.life_cycle.not_in(_TERMINAL))
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [
            RunSummary(run_id=r.run_id, job_id=r.job_id, job_name=r.name,
                       life_cycle=r.life_cycle, result=r.result, start_time=r.start_time,
                       end_time=r.end_time)
            for r in rows
        ]

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


def open_store(url: str) -> SqlStore:
    """`SqlStore.open(url)`: connect, create a SQLite file's directory, migrate to head."""
    return SqlStore.open(url)

