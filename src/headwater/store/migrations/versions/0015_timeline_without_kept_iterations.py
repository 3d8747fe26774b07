"""The task run timeline leaves out the iterations a repair kept.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

A repair of a for-each that partly failed keeps the iterations that succeeded (core/step.py
`keep_iteration`): each is recorded again under the repaired loop, with no times, so that the
run shows all its iterations. They did not run again, so `job_task_run_timeline`, one row
per task run that ran or was skipped, now leaves them out: before, each appeared twice, and
`headwater metrics` counted it as two attempts. A kept iteration is the only task run that
succeeded without starting.

The view is made again from revision 0003's body (read from its file: a revision is not a
module one imports), with that condition.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KEPT = "t.result = 'SUCCESS' AND t.start_time IS NULL AND t.parent_seq IS NOT NULL"


def _revision_0003() -> ModuleType:
    path = Path(__file__).with_name("0003_operations.py")
    spec = importlib.util.spec_from_file_location("headwater_revision_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make_view(body: str) -> None:
    op.execute("DROP VIEW IF EXISTS job_task_run_timeline")
    op.execute(f"CREATE VIEW job_task_run_timeline AS {body}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _make_view(f"{_revision_0003().job_task_run_timeline_body(sqlite)} WHERE NOT ({KEPT})")


def downgrade() -> None:
    _make_view(_revision_0003().job_task_run_timeline_body(op.get_bind().dialect.name
                                                           == "sqlite"))
