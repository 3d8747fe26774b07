"""The runs use cases: start a run, cancel it, repair it. Each returns at once.

Starting stores the run (PENDING for an engine to claim, QUEUED behind the job's other runs,
or SKIPPED: see core/admission.py); cancelling and repairing record a request that the
engine driving the run carries out. Nothing here drives a run.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from headwater.core.new_run import job_parameters, new_run
from headwater.core.partial_run import select
from headwater.core.permissions import Action, Grant, owner_of
from headwater.core.plan import Plan, for_each_running
from headwater.core.repair_selection import RepairSelection, repair_selection
from headwater.core.run_scope import RunScope
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState, ResultState
from headwater.core.task_parameters import checked as task_parameters_checked
from headwater.core.task_parameters import over
from headwater.engine.identity import is_gone
from headwater.engine.workdirs import job_folder
from headwater.errors import InvalidRequest, InvalidState, NotFound, PermissionDenied
from headwater.ports import REPAIR, Clock, JobRecord, RunCreated, RunRecord, Store
from headwater.service.access import AccessMixin
from headwater.service.job_runs import job_run

MAX_TOKEN = 64  # characters of an idempotency token, as in the Jobs API

# What "all failed" reruns: every task whose latest attempt did not succeed.
NOT_SUCCEEDED = frozenset({ResultState.FAILED, ResultState.TIMEDOUT, ResultState.CANCELED,
                           ResultState.UPSTREAM_FAILED, ResultState.UPSTREAM_CANCELED})


@dataclass(frozen=True, slots=True)
class RepairAsked:
    """A repair recorded for an engine to carry out."""

    repair_id: int
    task_keys: tuple[str, ...]  # the tasks asked (or, for all failed, found)
    selection: RepairSelection  # every task it reruns, and why (core/repair_selection.py)


class RunsMixin(AccessMixin):
    """Runs use cases; mixed into `Service`."""

    store: Store
    clock: Clock
    user: str

    def start_run(self, job: JobRecord, overrides: Mapping[str, str],
                  workdir: Path | None = None, trigger: str = "ONE_TIME", strict: bool = True,
                  owner: str | None = None, lease_seconds: float = 0.0,
                  idempotency_token: str | None = None, run_type: str = "JOB_RUN",
                  only: Sequence[str] | None = None,
                  task_parameters: Mapping[str, Any] | None = None,
                  queue: bool | None = None,
                  trigger_info: Mapping[str, Any] | None = None) -> RunCreated:
        """Plan the job and store a new run of it; `PlanError` if it cannot run.

        `workdir` is where relative paths of the job start (default: the folder of the job's
        file). With an `owner`, a run that may start is created leased to that engine. With
        `strict=False`, overrides the job does not declare are dropped, not refused: a Run
        Job task pushes its own job's parameters down to the child job. With `only`, a
        partial run of those tasks (`+key`, `key+`: core/partial_run.py); `task_parameters`
        are run-now's legacy ones (`notebook_params`, ...: core/task_parameters.py); `queue`
        overrides the job's `queue.enabled` for this run; `trigger_info` says what started
        it (a Run Job task: `{"run_id": its task run}`).
        """
        grants = self.authorize(job.job_id, Action.RUN)
        settings = JobSettings.model_validate(dict(job.settings))
        scope = RunScope(select(settings, only),
                         task_parameters_checked(settings, task_parameters or {}))
        state, parameters = new_run(settings, overrides, strict, scope)
        folder = workdir if workdir is not None else job_folder(job)
        if idempotency_token is not None and len(idempotency_token) > MAX_TOKEN:
            raise InvalidRequest(f"idempotency_token is {len(idempotency_token)} characters "
                                 f"long; at most {MAX_TOKEN}")
        return self.store.create_run(job, state, parameters, trigger, self.user,
                                     str(folder), self.clock.now(), owner=owner,
                                     lease_seconds=lease_seconds,
                                     idempotency_token=idempotency_token, run_type=run_type,
                                     run_as=run_as_of(settings, grants, job), scope=scope,
                                     queue=queue, trigger_info=trigger_info)

    def run_now(self, job_id: int, overrides: Mapping[str, str] | None = None,
                idempotency_token: str | None = None, only: Sequence[str] | None = None,
                task_parameters: Mapping[str, Any] | None = None, queue: bool | None = None
                ) -> RunCreated:
        """A run of a job's latest version (of its tasks `only`, with legacy
        `task_parameters`, queueing as `queue` says or as the job does), as `jobs/run-now`
        starts it; the same `idempotency_token` gives the same run."""
        return self.start_run(self.store.get_job(job_id), overrides or {},
                              idempotency_token=idempotency_token, only=only,
                              task_parameters=task_parameters, queue=queue)

    def cancel_all(self, job_id: int | None, all_queued_runs: bool = False) -> list[int]:
        """Cancel every active run of a job (`runs/cancel-all`), or with `all_queued_runs`
        and no job, every queued run the user may run; the run ids cancelled."""
        if job_id is None and not all_queued_runs:
            raise InvalidRequest("give job_id, or all_queued_runs: true")
        if job_id is not None:
            self.store.get_job(job_id)
            self.authorize(job_id, Action.RUN)
        return self.cancel_each([
            summary.run_id for summary in self.store.list_runs(
                job_id, limit=100_000, active_only=True, visible_to=self.principal)
            if job_id is not None or (summary.life_cycle == "QUEUED"
                                      and self.may_run(summary.job_id))])

    def cancel_each(self, run_ids: Sequence[int]) -> list[int]:
        """Cancel each run that has not ended; the ids of those cancelled, in `run_ids` order.

        The queued ones end first, all at once: a running one stopped first would free a
        slot, and a queued run of the same set could start in it (and run tasks) before its
        own cancel came."""
        ended = set(self.store.cancel_queued(run_ids, self.clock.now(), self.user))
        for run_id in run_ids:
            if run_id in ended:
                continue
            try:
                self.cancel(run_id)
            except (InvalidState, NotFound):
                continue  # it ended (or was deleted) since it was listed: nothing to do
            ended.add(run_id)
        return [run_id for run_id in run_ids if run_id in ended]

    def may_run(self, job_id: int) -> bool:
        try:
            self.authorize(job_id, Action.RUN)
        except PermissionDenied:
            return False
        return True

    def delete_run(self, run_id: int) -> None:
        """Delete an ended run (`runs/delete`): it is gone from every list and lookup."""
        record = job_run(self, run_id, "delete")
        self.authorize(record.job.job_id, Action.MANAGE)
        self.store.delete_run(run_id, self.clock.now(), self.user)

    def cancel(self, run_id: int, task_key: str | None = None) -> str:
        """Cancel a run (or one task of it): queued, it ends at once; running, the engine
        driving it kills its attempts and lets its cleanup tasks run. Says which happens."""
        record = self.store.load_run(run_id)
        self.authorize(record.job.job_id, Action.RUN)
        if task_key is not None and task_key not in record.state.plan.tasks:
            raise NotFound(unknown_task(run_id, task_key, record.state.plan))
        if record.state.is_terminal:
            raise InvalidState(f"Run {run_id} has already ended {record.state.result}.")
        if record.state.life_cycle is LifeCycleState.QUEUED and task_key is None and \
                self.store.cancel_queued([run_id], self.clock.now(), self.user):
            return f"run {run_id} was queued: it ended CANCELED without running"
        self.store.request_cancel(run_id, task_key, self.clock.now(), actor=self.user)
        if (owner := self.driving_engine(run_id)) is not None:
            return f"the engine driving it ({owner}) acts within a second"
        return (f"no engine drives run {run_id} now, so its tasks keep running until one "
                f"takes it: start `headwater engine`, or `headwater runs resume {run_id}`")

    def driving_engine(self, run_id: int) -> str | None:
        """The engine that drives the run now: its live lease's owner, unless that engine is
        of this host and its process ended (its lease outlives it)."""
        owner = self.store.live_lease_owner(run_id)
        return None if owner is None or is_gone(owner) else owner

    def repair(self, run_id: int, task_keys: list[str], all_failed: bool = False,
               rerun_dependents: bool = False, latest_repair_id: int | None = None,
               overrides: Mapping[str, str] | None = None, insist_on_latest: bool = False,
               task_parameters: Mapping[str, Any] | None = None) -> RepairAsked:
        """Ask for a repair of an ended run, with the job's current settings.

        `overrides` change job parameters for the repair; the others keep the run's values.
        `task_parameters` (the legacy ones, by kind) go over the run's own: a map merged, a
        list replaced; they stay the run's from then on.
        With `insist_on_latest` (the Jobs API), a run repaired before needs `latest_repair_id`.
        """
        record = job_run(self, run_id, "repair")
        self.authorize(record.job.job_id, Action.RUN)
        state = record.state
        _check_repairable(run_id, state)
        self._check_no_repair_waiting(run_id)
        if insist_on_latest and state.repairs and latest_repair_id is None:
            raise InvalidRequest("The latest repair ID needs to be provided in order to create "
                                 f"a new repair: run {run_id} was repaired before; pass "
                                 f"latest_repair_id {state.repairs[-1].repair_id}.")
        _check_latest_repair(state, latest_repair_id)
        keys = _repair_keys(run_id, state, task_keys, all_failed)
        try:
            job = self.store.get_job(record.job.job_id)
        except NotFound:
            raise InvalidState(f"Run {run_id} cannot be repaired: its job {record.job.job_id} "
                               f"({record.job.name!r}) was deleted, and a repair runs the "
                               "job's current settings; create the job again and start a new "
                               "run") from None
        settings = JobSettings.model_validate(dict(job.settings))
        scope = record.scope
        if task_parameters and any(task_parameters.values()):
            scope = replace(scope, task_parameters=task_parameters_checked(
                settings, over(scope.task_parameters, task_parameters)))
        plan = scope.plan(settings)  # the current settings must plan
        keys = _in_current_settings(run_id, job.job_id, keys, plan, all_failed)
        declared = {p.name for p in settings.parameters or []}
        kept = {k: v for k, v in record.parameters.items() if k in declared}
        parameters = job_parameters(settings, {**kept, **(overrides or {})})
        repair_id = self.store.new_id("REPAIR")
        body: dict[str, object] = {
            "repair_id": repair_id, "task_keys": keys, "rerun_dependents": rerun_dependents,
            "job_version": job.version, "parameters": parameters, "actor": self.user}
        if scope != record.scope:  # the run's own from now on: stored with the request
            body["task_parameters"] = dict(scope.task_parameters or {})
        self.store.request_repair(run_id, body, self.clock.now())
        results = {key: state.task_runs[seq].result for key, seq in state.latest.items()}
        return RepairAsked(repair_id, tuple(keys),
                           repair_selection(plan, results, keys, rerun_dependents))

    def _check_no_repair_waiting(self, run_id: int) -> None:
        """`InvalidState` while a repair asked of the run waits for an engine: that repair is
        the run's latest, and the run is as good as under way again."""
        for request in self.store.pending_requests([run_id]):
            if request.kind == REPAIR:
                raise InvalidState(
                    f"Run {run_id} already has a repair waiting for an engine (repair "
                    f"{request.body.get('repair_id')}, the latest); a new repair needs the run "
                    "to have ended again: repair it once that repair has run (an engine takes "
                    f"it: `headwater engine`, or `headwater runs resume {run_id}`)")

    def get_run(self, run_id: int) -> RunRecord:
        """A job run; `NotFound` ("Run N does not exist.")."""
        record = self.store.load_run(run_id)
        self.authorize(record.job.job_id, Action.VIEW)
        return record


