"""Job permissions remember a service principal.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

- `job_permissions.is_service_principal`: the entry named its principal by
  `service_principal_name`. A service principal acts as the user of its name (its token's
  user), so it needs no key of its own; the flag is kept only to give the entry back as
  `service_principal_name`, as Databricks' `JobAccessControlResponse` does, instead of as
  `user_name`. Existing entries were all stored as users or groups: they get false.

As in 0002, the batches never rebuild the table on SQLite (`recreate="never"`): ADD COLUMN,
with a plain literal as its server default, and DROP COLUMN work in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_permissions", recreate="never") as batch:
        batch.add_column(sa.Column("is_service_principal", sa.Boolean, nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("job_permissions", recreate="never") as batch:
        batch.drop_column("is_service_principal")
