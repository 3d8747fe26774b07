"""What one run changes of its job: the tasks it runs (`only`: core/partial_run.py) and
run-now's legacy task parameters (core/task_parameters.py).

A run is planned from its job version's settings, here and again whenever it is read or
repaired, so the scope is stored with the run and applied each time (`plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headwater.core import task_parameters
from headwater.core.partial_run import restrict
from headwater.core.plan import Plan, build_plan
from headwater.core.spec import JobSettings


@dataclass(frozen=True, slots=True)
class RunScope:
    """A partial run's task keys (None: every task) and the run's legacy task parameters."""

    only: tuple[str, ...] | None = None
    task_parameters: Mapping[str, Any] | None = None

    def settings(self, job: JobSettings) -> JobSettings:
        """The job as this run runs it."""
        return restrict(task_parameters.apply(job, self.task_parameters), self.only)

    def facts(self) -> dict[str, Any]:
        """What the scope sets, by name (`only`, `task_parameters`); {} for the whole job."""
        found: dict[str, Any] = {}
        if self.only is not None:
            found["only"] = list(self.only)
        if self.task_parameters:
            found["task_parameters"] = dict(self.task_parameters)
        return found

    def plan(self, job: JobSettings) -> Plan:
        """The plan of this run of `job` (`PlanError` if it cannot be planned)."""
        return build_plan(self.settings(job))


WHOLE_JOB = RunScope()

__all__ = ["WHOLE_JOB", "RunScope"]
