"""The SQL schema of the state store, in SQLAlchemy Core: one `MetaData`, thirteen tables
(`ops_tables.py` adds the outbox's, the audit log's and the metrics' to it).

The same tables serve SQLite and PostgreSQL. Instants are stored as fixed-width ISO-8601 UTC
text (`UtcDateTime`) so that they sort correctly as text on both and read back as aware UTC
datetimes; JSON documents are stored as canonical text (`JsonText`).

Job runs and task runs share one id space (`run_ids`), as in the Jobs API where a task run id
never collides with a job run id: both `runs.run_id` and `task_runs.task_run_id` are ids
allocated there, and so are repair ids (`kind` REPAIR), so that no two ever collide.

`run_requests` is how another process (`headwater runs cancel`, the API) asks the engine
driving a run to do something (cancel it, repair it): it appends a row, and the engine marks
the row handled in the same transaction as the event it turned into.

Leases (see `store/leases.py`): a run that needs an engine (`needs_engine`) is claimed by
writing `lease_owner`, `lease_expires_ms` (epoch milliseconds on the database's clock) and a
`fence` that grows with every claim; every write of the run's state is conditional on it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Explicit constraint names keep Alembic's batch mode (SQLite table rebuilds) predictable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant stored as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`; naive values are refused."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else dumps_instant(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else loads_instant(value)


def dumps_instant(value: datetime) -> str:
    """The fixed-width UTC text of an aware instant; a naive one raises `ValueError`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: use UTC")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def loads_instant(value: str) -> datetime:
    """The aware UTC instant of a text written by `dumps_instant`."""
    return datetime.fromisoformat(value)


class JsonText(TypeDecorator[Any]):
    """A JSON document stored as canonical text (sorted keys), so equal documents compare equal."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps_canonical(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def dumps_canonical(value: Any) -> str:
    """The canonical JSON text of a document: sorted keys, no insignificant spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),  # not unique: jobs are keyed by id
    Column("created_time", UtcDateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("creator", Text),
    # Where a job deployed from files comes from (bundle, target, resource key): deploying
    # or running the same files again updates this job instead of making a new one.
    Column("deployment_key", String(512), unique=True),
    # The job of a one-time run (`runs/submit`): it exists for that run only and no job list
    # shows it.
    Column("hidden", Boolean, nullable=False, server_default="0"),
    Index(None, "name"),
    sqlite_autoincrement=True,  # never reuse the id of a deleted job
)

