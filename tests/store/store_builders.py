"""Builders shared by the SQL store tests: instants, job settings, task runs, run states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.core.events import Event
from headwater.core.machine import decide, initial_state
from headwater.core.notifications import RunContext, side_effects
from headwater.core.plan import Plan
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState
from headwater.ports import JobRecord
from headwater.store import SqlStore

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


def drive(store: SqlStore, job: JobRecord, plan: Plan, events: list[Event],
          settings: dict[str, object] | None = None) -> tuple[int, RunState]:
    """Create a run and record each event's decision with its side effects."""
    run_id = store.create_run(job, initial_state(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id
    spec = JobSettings.model_validate(settings or job.settings)
    context = RunContext(run_id, job.job_id, job.name, "ann")
    state = initial_state(plan)
    for event in events:
        decision = decide(state, event)
        effects = side_effects(spec, context, state, decision.state, decision.changed, event)
        store.record(run_id, 0, event, decision.state, decision.changed, outbox=effects.outbox,
                     audit=effects.audit)
        state = decision.state
    return run_id, state
