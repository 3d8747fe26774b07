"""A what-if scenario (what goes wrong in a simulated run) and its check against the job.

Every problem is reported at once, each naming the scenario field (the CLI option), the value
and what to do: `fail bronze_ingst: no task 'bronze_ingst' (did you mean 'bronze_ingest'?)`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from headwater.core.new_run import job_parameters
from headwater.core.plan import Plan, PlannedTask, for_each_running
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest

# The simulation's cost grows with the square of the attempts (each decision looks over every
# attempt so far), so it stops at a number of attempts no real retry policy reaches, in seconds.
MAX_ATTEMPTS = 2_000


@dataclass(frozen=True)
class Scenario:
    """What goes wrong in a simulated run; every other attempt succeeds, at once.

    `fail` and `timeout` map a task key to how many of its first attempts fail or hang until
    their timeout stops them (None: every attempt). For a for-each task they apply to every
    iteration; `fail_iterations` fails single iterations (loop key -> index -> attempts).
    `outcomes` picks the branch of condition tasks (True: "true"); `iterations` says how many
    iterations a for-each runs; `durations` how long each attempt of a task takes (default
    0); `cancel_at` cancels the run while that task runs (its first attempt runs until the
    cancel stops it); `parameters` override job parameters as `--param` does.
    """

    fail: Mapping[str, int | None] = field(default_factory=dict)
    timeout: Mapping[str, int | None] = field(default_factory=dict)
    outcomes: Mapping[str, bool] = field(default_factory=dict)
    iterations: Mapping[str, int] = field(default_factory=dict)
    fail_iterations: Mapping[str, Mapping[int, int | None]] = field(default_factory=dict)
    durations: Mapping[str, timedelta] = field(default_factory=dict)
    cancel_at: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    """One part of a scenario that does not fit the job."""

    part: str  # the Scenario field: fail, timeout, outcomes, ...
    value: str  # the task key (or parameter name) it names; "" for the scenario as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.part} {self.value}: {self.message}" if self.value else (
            f"{self.part}: {self.message}")


class ScenarioError(InvalidRequest):
    """Raised when a what-if scenario does not fit its job; `problems` lists every misfit."""

    def __init__(self, problems: list[ScenarioProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def check_scenario(settings: JobSettings, plan: Plan, scenario: Scenario) -> None:
    """Raises:
    ScenarioError: listing every problem of `scenario` for this job."""
    problems = [*_check_keys(plan, scenario), *_check_troubles(settings, plan, scenario),
                *_check_branches(plan, scenario)]
    try:
        job_parameters(settings, scenario.parameters)
    except InvalidRequest as error:
        problems.append(ScenarioProblem("parameters", ", ".join(scenario.parameters),
                                        str(error)))
    if problems:
        raise ScenarioError(problems)


def _check_keys(plan: Plan, scenario: Scenario) -> list[ScenarioProblem]:
    named = {"fail": scenario.fail, "timeout": scenario.timeout, "outcomes": scenario.outcomes,
             "iterations": scenario.iterations, "fail_iterations": scenario.fail_iterations,
             "durations": scenario.durations,
             "cancel_at": [scenario.cancel_at] if scenario.cancel_at else []}
    return [ScenarioProblem(name, key, _unknown_task(plan, key))
            for name, keys in named.items() for key in keys if key not in plan.tasks]


def _unknown_task(plan: Plan, key: str) -> str:
    if (loop := for_each_running(plan, key)) is not None:
        return (f"{key!r} is the task of the for-each {loop.key!r}: name the loop (every "
                f"iteration), or one iteration as {loop.key}:INDEX")
    close = difflib.get_close_matches(key, list(plan.tasks), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"no task {key!r} in the job{hint}"


def _check_troubles(settings: JobSettings, plan: Plan,
                    scenario: Scenario) -> list[ScenarioProblem]:
    problems = []
    for name, troubles in (("fail", scenario.fail), ("timeout", scenario.timeout)):
        for key, attempts in troubles.items():
            task = plan.tasks.get(key)
            if task is None:
                continue
            message = _trouble_problem(name, task, attempts, plan, scenario)
            if message:
                problems.append(ScenarioProblem(name, key, message))
    for key in set(scenario.fail) & set(scenario.timeout):
        problems.append(ScenarioProblem("timeout", key, "fail names it too: choose one"))
    cancel = plan.tasks.get(scenario.cancel_at or "")
    if cancel is not None and cancel.kind == "condition_task":
        problems.append(ScenarioProblem("cancel_at", cancel.key, "a condition is evaluated at "
                                        "once: a cancel cannot catch it running"))
    for key, duration in scenario.durations.items():
        task = plan.tasks.get(key)
        if duration < timedelta(0):
            problems.append(ScenarioProblem("durations", key, "a duration cannot be negative"))
        elif task is not None and task.kind == "condition_task":
            problems.append(ScenarioProblem("durations", key, "a condition is evaluated at "
                                            "once: it takes no time"))
    return problems


def _trouble_problem(name: str, task: PlannedTask, attempts: int | None, plan: Plan,
                     scenario: Scenario) -> str | None:
    """Why `task` cannot fail (or time out) as asked, or None."""
    runs = task.nested or task  # a loop's iterations run its nested task
    if attempts is not None and attempts < 1:
        return "the number of attempts must be at least 1"
    if task.disabled:
        return "the task is disabled: it never runs, so it cannot fail"
    if name == "timeout" and task.kind == "condition_task":
        return "a condition is evaluated at once: it cannot time out"
    if name == "timeout" and runs.timeout is None and plan.timeout is None:
        return (f"neither the task nor the job has timeout_seconds: an attempt that hangs "
                f"runs forever (set {runs.key}.timeout_seconds)")
    forever = runs.retry.max_retries == -1 and attempts is None
    if forever and (name == "fail" or runs.retry.retry_on_timeout):
        waits = runs.retry.min_interval or scenario.durations.get(task.key) or runs.timeout
        if plan.timeout is None or not waits:
            return ("the task retries forever (max_retries: -1), so it never fails for good: "
                    f"say how many attempts fail, as {task.key}:N")
    return None


def _check_branches(plan: Plan, scenario: Scenario) -> list[ScenarioProblem]:
    problems = [ScenarioProblem("outcomes", key, f"not a condition task (it is a {task.kind}): "
                                "only conditions branch")
                for key in scenario.outcomes
                if (task := plan.tasks.get(key)) is not None and task.kind != "condition_task"]
    problems += [ScenarioProblem(part, key, f"not a for-each task (it is a {task.kind})")
                 for part, keys in (("iterations", scenario.iterations),
                                    ("fail_iterations", scenario.fail_iterations))
                 for key in keys
                 if (task := plan.tasks.get(key)) is not None and task.kind != "for_each_task"]
    problems += [ScenarioProblem("iterations", key, "cannot be negative")
                 for key, count in scenario.iterations.items() if count < 0]
    problems += [ScenarioProblem("iterations", key, f"at most {MAX_ATTEMPTS:,}: a simulated "
                                 f"run stops at {MAX_ATTEMPTS:,} attempts")
                 for key, count in scenario.iterations.items() if count > MAX_ATTEMPTS]
    for key, failing in scenario.fail_iterations.items():
        task = plan.tasks.get(key)
        count = scenario.iterations.get(key)
        if count is None and task is not None:
            count = literal_count(task)
        problems += [ScenarioProblem("fail_iterations", f"{key}:{index}", message)
                     for index in failing if (message := _index_problem(index, count))]
    return problems


def _index_problem(index: int, count: int | None) -> str | None:
    if index < 0:
        return "an iteration's index is 0 or more"
    if count is not None and index >= count:
        return (f"the loop runs {count} iteration{'s' if count != 1 else ''}"
                + (f" (indexes 0 to {count - 1})" if count else ""))
    return None


def literal_count(task: PlannedTask) -> int | None:
    """How many iterations a for-each runs when its inputs are a literal JSON array."""
    loop = task.spec.for_each_task
    if loop is None or "{{" in loop.inputs:
        return None
    try:
        items = json.loads(loop.inputs)
    except json.JSONDecodeError:
        return None
    return len(items) if isinstance(items, list) else None


__all__ = ["MAX_ATTEMPTS", "Scenario", "ScenarioError", "ScenarioProblem", "check_scenario",
           "literal_count"]
