"""What-if: what a run of a job would show when tasks fail, time out or are cancelled, decided
by the real `decide` on a simulated clock, in milliseconds, with nothing run and nothing stored.

A `Scenario` says what goes wrong; every other attempt succeeds at once (tasks take no time
unless `durations` says otherwise), so the wall time comes from the retry intervals and the
timeouts. `simulate_run(settings, scenario)` returns a `SimulatedRun` (`whatif_results.py`):
each task's attempts, states and messages, the run's state, the alerts and to whom.

Conditions and for-each inputs are evaluated as the engine evaluates them, with the same
functions (`core/inline.py`), once their references are resolved. The simulation knows the job
parameters (defaults and `scenario.parameters`), the job's name, and every task's
`result_state`, `error_code` and `execution_count`; it cannot know task values, run ids or
times. A condition whose operands need what it cannot know takes the branch in
`scenario.outcomes`, else the `true` branch; a for-each whose inputs it cannot know runs
`scenario.iterations` iterations, else as many as `fail_iterations` needs (at least one).
Each such choice is an `Assumption` of the result, so nobody mistakes it for a fact.

A failed attempt ends as a process that exited with code 1 ends, with the same message; a
condition told to fail fails with `CONDITION_FAILURE`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from headwater.core.events import (
    CancelRequested,
    Event,
    ForEachStarted,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
    could_not_start,
)
from headwater.core.inline import INLINE_HANDLE, condition_events, for_each_events
from headwater.core.machine import Decision
from headwater.core.new_run import job_parameters
from headwater.core.notifications import RunContext, duration_watches, notifications
from headwater.core.plan import Plan, build_plan
from headwater.core.refs import ReferenceError
from headwater.core.runstate import RunState, TaskRun
from headwater.core.simulation import T0, Script, simulate
from headwater.core.spec import JobSettings, Task
from headwater.core.whatif_refs import resolve_known, unknown_reference, unrun_reference
from headwater.core.whatif_results import (
    Assumption,
    SimulatedAlert,
    SimulatedAttempt,
    SimulatedRun,
    SimulatedTask,
)
from headwater.core.whatif_scenario import (
    MAX_ATTEMPTS,
    Scenario,
    ScenarioError,
    ScenarioProblem,
    check_scenario,
)

FAILURE_MESSAGE = "The task's process exited with code 1."  # as the engine words an exit 1
CONDITION_FAILURE = "The condition could not be evaluated (a simulated failure)."


def simulate_run(settings: JobSettings, scenario: Scenario | None = None) -> SimulatedRun:
    """What a run of `settings` would show in `scenario` (by default: everything succeeds).

    Raises:
        PlanError: when the job cannot be planned (a cycle, an unknown dependency).
        ScenarioError: listing every part of the scenario that does not fit the job.
    """
    chosen = scenario or Scenario()
    plan = build_plan(settings)
    check_scenario(settings, plan, chosen)
    world = ScenarioWorld(settings, chosen, job_parameters(settings, chosen.parameters))
    # Every attempt is at most a start, an end, a timeout and a duration warning, and every
    # event of the run itself fits in the rest: the attempt cap ends the simulation first.
    sim = simulate(plan, world=world, max_events=10 * MAX_ATTEMPTS, kill_delay=timedelta(0))
    return summary(settings, sim.state, world)


def too_many_attempts(run: TaskRun) -> ScenarioError:
    key = run.task_key if run.iteration is None else f"{run.task_key}[{run.iteration}]"
    return ScenarioError([ScenarioProblem(
        "scenario", "", f"the simulated run reached {MAX_ATTEMPTS:,} attempts ({key} was "
        f"starting attempt {run.attempt_number}) without ending: fail fewer attempts, or give "
        f"the job a shorter timeout")])


@dataclass
class ScenarioWorld:
    """The world of a what-if run (a `core.simulation.World`): attempts by the scenario,
    inline tasks resolved as far as known, and what each decision sends as alerts."""

    settings: JobSettings
    scenario: Scenario
    parameters: Mapping[str, str]
    alerts: list[SimulatedAlert] = field(default_factory=list)
    assumptions: dict[str, Assumption] = field(default_factory=dict)
    armed: set[str] = field(default_factory=set)
    canceled: bool = False
    attempts: int = 0

    context: RunContext = field(init=False)

    def __post_init__(self) -> None:
        self.context = RunContext(0, 0, self.settings.name or "", "simulation", "ONE_TIME",
                                  dict(self.parameters))

    def start_error(self, state: RunState, run: TaskRun) -> str | None:
        error = unrun_reference(state.task_of(run).spec, self.settings.name or "",
                                self.parameters, state, run)
        return None if error is None else could_not_start(error)

    def script(self, state: RunState, run: TaskRun) -> Script:
        self.attempts += 1
        if self.attempts > MAX_ATTEMPTS:
            raise too_many_attempts(run)
        scenario = self.scenario
        key = loop_key(state, run) or run.task_key
        duration = scenario.durations.get(key, timedelta(0))
        if key == scenario.cancel_at and not self.canceled:
            return Script(("hang",), duration, FAILURE_MESSAGE)  # until the cancel stops it
        per_iteration = scenario.fail_iterations.get(key, {})
        if run.iteration is not None and run.iteration in per_iteration:
            return _script("fail", per_iteration[run.iteration], run, duration)
        if key in scenario.fail:
            return _script("fail", scenario.fail[key], run, duration)
        if key in scenario.timeout:
            return _script("hang", scenario.timeout[key], run, duration)
        return Script(("ok",), duration, FAILURE_MESSAGE)

    def inline(self, state: RunState, run: TaskRun, now: datetime) -> list[Event]:
        spec = state.task_of(run).spec
        if spec.condition_task is not None:
            return self.condition(state, run, spec, now)
        return self.loop(state, run, spec, now)

    def condition(self, state: RunState, run: TaskRun, spec: Task, now: datetime) -> list[Event]:
        assert spec.condition_task is not None
        key, seq = run.task_key, run.seq
        started = TaskStarted(now, seq, INLINE_HANDLE)
        if key in self.scenario.fail:
            return [started, TaskFailed(now, seq, CONDITION_FAILURE)]
        if key in self.scenario.outcomes:
            return [started, TaskSucceeded(now, seq, outcome=_branch(self.scenario.outcomes[key]))]
        operands = [spec.condition_task.left, spec.condition_task.right]
        unknown = next((u for text in operands
                        if (u := unknown_reference(text, self.parameters)) is not None), None)
        if unknown is not None:
            self.assume(Assumption(key, "outcome", "true",
                                   f"{unknown} is known only at run time"))
            return [started, TaskSucceeded(now, seq, outcome="true")]
        try:
            resolved = resolve_known(spec, self.settings.name or "", self.parameters, state, run)
        except ReferenceError as error:
            return [TaskFailed(now, seq, str(error), retryable=False)]
        return condition_events(resolved, seq, now, None)

    def loop(self, state: RunState, run: TaskRun, spec: Task, now: datetime) -> list[Event]:
        assert spec.for_each_task is not None
        key, seq = run.task_key, run.seq
        if key in self.scenario.iterations:
            count = self.scenario.iterations[key]
            return [ForEachStarted(now, seq, json.dumps(list(range(count))))]
        unknown = unknown_reference(spec.for_each_task.inputs, self.parameters)
        if unknown is not None:
            count = max(self.scenario.fail_iterations.get(key, {}), default=0) + 1
            self.assume(Assumption(key, "iterations", str(count),
                                   f"{unknown} is known only at run time"))
            return [ForEachStarted(now, seq, json.dumps(list(range(count))))]
        try:
            resolved = resolve_known(spec, self.settings.name or "", self.parameters, state, run)
        except ReferenceError as error:
            return [TaskFailed(now, seq, str(error), retryable=False)]
        return for_each_events(resolved, seq, now)

    def assume(self, assumption: Assumption) -> None:
        self.assumptions.setdefault(assumption.task_key, assumption)

    def after(self, old: RunState, event: Event, decision: Decision) -> list[Event]:
        """Record the alerts of the decision; arm duration warnings; cancel when asked."""
        new = decision.state
        for note in notifications(self.settings, self.context, old, new, decision.changed,
                                  event):
            self.alerts.append(SimulatedAlert(note.event, note.task_key, note.attempt,
                                              note.at - T0, note.result, note.emails,
                                              note.destinations))
        extra: list[Event] = []
        for watch in duration_watches(self.settings, new, decision.changed):
            if watch.key not in self.armed:
                self.armed.add(watch.key)
                extra.append(TimerFired(watch.at, watch.key))
        if self.cancels_at(new, event):
            self.canceled = True
            extra.append(CancelRequested(event.at))
        return extra

    def cancels_at(self, state: RunState, event: Event) -> bool:
        if self.canceled or not isinstance(event, (TaskStarted, ForEachStarted)):
            return False
        run = state.task_runs[event.seq]
        return run.parent_seq is None and run.task_key == self.scenario.cancel_at


def loop_key(state: RunState, run: TaskRun) -> str | None:
    """The for-each task an iteration belongs to; None for any other task run."""
    return None if run.parent_seq is None else state.task_runs[run.parent_seq].task_key


def _script(trouble: str, attempts: int | None, run: TaskRun, duration: timedelta) -> Script:
    """The script of `run`: `trouble` ("fail" or "hang") when it is one of the first
    `attempts` attempts (None: every one), else success. One outcome per attempt, so a count
    as large as 10**9 costs nothing."""
    troubled = attempts is None or run.attempt_number < attempts
    return Script((trouble if troubled else "ok",), duration, FAILURE_MESSAGE)


def _branch(outcome: bool) -> str:
    return "true" if outcome else "false"


# -- the result ------------------------------------------------------------------------------


def summary(settings: JobSettings, state: RunState, world: ScenarioWorld) -> SimulatedRun:
    """The `SimulatedRun` of a finished simulation."""
    plan = state.plan
    start = state.start_time or T0
    attempts: dict[str, list[TaskRun]] = defaultdict(list)
    iterations: dict[int, list[TaskRun]] = defaultdict(list)
    for run in sorted(state.task_runs.values(), key=lambda r: r.seq):  # one pass, not one a task
        if run.parent_seq is not None:
            iterations[run.parent_seq].append(run)
        elif run.iteration is None:
            attempts[run.task_key].append(run)
    tasks = tuple(_task(attempts[key], iterations, start) for key in plan.order)
    end = state.end_time or start
    return SimulatedRun(
        job_name=settings.name or "", life_cycle_state=state.life_cycle,
        result_state=state.result, state_message=state.message, tasks=tasks,
        alerts=tuple(world.alerts), assumptions=_in_order(plan, world.assumptions),
        wall_time=end - start, notes=_unused(world, {task.task_key: task for task in tasks}))


def _unused(world: ScenarioWorld, tasks: Mapping[str, SimulatedTask]) -> tuple[str, ...]:
    """What the scenario asked about tasks that never ran, so it made no difference."""
    scenario = world.scenario
    asked = [(scenario.fail, "it did not fail"), (scenario.timeout, "it did not time out"),
             (scenario.outcomes, "its branch made no difference"),
             ({**scenario.iterations, **scenario.fail_iterations}, "it ran no iterations")]
    notes = [f"{key} did not run, so {what}" for keys, what in asked for key in keys
             if not tasks[key].ran]
    if scenario.cancel_at is not None and not world.canceled:
        notes.append(f"{scenario.cancel_at} did not run, so the run was not cancelled")
    return tuple(dict.fromkeys(notes))


def _task(attempts: Sequence[TaskRun], iterations: Mapping[int, Sequence[TaskRun]],
          start: datetime) -> SimulatedTask:
    """A task from its attempts (oldest first) and the iterations of each (`iterations`, by
    the attempt's seq), as `RunState.attempts` and `RunState.iterations` order them."""
    ran = [i for a in attempts
           for i in sorted(iterations.get(a.seq, ()),
                           key=lambda r: (r.iteration or 0, r.attempt_number))]
    return SimulatedTask(
        task_key=attempts[-1].task_key, attempts=tuple(_attempt(a, start) for a in attempts),
        condition_outcome=attempts[-1].condition_outcome,
        iterations=tuple(_attempt(i, start) for i in ran))


def _attempt(run: TaskRun, start: datetime) -> SimulatedAttempt:
    return SimulatedAttempt(
        task_key=run.task_key, attempt_number=run.attempt_number, life_cycle_state=run.life_cycle,
        result_state=run.result, state_message=run.message,
        start=None if run.start_time is None else run.start_time - start,
        end=None if run.end_time is None else run.end_time - start, iteration=run.iteration)


def _in_order(plan: Plan, found: Mapping[str, Assumption]) -> tuple[Assumption, ...]:
    return tuple(found[key] for key in plan.order if key in found)


__all__ = ["CONDITION_FAILURE", "FAILURE_MESSAGE", "Scenario", "ScenarioWorld", "simulate_run",
           "summary"]
