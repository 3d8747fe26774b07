"""A discrete-event simulation of one run: the engine's part played on a fake clock, with no
processes and no store, fed to the real `decide`.

`simulate` keeps a queue of future events ordered by their instant (first in, first out at the
same instant). It applies each to `decide` and carries out the commands as an engine would:
a `StartTask` becomes the attempt's start and its scripted end, a `SetTimer` a future
`TimerFired`, a `KillTask` the attempt's end. Conditions and for-each expansions go through
the same `core/inline.py` functions as the engine's launcher.

What the world outside `decide` does is a `World`: how each attempt ends (`Script`), what an
inline task comes to, and what else happens after a decision (a cancel, a duration-warning
timer). `ScriptedWorld` is the plain one: scripts by task key, operands taken literally;
`core/whatif.py` brings a richer one. Nothing here reads a clock or touches the system.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from headwater.core.events import (
    CancelRequested,
    CancelTimer,
    Command,
    Event,
    FinishRun,
    KillTask,
    RunStarted,
    SetTimer,
    StartTask,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.inline import INLINE_KINDS, inline_events
from headwater.core.machine import Decision, decide, initial_state
from headwater.core.plan import Plan
from headwater.core.runstate import RunState, TaskRun

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCRIPTED_FAILURE = "scripted failure"


@dataclass(frozen=True, slots=True)
class Script:
    """What each attempt of a task does: "ok", "fail" or "hang" (runs until killed).

    Attempt n follows `outcomes[n]`, the last outcome repeating; an attempt that ends by itself
    takes `duration`, and a failed one ends with `message` and `exit_code`.
    """

    outcomes: Sequence[str] = ("ok",)
    duration: timedelta = timedelta(seconds=1)
    message: str = SCRIPTED_FAILURE
    exit_code: int = 1

    def outcome(self, attempt: int) -> str:
        return self.outcomes[min(attempt, len(self.outcomes) - 1)]


class World(Protocol):
    """What happens outside `decide` in a simulated run."""

    def start_error(self, state: RunState, run: TaskRun) -> str | None:
        """Why the attempt `run` could not start, as the engine would say it; None: it starts."""
        ...

    def script(self, state: RunState, run: TaskRun) -> Script:
        """How the attempt `run` (a task's, or a for-each iteration's) behaves."""
        ...

    def inline(self, state: RunState, run: TaskRun, now: datetime) -> list[Event]:
        """The events of a condition or for-each task started at `now`."""
        ...

    def after(self, old: RunState, event: Event, decision: Decision) -> list[Event]:
        """Events that a decision brings about besides its commands (at their own instants)."""
        ...


@dataclass(frozen=True, slots=True)
class ScriptedWorld:
    """Scripts by task key (a for-each's iterations share their nested task's), tasks without
    one succeed after a second, and conditions and for-each inputs are taken as written."""

    scripts: Mapping[str, Script] = field(default_factory=dict)

    def start_error(self, state: RunState, run: TaskRun) -> str | None:
        return None

    def script(self, state: RunState, run: TaskRun) -> Script:
        return self.scripts.get(run.task_key, Script())

    def inline(self, state: RunState, run: TaskRun, now: datetime) -> list[Event]:
        return inline_events(state.task_of(run).spec, run.seq, now, None)

    def after(self, old: RunState, event: Event, decision: Decision) -> list[Event]:
        return []


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
    world: World | None = None,
    kill_delay: timedelta = timedelta(milliseconds=10),
) -> Simulation:
    """Run `plan` to its end (or for `max_events` events) in `world`.

    Without a `world`, tasks not in `scripts` succeed after one second. `cancel_at` cancels
    the run that long after it started; `kill_delay` is how long a killed attempt takes to end.
    """
    return _Simulator(plan, world or ScriptedWorld(scripts or {}), kill_delay).run(
        cancel_at, max_events)


class _Simulator:
    """The event queue, the timers that are set, and the simulation being built."""

    def __init__(self, plan: Plan, world: World, kill_delay: timedelta) -> None:
        self.world, self.kill_delay = world, kill_delay
        self.queue: list[tuple[datetime, int, Event]] = []
        self.order = itertools.count()
        self.timers: dict[str, datetime | None] = {}  # set by `decide`; None once cancelled
        self.sim = Simulation(initial_state(plan))

    def push(self, event: Event) -> None:
        heapq.heappush(self.queue, (event.at, next(self.order), event))

    def run(self, cancel_at: timedelta | None, max_events: int) -> Simulation:
        sim = self.sim
        self.push(RunStarted(T0))
        if cancel_at is not None:
            self.push(CancelRequested(T0 + cancel_at))
        while self.queue and len(sim.events) < max_events:
            _, _, event = heapq.heappop(self.queue)
            if self.stale(event):
                continue
            old = sim.state
            decision = decide(old, event)
            sim.events.append(event)
            sim.state = decision.state
            for command in decision.commands:
                self.perform(command, event.at)
            for extra in self.world.after(old, event, decision):
                self.push(extra)
            if sim.state.is_terminal and not self.attempts_pending():
                break
        return sim

    def stale(self, event: Event) -> bool:
        """A timer cancelled or set again since, or a cancel of a run that has ended."""
        if isinstance(event, TimerFired) and event.key in self.timers:
            return self.timers[event.key] != event.at
        return isinstance(event, CancelRequested) and self.sim.state.is_terminal

    def attempts_pending(self) -> bool:
        return any(isinstance(e, (TaskSucceeded, TaskFailed)) for _, _, e in self.queue)

    def perform(self, command: Command, now: datetime) -> None:
        match command:
            case StartTask(seq=seq):
                self.start(self.sim.state.task_runs[seq], now)
            case KillTask(seq=seq):
                self.push(TaskFailed(now + self.kill_delay, seq, "killed", None))
            case SetTimer(key=key, at=at):
                self.timers[key] = at
                self.push(TimerFired(at, key))
            case CancelTimer(key=key):
                self.timers[key] = None
            case FinishRun():
                pass

    def start(self, run: TaskRun, now: datetime) -> None:
        state = self.sim.state
        if state.task_of(run).kind in INLINE_KINDS:
            for event in self.world.inline(state, run, now):
                self.push(event)
            return
        if (error := self.world.start_error(state, run)) is not None:
            self.push(TaskFailed(now, run.seq, error, retryable=False))
            return
        script = self.world.script(state, run)
        self.push(TaskStarted(now, run.seq, f"sim:{run.seq}"))
        self.sim.started.append((run.task_key, run.attempt_number, now))
        outcome = script.outcome(run.attempt_number)
        end = now + script.duration
        if outcome == "ok":
            self.push(TaskSucceeded(end, run.seq))
        elif outcome == "fail":
            self.push(TaskFailed(end, run.seq, script.message, script.exit_code))


def replay(plan: Plan, events: Sequence[Event]) -> RunState:
    """The state that `events` produce from a fresh run of `plan`."""
    state = initial_state(plan)
    for event in events:
        state = decide(state, event).state
    return state


__all__ = ["SCRIPTED_FAILURE", "T0", "Script", "ScriptedWorld", "Simulation", "World", "replay",
           "simulate"]
