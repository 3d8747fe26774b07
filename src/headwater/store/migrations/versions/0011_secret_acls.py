"""Secret scope ACLs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

- `secret_acls`: each secret scope's access control list (core/secret_acls.py), a user or the
  group `users` with READ, WRITE or MANAGE, so that every server and engine of the database
  sees the same. Existing scopes get no entry: they stay open to every run, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_acls",
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("scope", "principal", name="pk_secret_acls"),
    )


def downgrade() -> None:
    op.drop_table("secret_acls")
