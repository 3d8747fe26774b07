"""What a new run of a job starts from: its plan's initial state and its job parameters.

Shared by every way a run starts (the service's `run-now`, the engine's scheduler), so that a
scheduled run and a manual one are made the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from headwater.core.machine import initial_state
from headwater.core.run_scope import WHOLE_JOB, RunScope
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest


def new_run(settings: JobSettings, overrides: Mapping[str, str], strict: bool = True,
            scope: RunScope = WHOLE_JOB) -> tuple[RunState, dict[str, str]]:
    """The initial state of a run of `settings` as `scope` changes it (its tasks, its legacy
    task parameters: core/run_scope.py) and its job parameters.

    With `strict=False`, overrides the job does not declare are dropped, not refused: a Run
    Job task pushes its own job's parameters down to the child job.

    Raises:
        PlanError: when the job cannot be planned.
        InvalidRequest: for an override that names no job parameter (when strict).
    """
    plan = scope.plan(settings)
    if not strict:
        declared = {p.name for p in settings.parameters or []}
        overrides = {k: v for k, v in overrides.items() if k in declared}
    return initial_state(plan), job_parameters(settings, overrides)


def job_parameters(settings: JobSettings, overrides: Mapping[str, str]) -> dict[str, str]:
    """The job's parameter defaults with the run's overrides applied.

    Raises:
        InvalidRequest: for an override that names no job parameter.
    """
    defaults = {p.name: p.default for p in settings.parameters or []}
    unknown = [name for name in overrides if name not in defaults]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(defaults), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        declared = ", ".join(defaults) or "none"
        raise InvalidRequest(f"unknown job parameter {', '.join(hints)}; the job declares: "
                             f"{declared}. Declare it in the job's parameters (`parameters:` "
                             "of its job file, or jobs/update), or leave it out.")
    return {**defaults, **overrides}


__all__ = ["job_parameters", "new_run"]
