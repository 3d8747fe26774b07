"""What a command line asks by the names people type: a task's log by run, task key and
attempt, a cancel by a job run or a task run id. The API asks by task run id instead."""

from __future__ import annotations

from collections.abc import Iterator

from headwater.engine.log_cap import read_chunks
from headwater.service.queries import QueriesMixin
from headwater.service.runs import RunsMixin


class ByNameMixin(QueriesMixin, RunsMixin):
    """Lookups by name; mixed into `Service`."""

    def log_chunks(self, run_id: int, task_key: str, attempt: int | None = None,
                   iteration: int | None = None) -> Iterator[bytes]:
        """The kept log of one attempt of a task (the latest by default), or of an iteration,
        a chunk at a time (nothing when the attempt never started)."""
        return read_chunks(self.log_file(run_id, task_key, attempt, iteration))

    def cancel_any(self, run_id: int, task_key: str | None) -> tuple[int, str | None, str]:
        """Cancel a run, one task of it, or a task run by its id; (run id, task key, what
        happens next)."""
        record, seq = self.find_run(run_id)
        if seq is not None:
            task_key = record.state.task_runs[seq].task_key
        return record.run_id, task_key, self.cancel(record.run_id, task_key)
