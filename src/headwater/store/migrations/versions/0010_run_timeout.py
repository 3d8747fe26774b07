"""A job's timeout as changed while a run of it was active.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

- `runs.timeout_seconds`: the job's `timeout_seconds` set after the run was made (Lakeflow:
  a change of it reaches active runs; every other setting only later runs); NULL when the
  run keeps its job version's. 0 is no timeout.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(sa.Column("timeout_seconds", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.drop_column("timeout_seconds")
