"""Use cases: register a job, start a run and drive it, and the queries over runs.

The CLI (and later the REST API) call these; they never touch adapters directly.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from headwater.core.events import RepairRequested
from headwater.core.machine import initial_state
from headwater.core.plan import build_plan
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import JobSettings
from headwater.core.states import ResultState
from headwater.engine.attempts import attempt_dir, log_path
from headwater.engine.run_driver import Engine, Observer
from headwater.errors import InvalidRequest, NotFound, PlanError
from headwater.ports import Clock, JobRecord, RunRecord, RunSummary, Store
from headwater.runlock import run_lock

# What `--all-failed` reruns: every task whose latest attempt did not succeed.
NOT_SUCCEEDED = frozenset({ResultState.FAILED, ResultState.TIMEDOUT, ResultState.CANCELED,
                           ResultState.UPSTREAM_FAILED, ResultState.UPSTREAM_CANCELED})


@dataclass(frozen=True, slots=True)
class Service:
    """The application's use cases over a store and an engine."""

    store: Store
    engine: Engine
    clock: Clock
    user: str
    logs_dir: Path
    locks_dir: Path

    def register(self, settings: JobSettings, source: str) -> JobRecord:
        """Store the job (a new version when its settings changed)."""
        body = settings.model_dump(mode="json", exclude_none=True)
        return self.store.save_job(settings.name or "Untitled", body, source, self.clock.now(),
                                   actor=self.user)

    def find_job(self, job_id: int | None, name: str | None) -> JobRecord:
        """A job by id, or by name; `NotFound` naming the jobs there are."""
        if job_id is not None:
            return self.store.get_job(job_id)
        job = self.store.job_by_name(name or "")
        if job is None:
            known = [j.name for j in self.store.list_jobs()]
            close = difflib.get_close_matches(name or "", known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise NotFound(f"No job named {name!r}{hint}; the jobs are: {', '.join(known)}")
        return job

    def start_run(self, job: JobRecord, overrides: Mapping[str, str], workdir: Path,
                  trigger: str = "ONE_TIME", strict: bool = True) -> int:
        """Plan the job and store a new run of it; `PlanError` if it cannot run.

        With `strict=False`, overrides the job does not declare are dropped, not refused: a
        Run Job task pushes its own job's parameters down to the child job.
        """
        settings = JobSettings.model_validate(job.settings)
        plan = build_plan(settings)
        if not strict:
            declared = {p.name for p in settings.parameters or []}
            overrides = {k: v for k, v in overrides.items() if k in declared}
        parameters = job_parameters(settings, overrides)
        return self.store.create_run(job, initial_state(plan), parameters, trigger, self.user,
                                     str(workdir), self.clock.now())

    def drive(self, run_id: int, observer: Observer | None = None) -> RunState:
        """Run to its end in this process."""
        with run_lock(self.locks_dir, run_id):
            return self.engine.run(run_id, observer)

    def resume(self, run_id: int, observer: Observer | None = None) -> RunState:
        """Continue a run whose engine stopped (a crash, `kill -9`): see core/resume.py."""
        with run_lock(self.locks_dir, run_id):
            record = self.get_run(run_id)
            if record.state.is_terminal:
                return record.state
            return self.engine.resume(run_id, observer)

    def cancel(self, run_id: int, task_key: str | None = None) -> None:
        """Ask the engine driving the run to cancel it (or one task of it)."""
        record = self.get_run(run_id)
        if task_key is not None and task_key not in record.state.plan.tasks:
            raise NotFound(_unknown_task(run_id, task_key, record.state.plan.tasks))
        if record.state.is_terminal:
            raise InvalidRequest(f"Run {run_id} has already ended {record.state.result}.")
        self.store.request_cancel(run_id, task_key, self.clock.now())

    def prepare_repair(self, run_id: int, task_keys: list[str], all_failed: bool,
                       rerun_dependents: bool, latest_repair_id: int | None,
                       overrides: Mapping[str, str] | None = None) -> RepairRequested:
        """Check a repair request and move the run to the job's current settings.

        `overrides` change job parameters for the repair; the others keep the run's values.
        """
        record = self.get_run(run_id)
        state = record.state
        if not state.is_terminal:
            raise InvalidRequest(f"Run {run_id} is still in progress; a repair needs a run "
                                 "that has ended.")
        _check_latest_repair(state, latest_repair_id)
        keys = _repair_keys(run_id, state, task_keys, all_failed)
        job = self.store.get_job(record.job.job_id)
        settings = JobSettings.model_validate(job.settings)
        build_plan(settings)  # the current settings must plan
        kept = {k: v for k, v in record.parameters.items()
                if k in {p.name for p in settings.parameters or []}}
        parameters = job_parameters(settings, {**kept, **(overrides or {})})
        self.store.set_job_version(run_id, job.version, parameters)
        return RepairRequested(self.clock.now(), self.store.new_id("REPAIR"), job.version,
                               tuple(keys), rerun_dependents)

    def repair(self, run_id: int, request: RepairRequested,
               observer: Observer | None = None) -> RunState:
        """Rerun the chosen tasks inside the run, to its end, in this process."""
        with run_lock(self.locks_dir, run_id):
            return self.engine.repair(run_id, request, observer)

    def get_run(self, run_id: int) -> RunRecord:
        return self.store.load_run(run_id)

    def find_run(self, any_run_id: int) -> tuple[RunRecord, int | None]:
        """A job run by its id, or the job run and seq of a task run id."""
        try:
            return self.store.load_run(any_run_id), None
        except NotFound:
            run_id, seq = self.store.find_task_run(any_run_id)
            return self.store.load_run(run_id), seq

    def list_runs(self, job_id: int | None = None, limit: int = 20,
                  active_only: bool = False) -> list[RunSummary]:
        return self.store.list_runs(job_id, limit, active_only)

    def latest_attempt_dirs(self, run_id: int) -> dict[str, Path]:
        """The directory of each task's latest attempt, in plan order."""
        state = self.get_run(run_id).state
        return {key: attempt_dir(self.logs_dir, run_id, state.task_runs[state.latest[key]])
                for key in state.plan.order if key in state.latest}

    def log_file(self, run_id: int, task_key: str, attempt: int | None = None,
                 iteration: int | None = None) -> Path:
        """The log of one attempt of a task (the latest by default), or of an iteration."""
        record = self.get_run(run_id)
        attempts = record.state.attempts(task_key)
        if iteration is not None:
            attempts = _iteration_attempts(record, task_key, iteration)
        if not attempts:
            known = sorted(record.state.latest)
            hint = difflib.get_close_matches(task_key, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise NotFound(f"Run {run_id} has no task {task_key!r}{suggestion}; "
                           f"its tasks are: {', '.join(known)}")
        chosen = _pick_attempt(attempts, attempt, run_id, task_key)
        return log_path(self.logs_dir, run_id, chosen)


def _iteration_attempts(record: RunRecord, task_key: str, iteration: int) -> list[TaskRun]:
    """Every attempt of one iteration of the for-each task `task_key` (latest run of it)."""
    state = record.state
    parent = state.latest_run(task_key)
    if parent is None or parent.loop is None:
        raise NotFound(f"Task {task_key!r} of run {record.run_id} is not a for-each that ran.")
    found = [r for r in state.iterations(parent.seq) if r.iteration == iteration]
    if not found:
        raise NotFound(f"Task {task_key!r} of run {record.run_id} has no iteration {iteration}; "
                       f"its iterations are 0 to {parent.loop.started - 1}")
    return found


def _unknown_task(run_id: int, task_key: str, known: Mapping[str, object]) -> str:
    hint = difflib.get_close_matches(task_key, list(known), n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"Run {run_id} has no task {task_key!r}{suggestion}"


def _check_latest_repair(state: RunState, latest_repair_id: int | None) -> None:
    if not state.repairs or latest_repair_id is None:
        return  # the CLI fills it in; the API will insist, as Lakeflow does
    if latest_repair_id != state.repairs[-1].repair_id:
        raise InvalidRequest(f"latest_repair_id {latest_repair_id} is not the latest repair "
                             f"of this run ({state.repairs[-1].repair_id})")


def _repair_keys(run_id: int, state: RunState, task_keys: list[str],
                 all_failed: bool) -> list[str]:
    if all_failed == bool(task_keys):
        raise InvalidRequest("give either task keys to rerun or --all-failed, not both")
    if len(set(task_keys)) != len(task_keys):
        raise InvalidRequest("rerun_tasks cannot contain duplicate task keys")
    for key in task_keys:
        if key not in state.plan.tasks:
            raise NotFound(_unknown_task(run_id, key, state.plan.tasks))
    if task_keys:
        return task_keys
    failed = [key for key, seq in state.latest.items()
              if state.task_runs[seq].result in NOT_SUCCEEDED]
    if not failed:
        raise InvalidRequest(f"Run {run_id} has no failed tasks to repair.")
    return failed


def _pick_attempt(attempts: list[TaskRun], attempt: int | None, run_id: int,
                  task_key: str) -> TaskRun:
    if attempt is None:
        return attempts[-1]
    for run in reversed(attempts):  # after a repair, the newest attempt with that number
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
