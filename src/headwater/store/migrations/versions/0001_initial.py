"""Initial schema: jobs and their versions, the shared run id space, runs, task runs, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Instants are fixed-width ISO-8601 UTC text (String(32)); JSON documents are Text. The
schema is written out here rather than taken from `tables.py`, so that this revision keeps
meaning what it meant when later revisions change the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INSTANT = sa.String(32)


def upgrade() -> None:
    create_jobs()
    create_runs()
    create_task_runs()
    create_run_events()


def create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
        sa.UniqueConstraint("name", name="uq_jobs_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "job_versions",
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "version", name="pk_job_versions"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.job_id"], name="fk_job_versions_job_id_jobs"),
    )


def create_runs() -> None:
    op.create_table(
        "run_ids",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_run_ids"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("job_version", sa.Integer, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("creator", sa.Text, nullable=False),
        sa.Column("workdir", sa.Text, nullable=False),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.Column("life_cycle", sa.String(32), nullable=False),
        sa.Column("result", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("start_time", INSTANT),
        sa.Column("end_time", INSTANT),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("timed_out", sa.Boolean, nullable=False),
        sa.Column("next_seq", sa.Integer, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
        sa.ForeignKeyConstraint(["run_id"], ["run_ids.id"], name="fk_runs_run_id_run_ids"),
        sa.ForeignKeyConstraint(
            ["job_id", "job_version"],
            ["job_versions.job_id", "job_versions.version"],
            name="fk_runs_job_id_job_versions",
        ),
    )
    op.create_index("ix_runs_job_id", "runs", ["job_id"])


def create_task_runs() -> None:
    op.create_table(
        "task_runs",
        sa.Column("task_run_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("task_key", sa.String(255), nullable=False),
        sa.Column("attempt_number", sa.Integer, nullable=False),
        sa.Column("life_cycle", sa.String(32), nullable=False),
        sa.Column("result", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("original_attempt_seq", sa.Integer, nullable=False),
        sa.Column("pending_since", INSTANT),
        sa.Column("start_time", INSTANT),
        sa.Column("end_time", INSTANT),
        sa.Column("handle", sa.Text),
        sa.Column("exit_code", sa.Integer),
        sa.Column("stop_reason", sa.String(64)),
        sa.Column("condition_outcome", sa.String(16)),
        sa.Column("iteration", sa.Integer),
        sa.Column("parent_seq", sa.Integer),
        sa.PrimaryKeyConstraint("task_run_id", name="pk_task_runs"),
        sa.ForeignKeyConstraint(
            ["task_run_id"], ["run_ids.id"], name="fk_task_runs_task_run_id_run_ids"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_task_runs_run_id_runs"),
        sa.UniqueConstraint("run_id", "seq", name="uq_task_runs_run_id"),
    )


def create_run_events() -> None:
    op.create_table(
        "run_events",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("event_no", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "event_no", name="pk_run_events"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_run_events_run_id_runs"),
    )


def downgrade() -> None:
    for table in ("run_events", "task_runs", "runs", "run_ids", "job_versions", "jobs"):
        op.drop_table(table)
