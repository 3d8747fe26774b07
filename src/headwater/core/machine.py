"""The reducer: `decide(state, event) -> Decision(state, commands, changed)`.

The whole run semantics live here and in the pure policies it calls (`conditions`, `retry`,
`outcome`): which tasks start, which are skipped and how, when to retry, what a timeout or a
cancel does, how for-each iterations go, what a repair reruns, and how the run ends. The engine
persists each decision and carries out its commands; given the same event log, `decide`
always rebuilds the same state (golden replays rely on that).

Timer keys: `retry:<seq>` (start a waiting attempt), `timeout:<seq>` (an attempt ran too
long), `job-timeout` (the run ran too long).
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.core.events import (
    CancelRequested,
    Command,
    EngineFailed,
    Event,
    ForEachStarted,
    JobTimeoutChanged,
    RepairRequested,
    RunStarted,
    TaskFailed,
    TaskLost,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.plan import Plan
from headwater.core.runstate import RunState
from headwater.core.states import ResultState
from headwater.core.step import Step

LOST_MESSAGE = "the attempt's process was lost: the engine stopped while it ran"


@dataclass(frozen=True, slots=True)
class Decision:
    """The new state, what the engine must do, and which task runs changed (by seq)."""

    state: RunState
    commands: tuple[Command, ...]
    changed: tuple[int, ...]


def initial_state(plan: Plan) -> RunState:
    """A run that was created but has not started."""
    return RunState(plan=plan)


def decide(state: RunState, event: Event) -> Decision:
    """Apply one event to a run; never mutates `state`."""
    step = Step(state)
    _dispatch(step, event)
    if step.run_active:
        step.advance(event.at)
    new_state, commands, changed = step.result()
    return Decision(new_state, commands, changed)


def _dispatch(step: Step, event: Event) -> None:
    match event:
        case RunStarted():
            step.start_run(event.at)
        case TaskStarted():
            step.task_started(event.seq, event.at, event.handle, event.resolved)
        case ForEachStarted():
            step.loop_started(event.seq, event.at, event.inputs)
        case TaskSucceeded() | TaskFailed() | TaskLost():
            _task_ended(step, event)
        case TimerFired():
            step.timer_fired(event.key, event.at)
        case CancelRequested():
            step.cancel(event.task_key, event.at)
        case JobTimeoutChanged():
            step.timeout_changed(event.timeout_seconds, event.at)
        case RepairRequested():
            step.repair(event)
        case EngineFailed():
            step.engine_failed(event.message, event.at)


def _task_ended(step: Step, event: TaskSucceeded | TaskFailed | TaskLost) -> None:
    match event:
        case TaskSucceeded():
            step.task_ended(event.seq, event.at, ResultState.SUCCESS, "", None,
                            event.values, event.outcome)
        case TaskFailed():
            step.task_ended(event.seq, event.at, ResultState.FAILED, event.message,
                            event.exit_code, event.values, None, retryable=event.retryable)
        case TaskLost():
            message = f"the attempt was lost: {event.message}" if event.message \
                else LOST_MESSAGE
            step.task_ended(event.seq, event.at, ResultState.FAILED, message, None, None, None,
                            lost=True)


__all__ = ["LOST_MESSAGE", "Decision", "decide", "initial_state"]
