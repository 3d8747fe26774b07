"""Engines say they are alive.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

- `engines`: a row per engine that claims any run (`headwater engine`, `headwater server`),
  renewed at each lease renewal and marked stopped when the engine hands back its runs, for
  `headwater engines list` and the `headwater_engines` metric (store/ops_tables.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engines",
        sa.Column("engine_name", sa.String(255), nullable=False),
        sa.Column("home", sa.Text, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("started_time", sa.String(32), nullable=False),
        sa.Column("heartbeat_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("stopped", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("engine_name", name="pk_engines"),
    )


def downgrade() -> None:
    op.drop_table("engines")
