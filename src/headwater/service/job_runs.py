"""The job run a request names by id, for the requests that take a job run's only: given the
id of one of its task runs, the request is refused naming the job run and what to ask instead.
"""

from __future__ import annotations

from typing import Literal

from headwater.core.permissions import Action
from headwater.errors import InvalidRequest, NotFound
from headwater.ports import RunRecord
from headwater.service.access import AccessMixin

JobRunNeeded = Literal["delete", "repair", "logs"]  # the requests that take a job run's id only

# What to do instead, by what a request that needs a job run was given a task run's id for.
_INSTEAD = {
    "delete": "only a whole job run can be deleted: delete run {run} (its task runs go with it)",
    "repair": "a repair takes the id of a job run: repair run {run}, naming the task {task!r} "
              "to rerun it",
    "logs": "a log is asked of a job run and a task: `headwater runs logs {run} {task}{more}`",
}


def job_run(service: AccessMixin, run_id: int, needs: JobRunNeeded) -> RunRecord:
    """The job run `run_id` names, for a request that `needs` one ("delete", "repair",
    "logs"); `NotFound` ("Run N does not exist."), or for a task run's id, `InvalidRequest`
    naming its job run (after a check that the caller may view it)."""
    store = service.store
    try:
        return store.load_run(run_id)
    except NotFound as no_run:
        try:
            job_run_id, seq = store.find_task_run(run_id)
        except NotFound:
            raise no_run from None
    record = store.load_run(job_run_id)
    service.authorize(record.job.job_id, Action.VIEW)
    raise InvalidRequest(task_run_refused(run_id, record, seq, needs))


def task_run_refused(task_run_id: int, record: RunRecord, seq: int, needs: JobRunNeeded
                     ) -> str:
    """Why a task run's id cannot be deleted, repaired or have its log asked so, and which
    id to give instead."""
    run = record.state.task_runs[seq]
    task = run.task_key if run.parent_seq is None else \
        record.state.task_runs[run.parent_seq].task_key  # an iteration: its for-each task
    what = f"task {task!r}" if run.iteration is None else \
        f"iteration {run.iteration} of the for-each task {task!r}"
    more = "" if run.iteration is None else f" --iteration {run.iteration}"
    instead = _INSTEAD[needs].format(run=record.run_id, task=task, more=more)
    return f"Run {task_run_id} is a task run of run {record.run_id} ({what}); {instead}."


__all__ = ["JobRunNeeded", "job_run", "task_run_refused"]
