"""A job page's What if panel: the scenario its form asks for, what the form offers, and a
simulated run (`core/whatif.py`) as the page shows it: the graph's nodes in their simulated
states, a line for the run, a row per task, the alerts and the assumptions.

The form's fields, as the query of `GET /jobs/{id}/whatif` (a link to a scenario can be
shared): `fail=TASK` and `timeout=TASK` (every attempt fails, or hangs until its timeout
stops it: the task fails for good, after all its retries), `outcome:CONDITION=true|false`
(a branch the simulation cannot work out), `iterations:LOOP=N` (how many iterations a for-each
runs when its inputs cannot be worked out), `fail_iteration:LOOP=I` (iteration I fails after
all its retries), `slow=TASK` with `seconds=N` (each attempt of TASK takes N seconds: does a
timeout or a duration warning fire?), `cancel_at=TASK` (the run is cancelled when TASK
starts), `parameter:NAME=VALUE` (a job parameter, as Run now takes it). An empty field asks
for nothing. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from headwater.core.plan import Plan
from headwater.core.whatif_results import SimulatedRun, SimulatedTask
from headwater.core.whatif_scenario import Scenario, ScenarioError, ScenarioProblem
from headwater.core.whatif_sweep import MAX_SWEPT_TASKS, FailureCase
from headwater.web.forms import Form
from headwater.web.views.graph import NodeState
from headwater.web.views.states import Shown, shown

OUTCOME, PARAMETER = "outcome:", "parameter:"
ITERATIONS, FAIL_ITERATION = "iterations:", "fail_iteration:"


@dataclass(frozen=True, slots=True)
class WhatIfChoices:
    """What the form offers for a job: the tasks that can fail, those that can time out (the
    task or the job has a timeout), the conditions whose branch can be chosen, the for-each
    loops, and the tasks that take time (can be slow, or running when a cancel comes)."""

    failing: tuple[str, ...]
    timing_out: tuple[str, ...]
    conditions: tuple[str, ...]
    every_failure: bool = True  # whether the every-failure table is offered (MAX_SWEPT_TASKS)
    loops: tuple[str, ...] = ()
    running: tuple[str, ...] = ()


def whatif_choices(plan: Plan) -> WhatIfChoices:
    """The choices of `plan`'s tasks, in run order."""
    tasks = [plan.tasks[key] for key in plan.order]
    failing = tuple(task.key for task in tasks if not task.disabled)
    timing_out = tuple(task.key for task in tasks if not task.disabled
                       and task.kind != "condition_task"
                       and ((task.nested or task).timeout or plan.timeout))
    conditions = tuple(task.key for task in tasks if task.kind == "condition_task")
    loops = tuple(task.key for task in tasks if not task.disabled and task.nested is not None)
    running = tuple(key for key in failing if key not in conditions)
    return WhatIfChoices(failing, timing_out, conditions, len(plan.tasks) <= MAX_SWEPT_TASKS,
                         loops, running)


def scenario_of(query: Form) -> Scenario:
    """The scenario the form (or a link) asks for.

    Raises:
        ScenarioError: naming each field whose value is not one the form offers.
    """
    problems = []
    outcomes: dict[str, bool] = {}
    for key, value in query.with_prefix(OUTCOME).items():
        if value in ("true", "false"):
            outcomes[key] = value == "true"
        elif value:
            problems.append(ScenarioProblem("outcomes", key, f"{value!r} is not a branch: "
                                            "choose true or false"))
    iterations = _counts(query.with_prefix(ITERATIONS), "iterations", 1, problems)
    failing = _counts(query.with_prefix(FAIL_ITERATION), "fail_iterations", 0, problems)
    slow, seconds = query.get("slow"), query.get("seconds")
    if slow and not seconds:
        problems.append(ScenarioProblem("durations", slow, "give the seconds each attempt "
                                        "takes"))
    durations = _counts({slow: seconds} if slow else {}, "durations", 0, problems)
    if problems:
        raise ScenarioError(problems)
    return Scenario(fail=dict.fromkeys(_named(query, "fail")),
                    timeout=dict.fromkeys(_named(query, "timeout")), outcomes=outcomes,
                    iterations=iterations,
                    fail_iterations={key: {index: None} for key, index in failing.items()},
                    durations={key: timedelta(seconds=n) for key, n in durations.items()},
                    cancel_at=query.get("cancel_at") or None,
                    parameters=query.with_prefix(PARAMETER))


def _counts(fields: Mapping[str, str], part: str, least: int,
            problems: list[ScenarioProblem]) -> dict[str, int]:
    """The whole numbers of at least `least` in `fields` (key -> text); a problem of `part`
    for each other non-empty value."""
    counts = {}
    for key, text in fields.items():
        value = text.strip()
        if value.isascii() and value.isdigit() and len(value) <= 9 and int(value) >= least:
            counts[key] = int(value)
        elif value:
            problems.append(ScenarioProblem(part, key, f"{value!r} is not a whole number of at "
                                            f"least {least}"))
    return counts