job_versions = Table(
    "job_versions",
    metadata,
    Column("job_id", Integer, ForeignKey("jobs.job_id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("settings", JsonText, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_time", UtcDateTime, nullable=False),
)

run_ids = Table(
    "run_ids",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # JOB_RUN, TASK_RUN or REPAIR
    sqlite_autoincrement=True,  # AUTOINCREMENT: an id is never handed out twice
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, ForeignKey("run_ids.id"), primary_key=True, autoincrement=False),
    Column("job_id", Integer, nullable=False),
    Column("job_version", Integer, nullable=False),  # the version it runs (a repair's)
    Column("parameters", JsonText, nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("creator", Text, nullable=False),
    Column("workdir", Text, nullable=False),
    Column("created_time", UtcDateTime, nullable=False),
    Column("life_cycle", String(32), nullable=False),
    Column("result", String(64)),
    Column("message", Text, nullable=False),
    Column("start_time", UtcDateTime),
    Column("end_time", UtcDateTime),
    Column("cancel_requested", Boolean, nullable=False),
    Column("timed_out", Boolean, nullable=False),
    Column("next_seq", Integer, nullable=False),
    # How many events the log holds: written in the same transaction as each event, so a
    # mismatch with the log would reveal a half-written transition.
    Column("event_count", Integer, nullable=False),
    # JSON list of the run's repairs, instants as `dumps_instant` text (see rows.py).
    Column("repairs", JsonText, nullable=False, server_default="[]"),
    Column("original_end_time", UtcDateTime),
    # Why a run was skipped when its result does not say it (MAX_JOB_QUEUE_SIZE_EXCEEDED).
    Column("termination_code", String(64)),
    Column("queued_until", UtcDateTime),  # when a run that waited in the queue left it
    # The lease: true while the run needs an engine (started, running, a repair asked).
    Column("needs_engine", Boolean, nullable=False, server_default="0"),
    Column("lease_owner", String(255)),
    Column("lease_expires_ms", BigInteger),
    Column("fence", Integer, nullable=False, server_default="0"),
    Column("trigger_info", JsonText),  # what fired it: its scheduled time, files, tables
    Column("run_as", Text),  # the user it runs as (the job's run_as, else its owner)
    Column("idempotency_token", String(64)),  # run-now/submit: the same token, the same run
    Column("run_type", String(16), nullable=False, server_default="JOB_RUN"),  # or SUBMIT_RUN
    Column("deleted", Boolean, nullable=False, server_default="0"),  # runs/delete
    # What the run changes of its job (core/run_scope.py): a partial run's task keys (NULL:
    # every task), run-now's legacy task parameters (NULL: none), the job's timeout as changed
    # while the run was active (NULL: its job version's).
    Column("only_tasks", JsonText),
    Column("task_parameters", JsonText),
    Column("timeout_seconds", Integer),
    ForeignKeyConstraint(
        ["job_id", "job_version"], ["job_versions.job_id", "job_versions.version"]
    ),
    Index("ix_runs_job_id_life_cycle", "job_id", "life_cycle"),
    Index(None, "needs_engine"),
    Index("ix_runs_end_time", "end_time"),  # retention reads the oldest ended runs first
    Index("ix_runs_job_id_idempotency_token", "job_id", "idempotency_token", unique=True),
)

task_runs = Table(
    "task_runs",
    metadata,
    Column("task_run_id", Integer, ForeignKey("run_ids.id"), primary_key=True,
           autoincrement=False),
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("task_key", String(255), nullable=False),
    Column("attempt_number", Integer, nullable=False),
    Column("life_cycle", String(32), nullable=False),
    Column("result", String(64)),
    Column("message", Text, nullable=False),
    Column("original_attempt_seq", Integer, nullable=False),
    Column("pending_since", UtcDateTime),
    Column("start_time", UtcDateTime),
    Column("end_time", UtcDateTime),
    Column("handle", Text),
    Column("exit_code", Integer),
    Column("stop_reason", String(64)),
    Column("condition_outcome", String(16)),
    Column("iteration", Integer),
    Column("parent_seq", Integer),
    Column("repair", Integer, nullable=False, server_default="0"),
    # JSON texts kept as the core hands them over (not re-encoded): `values` is
    # `task_values` here, as VALUES is an SQL keyword.
    Column("resolved", Text),
    Column("task_values", Text),
    Column("inputs", Text),
    # A for-each's `LoopProgress`: all four NULL for a task run without a loop.
    Column("loop_total", Integer),
    Column("loop_started", Integer),
    Column("loop_done", Integer),
    Column("loop_failed", Integer),
    # The unique index on (run_id, seq) also serves every lookup by run_id, so no second
    # index on run_id alone is kept: it would only slow the hot write path.
    UniqueConstraint("run_id", "seq"),
)

run_events = Table(
    "run_events",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.run_id"), primary_key=True),
    Column("event_no", Integer, primary_key=True, autoincrement=False),  # 1, 2, ... per run
    Column("type", String(64), nullable=False),
    Column("body", JsonText, nullable=False),  # event_to_dict(event)
    Column("at", UtcDateTime, nullable=False),
)

run_requests = Table(
    "run_requests",
    metadata,
    Column("request_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("kind", String(16), nullable=False),  # CANCEL or REPAIR
    Column("task_key", String(255)),  # None: the whole run
    Column("body", JsonText),  # what a REPAIR asks: tasks, job version, parameters
    Column("created_time", UtcDateTime, nullable=False),
    Column("handled_time", UtcDateTime),  # None until the engine took it
    # The engine polls `run_id = ? AND handled_time IS NULL` several times a second.
    Index("ix_run_requests_run_id_handled_time", "run_id", "handled_time"),
    sqlite_autoincrement=True,  # request ids grow with time: oldest first is by id
)

task_run_outputs = Table(
    "task_run_outputs",
    metadata,
    # What an attempt left as its result (result.json: a notebook's exit value, an error and
    # its trace, a SQL result): stored with its exit, so `runs/get-output` never needs the
    # machine the attempt ran on.
    Column("task_run_id", Integer, ForeignKey("task_runs.task_run_id"), primary_key=True,
           autoincrement=False),
    Column("body", JsonText, nullable=False),
)

trigger_states = Table(
    "trigger_states",
    metadata,
    # What a job's schedule or trigger remembers between looks (core/triggers.py), with a
    # version that grows with each change: engines update it compare-and-set.
    Column("job_id", Integer, ForeignKey("jobs.job_id"), primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("body", JsonText, nullable=False),
)

trigger_fires = Table(
    "trigger_fires",
    metadata,
    # One row per run a trigger started: a fire key is inserted once per job.
    Column("job_id", Integer, ForeignKey("jobs.job_id"), primary_key=True),
    Column("fire_key", String(255), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("fired_time", UtcDateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    # API tokens: only a SHA-256 of each is kept; the token itself is shown once.
    Column("token_id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_name", String(255), nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_time", UtcDateTime, nullable=False),
    Column("expiry_time", UtcDateTime),
    Column("revoked_time", UtcDateTime),
    # A web session's: the API token it was opened with (revoking that ends it); else null.
    Column("parent_token_id", Integer),
    sqlite_autoincrement=True,
)

job_permissions = Table(
    "job_permissions",
    metadata,
    # A job's access control list (core/permissions.py): a user or group, and its level.
    Column("job_id", Integer, ForeignKey("jobs.job_id"), primary_key=True),
    Column("is_group", Boolean, primary_key=True),
    Column("principal", String(255), primary_key=True),
    Column("level", String(32), nullable=False),
    # A user named as a service principal (`service_principal_name`), given back as one.
    Column("is_service_principal", Boolean, nullable=False, server_default="0"),
)

secret_acls = Table(
    "secret_acls",
    metadata,
    # A secret scope's ACL (core/secret_acls.py): a user or `users`, READ, WRITE or MANAGE.
    # The scopes themselves are files (runtime/secret_store.py); a scope with no row is open.
    Column("scope", String(128), primary_key=True),
    Column("principal", String(255), primary_key=True),
    Column("permission", String(16), nullable=False),
)
