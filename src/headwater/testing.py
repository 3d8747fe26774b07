"""Fakes for the pure core's tests: a discrete-event simulation of a run.

`simulate` plays the engine's part without processes or a store: it feeds `decide` the events
an executor and timers would produce, with scripted outcomes per attempt, on a fake clock that
jumps from one due event to the next. Real adapters are tested for real elsewhere.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from headwater.core.conditions import ConditionError, evaluate_condition
from headwater.core.events import (
    CancelRequested,
    CancelTimer,
    Event,
    FinishRun,
    ForEachStarted,
    KillTask,
    RunStarted,
    SetTimer,
    StartTask,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.machine import decide, initial_state
from headwater.core.plan import Plan
from headwater.core.runstate import RunState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Script:
    """What each attempt of a task does: "ok", "fail" or "hang" (runs until killed)."""

    outcomes: Sequence[str] = ("ok",)
    duration: timedelta = timedelta(seconds=1)

    def outcome(self, attempt: int) -> str:
        return self.outcomes[min(attempt, len(self.outcomes) - 1)]


@dataclass
class Simulation:
    """The result: the final state and the full event log that produced it."""

    state: RunState
    events: list[Event] = field(default_factory=list)
    started: list[tuple[str, int, datetime]] = field(default_factory=list)


def simulate(
    plan: Plan,
    scripts: Mapping[str, Script] | None = None,
    cancel_at: timedelta | None = None,
    max_events: int = 100_000,
) -> Simulation:
    """Run `plan` to its end; tasks not in `scripts` succeed after one second."""
    scripts = scripts or {}
    queue: list[tuple[datetime, int, Event]] = []
    order = itertools.count()
    timers: dict[str, datetime] = {}
    sim = Simulation(initial_state(plan))

    def push(event: Event) -> None:
        heapq.heappush(queue, (event.at, next(order), event))

    push(RunStarted(T0))
    if cancel_at is not None:
        push(CancelRequested(T0 + cancel_at))
    while queue and len(sim.events) < max_events:
        _, _, event = heapq.heappop(queue)
        if isinstance(event, TimerFired) and timers.get(event.key) != event.at:
            continue  # cancelled or replaced
        if isinstance(event, CancelRequested) and sim.state.is_terminal:
            continue
        decision = decide(sim.state, event)
        sim.events.append(event)
        sim.state = decision.state
        for command in decision.commands:
            _perform(command, event.at, sim, scripts, timers, push)
        if sim.state.is_terminal and not any(
            isinstance(e, (TaskSucceeded, TaskFailed)) for _, _, e in queue
        ):
            break
    return sim


def _perform(command: object, now: datetime, sim: Simulation, scripts: Mapping[str, Script],
             timers: dict[str, datetime], push: object) -> None:
    assert callable(push)
    match command:
        case StartTask(seq=seq) if _kind(sim, seq) == "condition_task":
            push(_evaluate(sim, seq, now))
        case StartTask(seq=seq) if _kind(sim, seq) == "for_each_task":
            spec = sim.state.plan.tasks[sim.state.task_runs[seq].task_key].spec.for_each_task
            assert spec is not None
            push(ForEachStarted(now, seq, spec.inputs))
        case StartTask(seq=seq):
            run = sim.state.task_runs[seq]
            script = scripts.get(run.task_key, Script())
            push(TaskStarted(now, seq, f"sim:{seq}"))
            sim.started.append((run.task_key, run.attempt_number, now))
            outcome = script.outcome(run.attempt_number)
            end = now + script.duration
            if outcome == "ok":
                push(TaskSucceeded(end, seq))
            elif outcome == "fail":
                push(TaskFailed(end, seq, "scripted failure", 1))
        case KillTask(seq=seq):
            push(TaskFailed(now + timedelta(milliseconds=10), seq, "killed", None))
        case SetTimer(key=key, at=at):
            timers[key] = at
            push(TimerFired(at, key))
        case CancelTimer(key=key):
            timers.pop(key, None)
        case FinishRun():
            pass


def _kind(sim: Simulation, seq: int) -> str:
    run = sim.state.task_runs[seq]
    if run.parent_seq is not None:
        return "iteration"
    return sim.state.plan.tasks[run.task_key].kind


def _evaluate(sim: Simulation, seq: int, now: datetime) -> Event:
    """A condition with literal operands, as the engine evaluates it after resolving them."""
    spec = sim.state.plan.tasks[sim.state.task_runs[seq].task_key].spec.condition_task
    assert spec is not None
    try:
        outcome = evaluate_condition(spec.op, spec.left, spec.right)
    except ConditionError as error:
        return TaskFailed(now, seq, str(error))
    return TaskSucceeded(now, seq, outcome="true" if outcome else "false")


def replay(plan: Plan, events: Sequence[Event]) -> RunState:
    """The state that `events` produce from a fresh run of `plan`."""
    state = initial_state(plan)
    for event in events:
        state = decide(state, event).state
    return state
