"""Tasks the engine runs itself, with no process: a condition is evaluated, a for-each's inputs
are read. The engine's launcher and the simulation (`core/simulation.py`) both call these, so a
simulated run decides them exactly as a real one does.

The task given is already resolved: its dynamic value references are substituted (a reference
that cannot be resolved fails the task before it gets here).
"""

from __future__ import annotations

import json
from datetime import datetime

from headwater.core.conditions import ConditionError, evaluate_condition
from headwater.core.events import Event, ForEachStarted, TaskFailed, TaskStarted, TaskSucceeded
from headwater.core.spec import Task

INLINE_KINDS = frozenset({"condition_task", "for_each_task"})
INLINE_HANDLE = "in-process"  # the handle of a condition's attempt: there is no process


def inline_events(spec: Task, seq: int, now: datetime, resolved: str | None) -> list[Event]:
    """The events of a resolved condition or for-each task started at `now`."""
    if spec.condition_task is not None:
        return condition_events(spec, seq, now, resolved)
    return for_each_events(spec, seq, now)


def condition_events(spec: Task, seq: int, now: datetime, resolved: str | None) -> list[Event]:
    """Started, then succeeded with its outcome ("true"/"false") or failed naming the operand."""
    condition = spec.condition_task
    assert condition is not None
    started = TaskStarted(now, seq, INLINE_HANDLE, resolved)
    try:
        outcome = evaluate_condition(condition.op, condition.left, condition.right)
    except ConditionError as error:
        return [started, TaskFailed(now, seq, str(error))]
    return [started, TaskSucceeded(now, seq, outcome="true" if outcome else "false")]


def for_each_events(spec: Task, seq: int, now: datetime) -> list[Event]:
    """The loop's inputs as a compact JSON array, or a failure showing what they were."""
    assert spec.for_each_task is not None
    items = loop_items(spec.for_each_task.inputs)
    if isinstance(items, str):
        return [TaskFailed(now, seq, f"for_each_task.inputs {items}")]
    return [ForEachStarted(now, seq, json.dumps(items, separators=(",", ":")))]


def loop_items(text: str) -> list[object] | str:
    """The items of a for-each's inputs, a JSON array; else what is wrong with `text`
    ("is not a JSON array: ...")."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        return f"is not a JSON array: {error.msg} (got {text[:200]!r})"
    if not isinstance(items, list):
        return f"must be a JSON array, got {type(items).__name__} {text[:200]!r}"
    return items


__all__ = ["INLINE_HANDLE", "INLINE_KINDS", "condition_events", "for_each_events",
           "inline_events", "loop_items"]
