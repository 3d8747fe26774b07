"""The operations tables: the notification outbox, the audit log and its chain head, and the
figures tasks record. They share `tables.metadata` (so Alembic and the schema test see them).

`outbox` holds one row per (notification, destination); its `status` is a
`core.notifications.DeliveryStatus`. The engine writes rows in the same
transaction as the state change that fired them; the sender claims due rows with a lease,
tries them and records each try. `dedupe_key` is unique, so an alert decided twice (an
engine that replays a decision after a crash) is stored, and so delivered, once.

`audit_log` is append-only: entries are numbered 1, 2, ... and hash-chained (see
`core/audit.py`). `audit_head` (one row) keeps the last id and hash: appending locks it, which
orders concurrent writers on PostgreSQL as `BEGIN IMMEDIATE` does on SQLite, and a log cut
short at its end no longer matches it.

`engines` has a row per engine that claims any run (`headwater engine`, `headwater server`):
it says it is alive at each lease renewal (`heartbeat_ms`, on the database's clock, as leases
are) until `expires_ms`, and marks itself stopped when it hands back its runs. An engine
unseen for a day is forgotten.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from headwater.store.tables import JsonText, UtcDateTime, metadata

outbox = Table(
    "outbox",
    metadata,
    Column("outbox_id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(512), nullable=False, unique=True),
    Column("notification_key", String(255), nullable=False),
    Column("destination", String(255), nullable=False),
    Column("event", String(64), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("seq", Integer),
    Column("task_run_id", Integer),
    Column("payload", JsonText, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_time", UtcDateTime, nullable=False),
    Column("next_attempt_time", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("finished_time", UtcDateTime),
    Index("ix_outbox_status_next_attempt_time", "status", "next_attempt_time"),
    sqlite_autoincrement=True,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("job_id", Integer),
    Column("run_id", Integer),
    Column("task_key", String(255)),
    Column("attempt", Integer),
    Column("details", JsonText, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_job_id", "job_id"),
    Index("ix_audit_log_at", "at"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("head_id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

task_run_metrics = Table(
    "task_run_metrics",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("run_id", "seq", "name"),
)

engines = Table(
    "engines",
    metadata,
    Column("engine_name", String(255), primary_key=True),  # as in runs.lease_owner
    Column("home", Text, nullable=False),  # its HEADWATER_HOME: logs, secrets, workspace
    Column("version", String(64), nullable=False),  # the headwater it runs
    Column("started_time", UtcDateTime, nullable=False),
    Column("heartbeat_ms", BigInteger, nullable=False),  # epoch ms, the database's clock
    Column("expires_ms", BigInteger, nullable=False),  # unresponsive past this, unless stopped
    Column("stopped", Boolean, nullable=False),
)
