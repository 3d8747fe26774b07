"""Repairs, task values, for-each progress, and requests to the engine driving a run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

task_runs gains the repair it belongs to, its resolved parameters, task values and for-each
inputs (JSON text) and its loop counts; runs gain their repair history (a JSON list) and the
end time of the original run; `run_requests` holds the cancel requests of other processes.
Existing rows get `repair` 0, `repairs` '[]' and NULL elsewhere. As in 0001, the schema is
written out here.

On SQLite the batches never rebuild a table (`recreate="never"`): ALTER TABLE ADD COLUMN and
DROP COLUMN (SQLite 3.35+) do it in place. A rebuild would DROP TABLE runs, which fails the
foreign keys of task_runs as soon as the database holds a run. The server defaults are
plain literals for the same reason: Alembic rebuilds for an expression default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INSTANT = sa.String(32)

TASK_RUN_COLUMNS = (
    "repair", "resolved", "task_values", "inputs",
    "loop_total", "loop_started", "loop_done", "loop_failed",
)
RUN_COLUMNS = ("repairs", "original_end_time")


def upgrade() -> None:
    with op.batch_alter_table("task_runs", recreate="never") as batch:
        batch.add_column(
            sa.Column("repair", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("resolved", sa.Text))
        batch.add_column(sa.Column("task_values", sa.Text))
        batch.add_column(sa.Column("inputs", sa.Text))
        batch.add_column(sa.Column("loop_total", sa.Integer))
        batch.add_column(sa.Column("loop_started", sa.Integer))
        batch.add_column(sa.Column("loop_done", sa.Integer))
        batch.add_column(sa.Column("loop_failed", sa.Integer))
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(
            sa.Column("repairs", sa.Text, nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("original_end_time", INSTANT))
    create_run_requests()


def create_run_requests() -> None:
    op.create_table(
        "run_requests",
        sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("task_key", sa.String(255)),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.Column("handled_time", INSTANT),
        sa.PrimaryKeyConstraint("request_id", name="pk_run_requests"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_run_requests_run_id_runs"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_run_requests_run_id_handled_time", "run_requests", ["run_id", "handled_time"]
    )


def downgrade() -> None:
    op.drop_table("run_requests")
    with op.batch_alter_table("runs", recreate="never") as batch:
        for column in RUN_COLUMNS:
            batch.drop_column(column)
    with op.batch_alter_table("task_runs", recreate="never") as batch:
        for column in TASK_RUN_COLUMNS:
            batch.drop_column(column)
