"""PostgreSQL: a `lakeflow` schema whose `jobs` view is Lakeflow's jobs system table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

`jobs` is headwater's own table, so the system-table view is `lakeflow_jobs`. `headwater sql`
puts the `lakeflow` schema first on the search path of its read-only transaction, so a query
written for Databricks (`SELECT ... FROM jobs`) reads the view, as `system.lakeflow.jobs` would.
SQLite has no schemas: there a temporary view does the same (store/metrics_queries.py).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SCHEMA IF NOT EXISTS lakeflow")
    op.execute("CREATE OR REPLACE VIEW lakeflow.jobs AS SELECT * FROM public.lakeflow_jobs")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP VIEW IF EXISTS lakeflow.jobs")
    op.execute("DROP SCHEMA IF EXISTS lakeflow")
