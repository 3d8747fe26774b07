"""Fakes for fast tests: a clock, an executor and a runner that run nothing, and a
discrete-event simulation of a run.

`FakeClock`, `FakeExecutor` (like httpx's `MockTransport`: a handler says how each attempt
ends) and `FakeRunner` let the engine and the service be tested in-process, in milliseconds,
against the real SQLite store: time moves only when the executor waits, and jumps to the next
exit. Several executors may share one `FakeAttempts`, as engines share a machine's processes,
so that one engine can adopt what another launched.

`simulate` plays the engine's part without processes or a store: it feeds `decide` the events
an executor and timers would produce, with scripted outcomes per attempt. Real adapters are
tested for real elsewhere.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from headwater.core.spec import Task
from headwater.ports import AttemptKey, LaunchSpec, TaskContext, TaskExit

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


# -- fakes for the engine and the service --------------------------------------------------


class FakeClock:
    """A clock that moves only when told to (or when a `FakeExecutor` waits)."""

    def __init__(self, start: datetime = T0) -> None:
        self.instant = start

    def now(self) -> datetime:
        return self.instant

    def advance(self, seconds: float) -> None:
        self.instant += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a fake attempt ends: after `seconds`, with an exit code (or never: `hang`)."""

    exit_code: int = 0
    seconds: float = 1.0
    values: Mapping[str, object] | None = None  # task values it sets
    metrics: Mapping[str, float] | None = None  # figures it records
    result: Mapping[str, object] = field(default_factory=dict)  # its result.json
    hang: bool = False  # runs until killed


Handler = Callable[[AttemptKey, LaunchSpec], Outcome]


@dataclass
class FakeAttempt:
    """One attempt in the fake machine: when it ends, and how."""

    key: AttemptKey
    spec: LaunchSpec
    outcome: Outcome
    started: datetime
    ends: datetime | None  # None: hangs until killed
    signal: int | None = None


@dataclass
class FakeAttempts:
    """The attempts of a fake machine, shared by the executors of several engines."""

    launched: dict[AttemptKey, FakeAttempt] = field(default_factory=dict)
    most_at_once: int = 0

    def running(self, now: datetime) -> int:
        return sum(1 for a in self.launched.values() if a.ends is None or a.ends > now)


class FakeExecutor:
    """An executor that runs nothing: `handler(key, spec)` says how each attempt ends.

    Implements `headwater.ports.Executor`. `wait` moves the clock forward to the next exit
    (or by its timeout), so simulated seconds pass in microseconds.
    """

    def __init__(self, clock: FakeClock, handler: Handler | None = None,
                 attempts: FakeAttempts | None = None) -> None:
        self.clock = clock
        self.handler: Handler = handler or (lambda key, spec: Outcome())
        self.attempts = attempts if attempts is not None else FakeAttempts()
        self.watched: set[AttemptKey] = set()

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        if key not in self.attempts.launched:
            outcome = self.handler(key, spec)
            now = self.clock.now()
            ends = None if outcome.hang else now + timedelta(seconds=outcome.seconds)
            self.attempts.launched[key] = FakeAttempt(key, spec, outcome, now, ends)
            self.attempts.most_at_once = max(self.attempts.most_at_once,
                                             self.attempts.running(now))
        self.watched.add(key)
        return f"fake:{key.run_id}:{key.seq}"

    def adopt(self, key: AttemptKey, handle: str | None, attempt_dir: Path) -> str | None:
        if key not in self.attempts.launched:
            return None
        self.watched.add(key)
        return f"fake:{key.run_id}:{key.seq}"

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        attempt = self.attempts.launched.get(key)
        now = self.clock.now()
        if attempt is not None and (attempt.ends is None or attempt.ends > now):
            attempt.ends, attempt.signal = now + timedelta(milliseconds=10), 15

    def release(self, key: AttemptKey) -> None:
        self.watched.discard(key)

    def running(self) -> int:
        return len(self.watched)

    def close(self) -> None:
        self.watched.clear()

    def wait(self, timeout: float) -> list[TaskExit]:
        now = self.clock.now()
        ends = [a.ends for k in self.watched
                if (a := self.attempts.launched[k]).ends is not None]
        due = min(ends, default=None)
        limit = now + timedelta(seconds=timeout)
        if due is None or due > limit:
            self.clock.instant = max(now, limit)
            return []
        self.clock.instant = max(now, due)
        return self.collect()

    def collect(self) -> list[TaskExit]:
        """The exits of watched attempts that have ended by now."""
        now = self.clock.now()
        exits = []
        for key in sorted(self.watched, key=lambda k: (k.run_id, k.seq)):
            attempt = self.attempts.launched[key]
            if attempt.ends is not None and attempt.ends <= now:
                self.watched.discard(key)
                exits.append(_exit(attempt))
        return exits


def _exit(attempt: FakeAttempt) -> TaskExit:
    outcome = attempt.outcome
    values = "".join(json.dumps({"key": k, "value": v}) + "\n"
                     for k, v in (outcome.values or {}).items())
    metrics = "".join(json.dumps({"name": k, "value": v}) + "\n"
                      for k, v in (outcome.metrics or {}).items())
    if attempt.signal is not None:
        return TaskExit(attempt.key, None, attempt.signal, attempt.ends)
    return TaskExit(attempt.key, outcome.exit_code, None, attempt.ends, values=values or None,
                    metrics=metrics or None, result=outcome.result)


class FakeRunner:
    """A runner for every task type that builds a launch of `true`: the executor is fake."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        return LaunchSpec(argv=["true", task.task_key], env={}, cwd=context.workdir,
                          log_path=context.log_path)


def fake_runners() -> dict[str, FakeRunner]:
    """A `FakeRunner` under every task type that runs a process."""
    kinds = ("notebook_task", "spark_python_task", "python_wheel_task", "sql_task",
             "shell_command_task", "python_operator_task", "run_job_task")
    return dict.fromkeys(kinds, FakeRunner())
