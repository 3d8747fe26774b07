"""Every failure in turn: is each task's failure handled? (`headwater simulate --all-failures`
and lint rule HW109.)

For each task, the scenario is the caller's plus that task failing every attempt (for a
for-each: every iteration). It is compared with the same scenario where nothing fails (the
*baseline*): the tasks that ran there and not here are what the failure costs (`not_run`),
the tasks that ran here and not there run because of it (`handlers`), and the `on_failure`
alerts say who hears of it.

A task may run only on one branch of a condition whose outcome the simulation cannot know
(`quarantine_batch` on the `false` branch of `quality_gate`): its failure is then tried with
the first choice of those outcomes under which it runs, the `true` branches first. A task that
runs under none (a handler that runs only when something else fails), a disabled task and one
that retries forever cannot fail for good here: their case says why (`skipped`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from headwater.core.new_run import job_parameters
from headwater.core.notifications import NotificationEvent
from headwater.core.plan import Plan, build_plan
from headwater.core.spec import JobSettings
from headwater.core.whatif import simulate_run
from headwater.core.whatif_refs import unknown_reference
from headwater.core.whatif_results import SimulatedAlert, SimulatedRun
from headwater.core.whatif_scenario import Scenario, check_scenario

MAX_FREE_CONDITIONS = 6  # 64 choices of branches; past that only all-true and all-false
# The sweep simulates the run once per task, so its cost grows with the square of the tasks:
# about a second and a half at 150 tasks on a small machine, a minute at 1,000. The web page
# and `headwater lint` sweep jobs up to this size by default; `simulate --all-failures`, asked
# for by name, sweeps any job.
MAX_SWEPT_TASKS = 150


@dataclass(frozen=True, slots=True)
class FailureCase:
    """One task failing for good, and what comes of it."""

    task_key: str
    run: SimulatedRun  # the failure's run; when not reached, the baseline where it did not run
    baseline: SimulatedRun  # the same scenario with nothing failing
    outcomes: Mapping[str, bool] = field(default_factory=dict)  # the unknown branches chosen
    skipped: str | None = None  # why its failure was not simulated (it cannot fail here)

    @property
    def reached(self) -> bool:
        """Whether the failure was simulated (the task runs, and can fail for good)."""
        return self.skipped is None

    @property
    def attempts(self) -> int:
        return self.run.task(self.task_key).attempt_count

    @property
    def not_run(self) -> tuple[str, ...]:
        """Tasks that run when nothing fails, but not after this failure."""
        ran = {task.task_key for task in self.baseline.tasks if task.ran}
        return tuple(t.task_key for t in self.run.tasks if t.task_key in ran and not t.ran)

    @property
    def handlers(self) -> tuple[str, ...]:
        """Tasks that run only because of this failure."""
        ran = {task.task_key for task in self.baseline.tasks if task.ran}
        return tuple(t.task_key for t in self.run.tasks if t.ran and t.task_key not in ran)

    @property
    def failure_alerts(self) -> tuple[SimulatedAlert, ...]:
        return tuple(a for a in self.run.alerts if a.event is NotificationEvent.ON_FAILURE)

    @property
    def handled_by(self) -> tuple[str, ...]:
        """The handlers that run, then `alert to <recipients>` if an on_failure alert goes."""
        heard = sorted({r for a in self.failure_alerts for r in (*a.emails, *a.destinations)})
        return (*self.handlers, *([f"alert to {', '.join(heard)}"] if heard else []))

    @property
    def handled(self) -> bool:
        """A handler runs or an `on_failure` alert is sent (or the task cannot fail here)."""
        return not self.reached or bool(self.handlers or self.failure_alerts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_key": self.task_key, "reached": self.reached, "skipped": self.skipped,
            "outcomes": {key: "true" if value else "false"
                         for key, value in self.outcomes.items()},
            "attempts": self.attempts if self.reached else 0,
            "result_state": str(self.run.result_state) if self.reached else None,
            "not_run": list(self.not_run) if self.reached else [],
            "handlers": list(self.handlers) if self.reached else [],
            "alerts": [alert.to_dict() for alert in self.failure_alerts] if self.reached else [],
            "handled": self.handled,
        }


def every_failure(settings: JobSettings, scenario: Scenario | None = None,
                  ) -> tuple[FailureCase, ...]:
    """One `FailureCase` per task that can fail (not disabled), in the plan's order.

    Raises:
        PlanError, ScenarioError: as `simulate_run` does.
    """
    base = scenario or Scenario()
    plan = build_plan(settings)
    check_scenario(settings, plan, base)
    baselines: dict[tuple[tuple[str, bool], ...], SimulatedRun] = {}

    def baseline(outcomes: Mapping[str, bool]) -> SimulatedRun:
        key = tuple(sorted(outcomes.items()))
        if key not in baselines:
            baselines[key] = simulate_run(settings, _with(base, outcomes))
        return baselines[key]

    choices = list(_branch_choices(plan, job_parameters(settings, base.parameters), base))
    quiet = not (base.fail or base.timeout or base.fail_iterations or base.cancel_at)
    cases = []
    for key in plan.order:
        reaching = next((o for o in choices if baseline(o).task(key).ran), None)
        skipped = _cannot_fail(plan, key, baseline(reaching or choices[0]), quiet)
        if reaching is None or skipped is not None:
            run = baseline(reaching or choices[0])
            cases.append(FailureCase(key, run, run, skipped=skipped))
            continue
        failing = replace(
            _with(base, reaching), fail={**base.fail, key: None},
            timeout={k: v for k, v in base.timeout.items() if k != key},
            fail_iterations={k: v for k, v in base.fail_iterations.items() if k != key})
        run = simulate_run(settings, failing)
        used = {k: v for k, v in reaching.items() if run.task(k).condition_outcome is not None}
        cases.append(FailureCase(key, run, baseline(reaching), used))
    return tuple(cases)


def _cannot_fail(plan: Plan, key: str, baseline: SimulatedRun, quiet: bool) -> str | None:
    """Why `key` cannot fail for good in this scenario (`quiet`: nothing else fails in it),
    or None."""
    task = plan.tasks[key]
    if task.disabled:
        return "disabled: it never runs"
    if (task.nested or task).retry.max_retries == -1:
        return "it retries forever (max_retries: -1), so it never fails for good"
    simulated = baseline.task(key)
    if not simulated.ran:
        when = "when nothing fails" if quiet else "in this scenario"
        return f"it does not run {when} ({simulated.result_state}: {simulated.state_message})"
    return None


def _with(scenario: Scenario, outcomes: Mapping[str, bool]) -> Scenario:
    return replace(scenario, outcomes={**outcomes, **scenario.outcomes})


def _branch_choices(plan: Plan, parameters: Mapping[str, str],
                    scenario: Scenario) -> Iterator[dict[str, bool]]:
    """Choices of the conditions' branches the simulation cannot know, the default first."""
    free = [key for key in plan.order if key not in scenario.outcomes
            and (condition := plan.tasks[key].spec.condition_task) is not None
            and any(unknown_reference(text, parameters) is not None
                    for text in (condition.left, condition.right))]
    if len(free) > MAX_FREE_CONDITIONS:
        yield dict.fromkeys(free, True)
        yield dict.fromkeys(free, False)
        return
    for values in itertools.product((True, False), repeat=len(free)):
        yield dict(zip(free, values, strict=True))


__all__ = ["MAX_FREE_CONDITIONS", "MAX_SWEPT_TASKS", "FailureCase", "every_failure"]
