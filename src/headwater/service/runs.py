"""The runs use cases: start a run, cancel it, repair it. Each returns at once.

Starting stores the run (PENDING for an engine to claim, QUEUED behind the job's other runs,
or SKIPPED: see core/admission.py); cancelling and repairing record a request that the
engine driving the run carries out. Nothing here drives a run.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from headwater.core.new_run import job_parameters, new_run
from headwater.core.plan import build_plan
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState, ResultState
from headwater.engine.workdirs import job_folder
from headwater.errors import InvalidRequest, InvalidState, NotFound
from headwater.ports import Clock, JobRecord, RunCreated, RunRecord, Store

# What "all failed" reruns: every task whose latest attempt did not succeed.
NOT_SUCCEEDED = frozenset({ResultState.FAILED, ResultState.TIMEDOUT, ResultState.CANCELED,
                           ResultState.UPSTREAM_FAILED, ResultState.UPSTREAM_CANCELED})


@dataclass(frozen=True, slots=True)
class RepairAsked:
    """A repair recorded for an engine to carry out."""

    repair_id: int
    task_keys: tuple[str, ...]


class RunsMixin:
    """Runs use cases; mixed into `Service`."""

    store: Store
    clock: Clock
    user: str

    def start_run(self, job: JobRecord, overrides: Mapping[str, str],
                  workdir: Path | None = None, trigger: str = "ONE_TIME", strict: bool = True,
                  owner: str | None = None, lease_seconds: float = 0.0) -> RunCreated:
        """Plan the job and store a new run of it; `PlanError` if it cannot run.

        `workdir` is where relative paths of the job start (default: the folder of the job's
        file). With an `owner`, a run that may start is created leased to that engine. With
        `strict=False`, overrides the job does not declare are dropped, not refused: a Run
        Job task pushes its own job's parameters down to the child job.
        """
        settings = JobSettings.model_validate(dict(job.settings))
        state, parameters = new_run(settings, overrides, strict)
        folder = workdir if workdir is not None else job_folder(job)
        return self.store.create_run(job, state, parameters, trigger, self.user,
                                     str(folder), self.clock.now(), owner=owner,
                                     lease_seconds=lease_seconds)

    def run_now(self, job_id: int, overrides: Mapping[str, str] | None = None) -> RunCreated:
        """A run of a job's latest version, as `jobs/run-now` starts it."""
        return self.start_run(self.store.get_job(job_id), overrides or {})

    def cancel(self, run_id: int, task_key: str | None = None) -> None:
        """Cancel a run (or one task of it): queued, it ends at once; running, the engine
        driving it kills its attempts and lets its cleanup tasks run."""
        record = self.store.load_run(run_id)
        if task_key is not None and task_key not in record.state.plan.tasks:
            raise NotFound(unknown_task(run_id, task_key, record.state.plan.tasks))
        if record.state.is_terminal:
            raise InvalidState(f"Run {run_id} has already ended {record.state.result}.")
        if record.state.life_cycle is LifeCycleState.QUEUED and task_key is None and \
                self.store.cancel_queued(run_id, self.clock.now(), self.user):
            return
        self.store.request_cancel(run_id, task_key, self.clock.now())

    def repair(self, run_id: int, task_keys: list[str], all_failed: bool = False,
               rerun_dependents: bool = False, latest_repair_id: int | None = None,
               overrides: Mapping[str, str] | None = None) -> RepairAsked:
        """Ask for a repair of an ended run, with the job's current settings.

        `overrides` change job parameters for the repair; the others keep the run's values.
        """
        record = self.store.load_run(run_id)
        state = record.state
        if not state.is_terminal:
            raise InvalidState(f"Run {run_id} is still in progress; a repair needs a run "
                               "that has ended.")
        _check_latest_repair(state, latest_repair_id)
        keys = _repair_keys(run_id, state, task_keys, all_failed)
        job = self.store.get_job(record.job.job_id)
        settings = JobSettings.model_validate(dict(job.settings))
        build_plan(settings)  # the current settings must plan
        declared = {p.name for p in settings.parameters or []}
        kept = {k: v for k, v in record.parameters.items() if k in declared}
        parameters = job_parameters(settings, {**kept, **(overrides or {})})
        repair_id = self.store.new_id("REPAIR")
        self.store.request_repair(run_id, {
            "repair_id": repair_id, "task_keys": keys, "rerun_dependents": rerun_dependents,
            "job_version": job.version, "parameters": parameters, "actor": self.user,
        }, self.clock.now())
        return RepairAsked(repair_id, tuple(keys))

    def get_run(self, run_id: int) -> RunRecord:
        """A job run; `NotFound` ("Run N does not exist.")."""
        return self.store.load_run(run_id)


def unknown_task(run_id: int, task_key: str, known: Mapping[str, object]) -> str:
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
        raise InvalidRequest("Name the tasks to rerun, or ask for all failed tasks: one of the "
                             "two, not both.")
    if len(set(task_keys)) != len(task_keys):
        raise InvalidRequest("The tasks to rerun cannot contain duplicate task keys.")
    for key in task_keys:
        if key not in state.plan.tasks:
            raise NotFound(unknown_task(run_id, key, state.plan.tasks))
    if task_keys:
        return task_keys
    failed = [key for key, seq in state.latest.items()
              if state.task_runs[seq].result in NOT_SUCCEEDED]
    if not failed:
        raise InvalidState(f"Run {run_id} has no failed tasks to repair.")
    return failed


__all__ = ["NOT_SUCCEEDED", "RepairAsked", "RunsMixin"]
