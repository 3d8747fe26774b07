"""An index on when runs ended, for retention.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

- `ix_runs_end_time`: pruning (`store/retention_queries.py`) reads the runs that ended before
  the cutoff, oldest first, every few minutes per engine: without it, each look would scan
  every run kept for 60 days.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_end_time", "runs", ["end_time"])


def downgrade() -> None:
    op.drop_index("ix_runs_end_time", table_name="runs")
