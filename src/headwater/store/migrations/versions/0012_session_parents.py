"""Web sessions know the token they were opened with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

- `tokens.parent_token_id`: for a web session (service/sessions.py), the API token it was
  opened with; null for an API token. Revoking a token revokes its sessions with it, and a
  session's token is refused as an API bearer token.
- Sessions opened before this revision do not know their token, so they are ended: their
  users sign in again once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SESSION_COMMENT = "web session"  # service/sessions.py as of revision 0011


def upgrade() -> None:
    with op.batch_alter_table("tokens", recreate="never") as batch:
        batch.add_column(sa.Column("parent_token_id", sa.Integer, nullable=True))
    tokens = sa.table("tokens", sa.column("comment", sa.Text),
                      sa.column("revoked_time", sa.String(32)))
    now = datetime.now(UTC).isoformat(timespec="microseconds")  # as tables.UtcDateTime stores
    op.execute(tokens.update()
               .where(tokens.c.comment == _SESSION_COMMENT, tokens.c.revoked_time.is_(None))
               .values(revoked_time=now))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("parent_token_id")
