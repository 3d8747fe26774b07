"""Use cases: register a job, start a run and drive it, and the queries over runs.

The CLI (and later the REST API) call these; they never touch adapters directly.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from headwater.core.machine import initial_state
from headwater.core.plan import build_plan
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import JobSettings
from headwater.engine import Engine, Observer, log_path
from headwater.errors import InvalidRequest, NotFound, PlanError
from headwater.ports import Clock, JobRecord, RunRecord, RunSummary, Store


@dataclass(frozen=True, slots=True)
class Service:
    """The application's use cases over a store and an engine."""

    store: Store
    engine: Engine
    clock: Clock
    user: str
    logs_dir: Path

    def register(self, settings: JobSettings, source: str) -> JobRecord:
        """Store the job (a new version when its settings changed)."""
        body = settings.model_dump(mode="json", exclude_none=True)
        return self.store.save_job(settings.name or "Untitled", body, source, self.clock.now())

    def start_run(self, job: JobRecord, overrides: Mapping[str, str], workdir: Path,
                  trigger: str = "ONE_TIME") -> int:
        """Plan the job and store a new run of it; `PlanError` if it cannot run."""
        settings = JobSettings.model_validate(job.settings)
        plan = build_plan(settings)
        parameters = job_parameters(settings, overrides)
        return self.store.create_run(job, initial_state(plan), parameters, trigger, self.user,
                                     str(workdir), self.clock.now())

    def drive(self, run_id: int, observer: Observer | None = None) -> RunState:
        """Run to its end in this process."""
        return self.engine.run(run_id, observer)

    def get_run(self, run_id: int) -> RunRecord:
        return self.store.load_run(run_id)

    def list_runs(self, job_id: int | None = None, limit: int = 20,
                  active_only: bool = False) -> list[RunSummary]:
        return self.store.list_runs(job_id, limit, active_only)

    def log_file(self, run_id: int, task_key: str, attempt: int | None = None) -> Path:
        """The log of one attempt of a task (the latest by default)."""
        record = self.get_run(run_id)
        attempts = record.state.attempts(task_key)
        if not attempts:
            known = sorted(record.state.latest)
            hint = difflib.get_close_matches(task_key, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise NotFound(f"Run {run_id} has no task {task_key!r}{suggestion}; "
                           f"its tasks are: {', '.join(known)}")
        chosen = _pick_attempt(attempts, attempt, run_id, task_key)
        return log_path(self.logs_dir, run_id, chosen)


def _pick_attempt(attempts: list[TaskRun], attempt: int | None, run_id: int,
                  task_key: str) -> TaskRun:
    if attempt is None:
        return attempts[-1]
    for run in attempts:
        if run.attempt_number == attempt:
            return run
    numbers = ", ".join(str(r.attempt_number) for r in attempts)
    raise NotFound(f"Task {task_key!r} of run {run_id} has no attempt {attempt}; "
                   f"its attempts are: {numbers}")


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
                             f"{declared}. Add it under `parameters:` in the job file.")
    return {**defaults, **overrides}


__all__ = ["PlanError", "Service", "job_parameters"]
