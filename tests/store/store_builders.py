"""Builders shared by the SQL store tests: instants, job settings, task runs, run states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.core.plan import Plan
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

SETTINGS: dict[str, Any] = {
    "name": "etl",
    "max_concurrent_runs": 100,  # runs of it start at once: admission has tests of its own
    "tasks": [
        {"task_key": "extract", "shell_command_task": {"command": "echo e"}},
        {
            "task_key": "load",
            "depends_on": [{"task_key": "extract"}],
            "max_retries": 2,
            "shell_command_task": {"command": "echo l"},
        },
    ],
}


def at(seconds: float) -> datetime:
    """An instant `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def task_run(seq: int, task_key: str, **fields: Any) -> TaskRun:
    """A task run with defaults for a first attempt that waits on its dependencies."""
    fields.setdefault("attempt_number", 0)
    fields.setdefault("life_cycle", LifeCycleState.BLOCKED)
    fields.setdefault("original_attempt_seq", seq)
    return TaskRun(seq=seq, task_key=task_key, **fields)


def state_with(plan: Plan, *runs: TaskRun, **fields: Any) -> RunState:
    """A run state holding `runs`, with `latest` and `next_seq` as the core would keep them."""
    latest: dict[str, int] = {}
    for run in sorted(runs, key=lambda r: r.seq):
        if run.iteration is None:
            latest[run.task_key] = run.seq
    next_seq = max((r.seq for r in runs), default=0) + 1
    return RunState(
        plan=plan, task_runs={r.seq: r for r in runs}, latest=latest, next_seq=next_seq, **fields
    )
