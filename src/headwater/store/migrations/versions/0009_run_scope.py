"""What a run changes of its job: the tasks it runs, its legacy task parameters.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

- `runs.only_tasks`: a JSON list of the task keys a partial run runs (core/partial_run.py);
  NULL for a run of every task. The run's plan, and each repair's, is the job restricted to
  them.
- `runs.task_parameters`: run-now's legacy task parameters (`notebook_params`, ...) as JSON;
  NULL when it had none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(sa.Column("only_tasks", sa.Text))
        batch.add_column(sa.Column("task_parameters", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.drop_column("task_parameters")
        batch.drop_column("only_tasks")
