"""Events into the state machine (past tense) and commands out of it (imperative).

Every event carries the instant it happened (`at`): the core never reads a clock. Events are
plain frozen dataclasses that round-trip through `event_to_dict`/`event_from_dict`, so that
the store can keep the event log and a replay can rebuild a run.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from headwater.core.states import ResultState


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The engine began executing a run."""

    at: datetime


@dataclass(frozen=True, slots=True)
class TaskStarted:
    """An attempt's process is running; `handle` lets a restarted engine find it."""

    at: datetime
    seq: int
    handle: str
    resolved: str | None = None  # JSON: the parameters after references were resolved


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    """An attempt ended well (exit code 0, or a condition evaluated to `outcome`)."""

    at: datetime
    seq: int
    outcome: str | None = None  # "true"/"false" for a condition_task
    values: str | None = None  # JSON object of the task values it set


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """An attempt ended badly: a non-zero exit, a signal, an error before it could start."""

    at: datetime
    seq: int
    message: str
    exit_code: int | None = None
    values: str | None = None  # JSON object of the task values it set before failing
    # False when another attempt could only fail alike: a reference that cannot be resolved
    # reads what is fixed for the run (its parameters, finished upstream tasks, its trigger).
    retryable: bool = True


@dataclass(frozen=True, slots=True)
class ForEachStarted:
    """A for-each's inputs were resolved to a JSON array (`inputs`); iterations may start."""

    at: datetime
    seq: int
    inputs: str


@dataclass(frozen=True, slots=True)
class RepairRequested:
    """Rerun `task_keys` inside this terminal run, with the settings of `job_version`."""

    at: datetime
    repair_id: int
    job_version: int
    task_keys: tuple[str, ...]
    rerun_dependents: bool = False
    previous_version: int | None = None  # the job version the run ran until this repair


@dataclass(frozen=True, slots=True)
class TaskLost:
    """An attempt's process was found gone (after an engine restart, or with the cluster
    worker that ran it); it counts as failed. `message` says why, when known."""

    at: datetime
    seq: int
    message: str | None = None


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer set by `SetTimer` is due."""

    at: datetime
    key: str


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """A user asked to cancel the run, or one task of it (`task_key`)."""

    at: datetime
    task_key: str | None = None


@dataclass(frozen=True, slots=True)
class JobTimeoutChanged:
    """The job's `timeout_seconds` changed while the run was active (0: no timeout); it
    bounds the run from now on, counted from the run's start (or its repair's)."""

    at: datetime
    timeout_seconds: int


@dataclass(frozen=True, slots=True)
class EngineFailed:
    """The engine met an error of its own (a bug) while driving the run: the run is stopped
    as failed, with the error in its message, instead of being driven on a broken state."""

    at: datetime
    message: str


Event = (
    RunStarted
    | ForEachStarted
    | RepairRequested
    | TaskStarted
    | TaskSucceeded
    | TaskFailed
    | TaskLost
    | TimerFired
    | CancelRequested
    | JobTimeoutChanged
    | EngineFailed
)

_EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        RunStarted,
        ForEachStarted,
        RepairRequested,
        TaskStarted,
        TaskSucceeded,
        TaskFailed,
        TaskLost,
        TimerFired,
        CancelRequested,
        JobTimeoutChanged,
        EngineFailed,
    )
}


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls) if f.name != "at") for cls in _EVENT_TYPES.values()
}


def could_not_start(why: object) -> str:
    """The message of an attempt that could not start, as the engine and a simulation word it."""
    return f"The task could not start: {why}"


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict: `{"type": "TaskFailed", "at": "2026-...", ...}`.

    Field by field, not `asdict`: every field is a scalar, a string or a tuple of strings,
    and `asdict` deep-copies each (a quarter of a millisecond per event)."""
    body: dict[str, Any] = {"type": type(event).__name__, "at": event.at.isoformat()}
    for name in _FIELD_NAMES[type(event)]:
        value = getattr(event, name)
        body[name] = list(value) if isinstance(value, tuple) else value
    return body


def event_from_dict(data: dict[str, Any]) -> Event:
    """The inverse of `event_to_dict`."""
    cls = _EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    values["at"] = datetime.fromisoformat(values["at"])
    if "task_keys" in values:
        values["task_keys"] = tuple(values["task_keys"])
    event: Event = cls(**values)
    return event


# Commands: what the engine must do after persisting a decision.


@dataclass(frozen=True, slots=True)
class StartTask:
    """Launch the attempt `seq` (a runner builds the process, an executor starts it)."""

    seq: int


@dataclass(frozen=True, slots=True)
class KillTask:
    """Kill the attempt's whole process tree; its exit will come back as an event."""

    seq: int
    reason: ResultState


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Deliver `TimerFired(key)` at `at` (or at once if that is past)."""

    key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Forget a timer that is no longer needed."""

    key: str


@dataclass(frozen=True, slots=True)
class FinishRun:
    """The run reached its terminal state; the engine may stop its loop."""

    result: ResultState


Command = StartTask | KillTask | SetTimer | CancelTimer | FinishRun