def run_as_of(settings: JobSettings, grants: Sequence[Grant], job: JobRecord) -> str | None:
    """Who a run of the job runs as: its `run_as`, else its owner, else its creator."""
    return (settings.run_as and settings.run_as.identity) or owner_of(grants) or job.creator


def unknown_task(run_id: int, task_key: str, plan: Plan,
                 instead: str = "name {loop!r} instead") -> str:
    """Why `task_key` names no task of the run, and what to name: the for-each whose
    iterations run it (`instead`, given `loop` and `run`), or a task of a close name."""
    if (loop := for_each_running(plan, task_key)) is not None:
        return (f"Run {run_id} has no task {task_key!r}: it is the task each iteration of the "
                f"for-each task {loop.key!r} runs; " + instead.format(loop=loop.key, run=run_id))
    hint = difflib.get_close_matches(task_key, list(plan.tasks), n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"Run {run_id} has no task {task_key!r}{suggestion}"


def _check_repairable(run_id: int, state: RunState) -> None:
    if not state.is_terminal:
        raise InvalidState(f"Run {run_id} is still in progress; a repair needs a run that has "
                           "ended.")
    if state.start_time is None:
        raise InvalidState(f"Run {run_id} never started ({state.result}: {state.message}); "
                           "there is nothing to repair: start a new run of the job instead.")


def _check_latest_repair(state: RunState, latest_repair_id: int | None) -> None:
    if not state.repairs or latest_repair_id is None:
        return  # the CLI fills it in; the API will insist, as Lakeflow does
    if latest_repair_id != state.repairs[-1].repair_id:
        raise InvalidRequest(f"latest_repair_id {latest_repair_id} is not the latest repair "
                             f"of this run ({state.repairs[-1].repair_id})")


def _in_current_settings(run_id: int, job_id: int, keys: list[str], plan: Plan,
                         all_failed: bool) -> list[str]:
    """The tasks to rerun that the job still has: a repair runs its current settings, so a
    task renamed or removed since the run cannot rerun (named, it is refused; of all the
    failed ones, it is left out)."""
    gone = [key for key in keys if key not in plan.tasks]
    if not gone:
        return keys
    have = ", ".join(sorted(plan.tasks))
    if not all_failed:
        raise InvalidRequest(
            f"Task {gone[0]!r} of run {run_id} is no longer in job {job_id}, whose current "
            f"settings a repair runs (its tasks: {have}); name a task it has, or start a new "
            "run")
    kept = [key for key in keys if key in plan.tasks]
    if not kept:
        raise InvalidState(f"Run {run_id} has no failed task that job {job_id} still has "
                           f"({', '.join(gone)} are gone from it; its tasks: {have}); start a "
                           "new run instead.")
    return kept


def _repair_keys(run_id: int, state: RunState, task_keys: list[str],
                 all_failed: bool) -> list[str]:
    if all_failed == bool(task_keys):
        raise InvalidRequest("Name the tasks to rerun, or ask for all failed tasks: one of the "
                             "two, not both.")
    if len(set(task_keys)) != len(task_keys):
        raise InvalidRequest("The tasks to rerun cannot contain duplicate task keys.")
    for key in task_keys:
        if key not in state.plan.tasks:
            raise NotFound(unknown_task(run_id, key, state.plan))
    if task_keys:
        return task_keys
    failed = [key for key, seq in state.latest.items()
              if state.task_runs[seq].result in NOT_SUCCEEDED]
    if not failed:
        raise InvalidState(f"Run {run_id} has no failed tasks to repair.")
    return failed


__all__ = ["NOT_SUCCEEDED", "RepairAsked", "RunsMixin", "run_as_of"]
