"""What a command line asks by the names people type: a task's log by run, task key, repair
and attempt, a cancel by a job run or a task run id. The API asks by task run id instead."""

from __future__ import annotations

from collections.abc import Iterator

from headwater.engine.log_cap import read_chunks
from headwater.errors import InvalidRequest, InvalidState
from headwater.ports import RunRecord
from headwater.service.queries import QueriesMixin
from headwater.service.runs import RunsMixin


class ByNameMixin(QueriesMixin, RunsMixin):
    """Lookups by name; mixed into `Service`."""

    def log_chunks(self, run_id: int, task_key: str, attempt: int | None = None,
                   iteration: int | None = None, repair: int | None = None
                   ) -> Iterator[bytes]:
        """The kept log of one attempt of a task, or of an iteration (as `log_file` picks it:
        by default the latest attempt of the latest repair), a chunk at a time (nothing when
        the attempt never started)."""
        return read_chunks(self.log_file(run_id, task_key, attempt, iteration, repair))

    def cancel_any(self, run_id: int, task_key: str | None) -> tuple[int, str | None, str]:
        """Cancel a run, one task of it, or a task run by its id (as `runs/cancel` takes
        either); (run id, task key, what happens next). A task run that has ended, or an
        iteration of a for-each, is refused: the one is over, the other is cancelled with
        its for-each task."""
        record, seq = self.find_run(run_id)
        if seq is not None:
            task_key = _task_to_cancel(run_id, record, seq)
        return record.run_id, task_key, self.cancel(record.run_id, task_key)


def _task_to_cancel(task_run_id: int, record: RunRecord, seq: int) -> str:
    """The task of the job run whose attempt `seq` a cancel by task run id stops."""
    run = record.state.task_runs[seq]
    if run.parent_seq is not None:
        loop = record.state.task_runs[run.parent_seq].task_key
        raise InvalidRequest(
            f"Run {task_run_id} is iteration {run.iteration} of the for-each task {loop!r} of "
            f"run {record.run_id}; an iteration is not cancelled alone: cancel the task "
            f"{loop!r} (every iteration) or run {record.run_id}.")
    if run.is_terminal:
        raise InvalidState(f"Task run {task_run_id} (task {run.task_key!r} of run "
                           f"{record.run_id}) has already ended {run.result}.")
    return run.task_key
