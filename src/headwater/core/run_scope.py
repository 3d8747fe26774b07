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
    """A partial run's task keys (None: every task), the run's legacy task parameters, and
    the job's timeout as changed while the run was active (None: its job version's; Lakeflow
    applies a change of `timeout_seconds` to active runs, of nothing else)."""

    only: tuple[str, ...] | None = None
    task_parameters: Mapping[str, Any] | None = None
    timeout_seconds: int | None = None

    def settings(self, job: JobSettings) -> JobSettings:
        """The job as this run runs it."""
        if self.timeout_seconds is not None:
            job = job.model_copy(update={"timeout_seconds": self.timeout_seconds})
        return restrict(task_parameters.apply(job, self.task_parameters), self.only)

    def facts(self) -> dict[str, Any]:
        """What the scope sets, by name (`only`, `task_parameters`); {} for the whole job."""
        found: dict[str, Any] = {}
        if self.only is not None:
            found["only"] = list(self.only)
        if self.task_parameters:
            found["task_parameters"] = dict(self.task_parameters)
        if self.timeout_seconds is not None:
            found["timeout_seconds"] = self.timeout_seconds
        return found

    def plan(self, job: JobSettings) -> Plan:
        """The plan of this run of `job` (`PlanError` if it cannot be planned)."""
        return build_plan(self.settings(job))


WHOLE_JOB = RunScope()

__all__ = ["WHOLE_JOB", "RunScope"]