def scenario_query(scenario: Scenario, defaults: Mapping[str, str]) -> str:
    """The query that asks for `scenario` and nothing else (no empty field, no parameter at
    its default `defaults`): the address to push into the browser's history."""
    pairs = [*(("fail", key) for key in scenario.fail),
             *(("timeout", key) for key in scenario.timeout),
             *((OUTCOME + key, "true" if value else "false")
               for key, value in scenario.outcomes.items()),
             *((ITERATIONS + key, str(count)) for key, count in scenario.iterations.items()),
             *((FAIL_ITERATION + key, str(index))
               for key, indexes in scenario.fail_iterations.items() for index in indexes),
             *(pair for key, took in scenario.durations.items()
               for pair in (("slow", key), ("seconds", f"{took.total_seconds():g}"))),
             *((("cancel_at", scenario.cancel_at),) if scenario.cancel_at else ()),
             *((PARAMETER + name, value) for name, value in scenario.parameters.items()
               if defaults.get(name) != value)]
    return urlencode(pairs, safe=":")


def _named(query: Form, field: str) -> list[str]:
    return [key for key in dict.fromkeys(query.all(field)) if key]


def scenario_words(scenario: Scenario) -> str:
    """What goes wrong, in words: `bronze_ingest fails after all its retries`."""
    parts = [f"{key} fails after all its retries" for key in scenario.fail]
    parts += [f"{key} times out on every attempt" for key in scenario.timeout]
    parts += [f"{key} is {'true' if value else 'false'}"
              for key, value in scenario.outcomes.items()]
    parts += [f"{key} runs {count} iteration{'s' if count != 1 else ''}"
              for key, count in scenario.iterations.items()]
    parts += [f"iteration {index} of {key} fails after all its retries"
              for key, indexes in scenario.fail_iterations.items() for index in indexes]
    parts += [f"each attempt of {key} takes {seconds_words(took)}"
              for key, took in scenario.durations.items()]
    if scenario.cancel_at:
        parts.append(f"the run is cancelled when {scenario.cancel_at} starts")
    return "; ".join(parts) or "nothing fails"


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A task of the simulated run as a row: its state, attempts and last message, and the
    branch a condition took or the iterations a for-each ran (`note`)."""

    task_key: str
    shown: Shown
    attempts: int
    note: str
    message: str


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert the run would send, in words."""

    event: str
    about: str
    at: str
    recipients: str


@dataclass(frozen=True, slots=True)
class WhatIfView:
    """A simulated run as the page shows it."""

    scenario: str
    run: Shown
    message: str
    wall_time: str
    nodes: Mapping[str, NodeState]
    tasks: tuple[TaskRow, ...]
    alerts: tuple[AlertRow, ...]
    assumptions: tuple[str, ...]
    notes: tuple[str, ...]


def whatif_view(run: SimulatedRun, scenario: Scenario) -> WhatIfView:
    rows = tuple(_row(task) for task in run.tasks)
    return WhatIfView(
        scenario=scenario_words(scenario),
        run=shown(str(run.result_state or run.life_cycle_state)),
        message=run.state_message, wall_time=seconds_words(run.wall_time),
        nodes={row.task_key: _node(row) for row in rows},
        tasks=rows,
        alerts=tuple(AlertRow(str(alert.event),
                              "the run" if alert.task_key is None else
                              f"{alert.task_key}, attempt {alert.attempt_number}",
                              seconds_words(alert.at),
                              alert.recipients)
                     for alert in run.alerts),
        assumptions=tuple(str(assumption) for assumption in run.assumptions),
        notes=run.notes)


def _row(task: SimulatedTask) -> TaskRow:
    note = ""
    if task.condition_outcome is not None:
        note = f"→ {task.condition_outcome}"
    elif task.iterations:
        iterations = len({attempt.iteration for attempt in task.iterations})
        note = f"{iterations} iteration{'s' if iterations != 1 else ''}"
    return TaskRow(task.task_key, shown(str(task.result_state or task.life_cycle_state)),
                   task.attempt_count, note, task.state_message)


def _node(row: TaskRow) -> NodeState:
    """A task's node: its state, and its branch, iterations or (past one) attempts."""
    attempts = f"{row.attempts} attempts" if row.attempts > 1 else ""
    return NodeState(row.shown, row.note or attempts)


@dataclass(frozen=True, slots=True)
class FailureRow:
    """One task of the every-failure table: what its failure costs and who hears of it."""

    task_key: str
    outcomes: Mapping[str, bool]  # the branches chosen for it to run
    link: str  # the what-if of this failure, with those branches
    reached: bool
    attempts: int
    run: Shown | None
    handled_by: str
    not_run: str
    handled: bool


def failure_rows(cases: Sequence[FailureCase], job_id: int) -> tuple[FailureRow, ...]:
    return tuple(_failure_row(case, job_id) for case in cases)


def _failure_row(case: FailureCase, job_id: int) -> FailureRow:
    failing = Scenario(fail={case.task_key: None}, outcomes=case.outcomes)
    link = f"/jobs/{job_id}/whatif?{scenario_query(failing, {})}"
    if not case.reached:
        return FailureRow(case.task_key, case.outcomes, link, False, 0, None,
                          f"cannot fail here: {case.skipped}", "", True)
    return FailureRow(case.task_key, case.outcomes, link, True, case.attempts,
                      shown(str(case.run.result_state)), "; ".join(case.handled_by) or "nothing",
                      ", ".join(case.not_run), case.handled)


def seconds_words(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"


__all__ = ["AlertRow", "FailureRow", "TaskRow", "WhatIfChoices", "WhatIfView",
           "failure_rows", "scenario_of", "scenario_query", "scenario_words", "whatif_choices",
           "whatif_view"]
