"""Schedules and triggers: what each job's trigger remembers, the fires, trigger facts on runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

- `trigger_states`: one row per job whose schedule or trigger fires: its state as JSON and a
  version that grows with every change (engines update it compare-and-set).
- `trigger_fires`: one row per run a trigger started, keyed by (job, fire key): the key of a
  scheduled time, or the n-th file arrival, is inserted once, so that two engines evaluating
  one trigger at once start one run between them.
- `runs.trigger_info`: what fired a run (its scheduled time, the files or tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INSTANT = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "trigger_states",
        sa.Column("job_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_trigger_states"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.job_id"],
                                name="fk_trigger_states_job_id_jobs"),
    )
    op.create_table(
        "trigger_fires",
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("fire_key", sa.String(255), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("fired_time", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "fire_key", name="pk_trigger_fires"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.job_id"],
                                name="fk_trigger_fires_job_id_jobs"),
    )
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(sa.Column("trigger_info", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.drop_column("trigger_info")
    op.drop_table("trigger_fires")
    op.drop_table("trigger_states")
