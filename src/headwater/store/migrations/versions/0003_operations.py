"""Operations: the notification outbox, the audit log, task metrics, and Lakeflow-named views.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

New tables: `outbox` (one row per notification and destination), `audit_log` (hash-chained,
append-only) with its one-row `audit_head`, and `task_run_metrics`. New read-only views named
after Lakeflow's system tables (`system.lakeflow.*`), with their column names where they
apply, so that queries written for Databricks port almost unchanged:

- `lakeflow_jobs` (the `jobs` system table; `jobs` is taken by our own table, and
  `headwater sql` shows this view under the name `jobs`): one row per job version (SCD2).
- `job_tasks`: one row per task per job version, `depends_on_keys` a JSON array.
- `job_run_timeline`: one row per job run (not hourly slices), durations in seconds.
- `job_task_run_timeline`: one row per task run (every attempt and iteration), with
  `queue_duration_seconds` (pending -> start) and `execution_duration_seconds` (start -> end).
- `job_task_run_metrics`: the figures each attempt recorded.

The view bodies differ only where SQLite and PostgreSQL spell JSON and date arithmetic
differently.

The view bodies are constant text assembled here (no input reaches them): hence the S608
waivers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INSTANT = sa.String(32)
GENESIS = "0" * 64
VIEWS = ("job_task_run_metrics", "job_task_run_timeline", "job_run_timeline", "job_tasks",
         "lakeflow_jobs")

# `status.termination_details.code` of a result, as core/states.py maps it.
TERMINATION_CODE = """CASE {result}
    WHEN 'SUCCESS' THEN 'SUCCESS'
    WHEN 'SUCCESS_WITH_FAILURES' THEN 'SUCCESS_WITH_FAILURES'
    WHEN 'FAILED' THEN 'RUN_EXECUTION_ERROR'
    WHEN 'TIMEDOUT' THEN 'CANCELED'
    WHEN 'CANCELED' THEN 'USER_CANCELED'
    WHEN 'MAXIMUM_CONCURRENT_RUNS_REACHED' THEN 'MAX_CONCURRENT_RUNS_EXCEEDED'
    WHEN 'EXCLUDED' THEN 'SKIPPED'
    WHEN 'UPSTREAM_FAILED' THEN 'SKIPPED'
    WHEN 'UPSTREAM_CANCELED' THEN 'SKIPPED'
    WHEN 'DISABLED' THEN 'DISABLED'
    END"""


def upgrade() -> None:
    create_outbox()
    create_audit()
    op.create_table(
        "task_run_metrics",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", "name", name="pk_task_run_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"],
                                name="fk_task_run_metrics_run_id_runs"),
    )
    dialect = op.get_bind().dialect.name
    for name, body in view_bodies(dialect).items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("outbox_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dedupe_key", sa.String(512), nullable=False),
        sa.Column("notification_key", sa.String(255), nullable=False),
        sa.Column("destination", sa.String(255), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer),
        sa.Column("task_run_id", sa.Integer),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.Column("next_attempt_time", INSTANT, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", INSTANT),
        sa.Column("finished_time", INSTANT),
        sa.PrimaryKeyConstraint("outbox_id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_outbox_run_id_runs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_status_next_attempt_time", "outbox",
                    ["status", "next_attempt_time"])


def create_audit() -> None:
    op.create_table(
        "audit_log",
        sa.Column("entry_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Integer),
        sa.Column("run_id", sa.Integer),
        sa.Column("task_key", sa.String(255)),
        sa.Column("attempt", sa.Integer),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_job_id", "audit_log", ["job_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    head = op.create_table(
        "audit_head",
        sa.Column("head_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("head_id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"head_id": 1, "last_id": 0, "last_hash": GENESIS}])


def view_bodies(dialect: str) -> dict[str, str]:
    """The SELECT of each view for `dialect` ("sqlite" or "postgresql")."""
    sqlite = dialect == "sqlite"
    jobs_view = (
        "SELECT 'local' AS account_id, 'local' AS workspace_id, v.job_id, j.name, "  # noqa: S608
        f"{json_text('v.settings', 'description', sqlite)} AS description, "
        "NULL AS creator_id, "
        f"{json_doc('v.settings', 'tags', sqlite)} AS tags, "
        "v.created_time AS change_time, NULL AS delete_time, "
        f"{json_doc('v.settings', 'run_as', sqlite)} AS run_as, "
        "v.version AS job_version "
        "FROM job_versions v JOIN jobs j ON j.job_id = v.job_id"
    )
    return {
        "lakeflow_jobs": jobs_view,
        "job_tasks": job_tasks_body(sqlite),
        "job_run_timeline": job_run_timeline_body(sqlite),
        "job_task_run_timeline": job_task_run_timeline_body(sqlite),
        "job_task_run_metrics": (
            "SELECT r.job_id, m.run_id AS job_run_id, t.task_run_id AS run_id, t.task_key, "
            "t.attempt_number, t.iteration, m.name, m.value "
            "FROM task_run_metrics m JOIN runs r ON r.run_id = m.run_id "
            "JOIN task_runs t ON t.run_id = m.run_id AND t.seq = m.seq"
        ),
    }


def json_text(column: str, key: str, sqlite: bool) -> str:
    if sqlite:
        return f"json_extract({column}, '$.{key}')"
    return f"(CAST({column} AS jsonb) ->> '{key}')"


def json_doc(column: str, key: str, sqlite: bool) -> str:
    if sqlite:
        return f"json_extract({column}, '$.{key}')"
    return f"CAST(CAST({column} AS jsonb) -> '{key}' AS text)"


def seconds(start: str, end: str, sqlite: bool) -> str:
    """Seconds from `start` to `end` (NULL if either is), to the millisecond."""
    if sqlite:
        return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"
    return (f"ROUND(CAST(EXTRACT(EPOCH FROM (CAST({end} AS timestamptz) - "
            f"CAST({start} AS timestamptz))) AS numeric), 3)")


def job_tasks_body(sqlite: bool) -> str:
    head = "SELECT 'local' AS account_id, 'local' AS workspace_id, v.job_id, "
    tail = "v.created_time AS change_time, NULL AS delete_time, v.version AS job_version "
    if sqlite:
        return (
            head + "json_extract(t.value, '$.task_key') AS task_key, "
            "(SELECT json_group_array(json_extract(d.value, '$.task_key')) "
            "FROM json_each(t.value, '$.depends_on') d) AS depends_on_keys, "
            + tail + "FROM job_versions v, json_each(v.settings, '$.tasks') t"
        )
    return (
        head + "t.value ->> 'task_key' AS task_key, "
        "(SELECT CAST(COALESCE(json_agg(d.value ->> 'task_key'), '[]') AS text) "
        "FROM jsonb_array_elements(COALESCE(t.value -> 'depends_on', '[]'::jsonb)) d) "
        "AS depends_on_keys, "
        + tail + "FROM job_versions v CROSS JOIN LATERAL jsonb_array_elements("
        "COALESCE(CAST(v.settings AS jsonb) -> 'tasks', '[]'::jsonb)) t"
    )


def job_run_timeline_body(sqlite: bool) -> str:
    return (
        "SELECT 'local' AS account_id, 'local' AS workspace_id, r.job_id, r.run_id, "  # noqa: S608
        "COALESCE(r.start_time, r.created_time) AS period_start_time, "
        "r.end_time AS period_end_time, r.trigger AS trigger_type, 'JOB_RUN' AS run_type, "
        "j.name AS run_name, NULL AS compute_ids, r.life_cycle AS life_cycle_state, "
        "r.result AS result_state, "
        f"{TERMINATION_CODE.format(result='r.result')} AS termination_code, "
        "r.parameters AS job_parameters, r.creator AS creator_user_name, "
        f"{seconds('r.created_time', 'r.start_time', sqlite)} AS queue_duration_seconds, "
        f"{seconds('r.start_time', 'r.end_time', sqlite)} AS run_duration_seconds, "
        "r.job_version "
        "FROM runs r JOIN jobs j ON j.job_id = r.job_id"
    )


def job_task_run_timeline_body(sqlite: bool) -> str:
    return (
        "SELECT 'local' AS account_id, 'local' AS workspace_id, r.job_id, "  # noqa: S608
        "t.task_run_id AS run_id, t.run_id AS job_run_id, "
        "COALESCE(p.task_run_id, t.run_id) AS parent_run_id, t.task_key, "
        "t.attempt_number, t.iteration, t.repair, NULL AS compute_ids, "
        "t.life_cycle AS life_cycle_state, t.result AS result_state, "
        f"{TERMINATION_CODE.format(result='t.result')} AS termination_code, "
        "COALESCE(t.start_time, t.pending_since) AS period_start_time, "
        "t.end_time AS period_end_time, "
        f"{seconds('t.pending_since', 't.start_time', sqlite)} AS queue_duration_seconds, "
        f"{seconds('t.start_time', 't.end_time', sqlite)} AS execution_duration_seconds "
        "FROM task_runs t JOIN runs r ON r.run_id = t.run_id "
        "LEFT JOIN task_runs p ON p.run_id = t.run_id AND p.seq = t.parent_seq"
    )


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("task_run_metrics")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_job_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_outbox_status_next_attempt_time", table_name="outbox")
    op.drop_table("outbox")
