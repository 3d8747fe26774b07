"""Tokens, job permissions, run-as, and idempotent run requests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

- `tokens`: API tokens, stored as their SHA-256 only; each belongs to a user, maybe an admin.
- `job_permissions`: each job's access control list (users and groups with a level).
- `runs.run_as`: who the run runs as; `runs.idempotency_token` with a unique index per job,
  so the same token returns the same run; `runs.run_type` (JOB_RUN, SUBMIT_RUN);
  `runs.deleted` (`runs/delete`: the run is gone from every list and lookup).
- `jobs.hidden`: the job a one-time run (`runs/submit`) runs, which no job list shows.
Existing jobs get their creator (or "local") as owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INSTANT = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_time", INSTANT, nullable=False),
        sa.Column("expiry_time", INSTANT),
        sa.Column("revoked_time", INSTANT),
        sa.PrimaryKeyConstraint("token_id", name="pk_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "job_permissions",
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("is_group", sa.Boolean, nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "is_group", "principal", name="pk_job_permissions"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.job_id"],
                                name="fk_job_permissions_job_id_jobs"),
    )
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(sa.Column("run_as", sa.Text))
        batch.add_column(sa.Column("idempotency_token", sa.String(64)))
        batch.add_column(sa.Column("run_type", sa.String(16), nullable=False,
                                   server_default="JOB_RUN"))
        batch.add_column(sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"))
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.add_column(sa.Column("hidden", sa.Boolean, nullable=False, server_default="0"))
    op.create_index("ix_runs_job_id_idempotency_token", "runs", ["job_id", "idempotency_token"],
                    unique=True)
    owners = ("INSERT INTO job_permissions (job_id, principal, is_group, level) "  # noqa: S608
              f"SELECT job_id, COALESCE(creator, 'local'), {false()}, 'IS_OWNER' FROM jobs")
    op.execute(owners)


def false() -> str:
    return "false" if op.get_bind().dialect.name == "postgresql" else "0"


def downgrade() -> None:
    op.drop_index("ix_runs_job_id_idempotency_token", table_name="runs")
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.drop_column("hidden")
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.drop_column("deleted")
        batch.drop_column("run_type")
        batch.drop_column("idempotency_token")
        batch.drop_column("run_as")
    op.drop_table("job_permissions")
    op.drop_table("tokens")
