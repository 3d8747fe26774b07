"""The service core: jobs keyed by id, leases on runs, queues, repair requests, run outputs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

- `jobs.name` is no longer unique (jobs are keyed by id, as in the Jobs API); `jobs` gains
  its `creator` and the `deployment_key` of a job deployed from files (unique).
- `runs` gains the lease (`needs_engine`, `lease_owner`, `lease_expires_ms`, `fence`), the
  end of its wait in the queue (`queued_until`) and a `termination_code` for skipped runs.
  Runs that have not ended need an engine, so the next engine takes them over.
- `run_requests` gains a `body` (what a REPAIR asks).
- `task_run_outputs` holds what each attempt left as its result.

SQLite cannot drop a UNIQUE constraint, so `jobs` is rebuilt (with foreign keys off, as
`env.py` runs every revision, and with `legacy_alter_table` so the rename does not trip over
the views that name `jobs`). Other tables change in place (`recreate="never"`: a rebuild of
`runs` would fail the foreign keys that point at it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INSTANT = sa.String(32)
TERMINAL = ("'TERMINATED'", "'SKIPPED'", "'INTERNAL_ERROR'")
RUN_COLUMNS = ("termination_code", "queued_until", "needs_engine", "lease_owner",
               "lease_expires_ms", "fence")


def upgrade() -> None:
    rebuild_jobs(unique_name=False)
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(sa.Column("termination_code", sa.String(64)))
        batch.add_column(sa.Column("queued_until", INSTANT))
        batch.add_column(sa.Column("needs_engine", sa.Boolean, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("lease_owner", sa.String(255)))
        batch.add_column(sa.Column("lease_expires_ms", sa.BigInteger))
        batch.add_column(sa.Column("fence", sa.Integer, nullable=False, server_default="0"))
    op.drop_index("ix_runs_job_id", table_name="runs")
    op.create_index("ix_runs_job_id_life_cycle", "runs", ["job_id", "life_cycle"])
    op.create_index("ix_runs_needs_engine", "runs", ["needs_engine"])
    op.execute(f"UPDATE runs SET needs_engine = {true()} "  # noqa: S608
               f"WHERE life_cycle NOT IN ({', '.join(TERMINAL)})")
    with op.batch_alter_table("run_requests", recreate="never") as batch:
        batch.add_column(sa.Column("body", sa.Text))
    op.create_table(
        "task_run_outputs",
        sa.Column("task_run_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("task_run_id", name="pk_task_run_outputs"),
        sa.ForeignKeyConstraint(["task_run_id"], ["task_runs.task_run_id"],
                                name="fk_task_run_outputs_task_run_id_task_runs"),
    )


def true() -> str:
    return "true" if op.get_bind().dialect.name == "postgresql" else "1"


def rebuild_jobs(unique_name: bool) -> None:
    """Give `jobs` its columns of this revision (or, going down, of the one before)."""
    if op.get_bind().dialect.name == "postgresql":
        if unique_name:
            op.drop_index("ix_jobs_name", table_name="jobs")
            op.drop_constraint("uq_jobs_deployment_key", "jobs", type_="unique")
            op.drop_column("jobs", "deployment_key")
            op.drop_column("jobs", "creator")
            op.create_unique_constraint("uq_jobs_name", "jobs", ["name"])
        else:
            op.drop_constraint("uq_jobs_name", "jobs", type_="unique")
            op.add_column("jobs", sa.Column("creator", sa.Text))
            op.add_column("jobs", sa.Column("deployment_key", sa.String(512)))
            op.create_unique_constraint("uq_jobs_deployment_key", "jobs", ["deployment_key"])
            op.create_index("ix_jobs_name", "jobs", ["name"])
        return
    rebuild_sqlite_jobs(unique_name)


def rebuild_sqlite_jobs(unique_name: bool) -> None:
    """SQLite: copy `jobs` into a table of the wanted shape, drop it, rename the copy."""
    columns: list[sa.Column[object]] = [
        sa.Column("job_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
    ]
    kept = "job_id, name, created_time, deleted"
    if unique_name:
        constraints: list[sa.UniqueConstraint] = [sa.UniqueConstraint("name", name="uq_jobs_name")]
    else:
        columns += [sa.Column("creator", sa.Text), sa.Column("deployment_key", sa.String(512))]
        constraints = [sa.UniqueConstraint("deployment_key", name="uq_jobs_deployment_key")]
    op.execute("PRAGMA legacy_alter_table = ON")
    op.create_table("jobs_rebuilt", *columns,
                    sa.PrimaryKeyConstraint("job_id", name="pk_jobs"), *constraints,
                    sqlite_autoincrement=True)
    op.execute(f"INSERT INTO jobs_rebuilt ({kept}) SELECT {kept} FROM jobs")  # noqa: S608
    op.execute("DROP TABLE jobs")
    op.execute("ALTER TABLE jobs_rebuilt RENAME TO jobs")
    op.execute("PRAGMA legacy_alter_table = OFF")
    if not unique_name:
        op.create_index("ix_jobs_name", "jobs", ["name"])


def downgrade() -> None:
    op.drop_table("task_run_outputs")
    with op.batch_alter_table("run_requests", recreate="never") as batch:
        batch.drop_column("body")
    op.drop_index("ix_runs_needs_engine", table_name="runs")
    op.drop_index("ix_runs_job_id_life_cycle", table_name="runs")
    op.create_index("ix_runs_job_id", "runs", ["job_id"])
    with op.batch_alter_table("runs", recreate="never") as batch:
        for column in RUN_COLUMNS:
            batch.drop_column(column)
    rebuild_jobs(unique_name=True)
