"""What the web pages read beyond the Jobs API documents: a run with everything its page shows
(in one load), whether it changed since, one attempt's log, a run's alerts, a job's figures,
and a job edit checked before it is saved.

Each method checks the principal's permission on the job, as every use case does: seeing a
run and its figures takes `CAN_VIEW`, reading logs `CAN_MANAGE_RUN`, previewing an edit
`CAN_MANAGE`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.core.permissions import Action
from headwater.core.spec import JobSettings
from headwater.engine.attempts import log_path
from headwater.engine.log_cap import read_chunks
from headwater.errors import NotFound
from headwater.ports import JobRecord, JobSummary, MetricPoint, RunRecord, RunSummary
from headwater.service.jobs import JobsMixin
from headwater.service.queries import QueriesMixin


@dataclass(frozen=True, slots=True)
class RunDetails:
    """A job run as its page shows it: the stored run, its `Run` document, what each attempt
    left and recorded (by seq), and what the principal may do with it."""

    record: RunRecord
    focus: int | None  # the seq of the task run the id asked for named, if it named one
    document: dict[str, Any]  # the job run's `Run` of `runs/get`
    outputs: Mapping[int, Mapping[str, Any]]
    metrics: Mapping[int, Mapping[str, float]]
    version: int  # events recorded so far: see `run_version`
    may_run: bool  # cancel, repair, run again
    may_read_logs: bool
    job_deleted: bool = False  # then it cannot run again, or be repaired


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """Where one attempt's output is, and whether more may still come."""

    run_id: int
    task_run_id: int
    task_key: str
    attempt_number: int
    iteration: int | None
    ended: bool
    path: Path


@dataclass(frozen=True, slots=True)
class JobFigures:
    """A job's last ended runs: the summary, each run, and the figures its tasks recorded."""

    job: JobRecord
    summary: JobSummary
    runs: Sequence[RunSummary]  # newest first
    points: Sequence[MetricPoint]  # oldest run first


class DetailsMixin(QueriesMixin, JobsMixin):
    """The pages' reads; mixed into `Service`."""

    def run_details(self, any_run_id: int) -> RunDetails:
        """The run of a job run id, or of a task run id (then `focus` names the task run)."""
        record, seq, requests = self.find_run_with_requests(any_run_id)
        outputs = self.store.task_outputs(record.run_id)
        job_id = record.job.job_id
        return RunDetails(
            record=record, focus=seq, document=self.document_of(record, None, outputs, requests),
            outputs=outputs, metrics=self.store.task_metrics(record.run_id),
            version=self.store.run_version(record.run_id)[1],
            may_run=self.may(job_id, Action.RUN), may_read_logs=self.may(job_id, Action.LOGS),
            job_deleted=self._deleted(job_id))

    def _deleted(self, job_id: int) -> bool:
        try:
            self.store.get_job(job_id)
        except NotFound:
            return True
        return False

    def run_version(self, run_id: int) -> int:
        """How many events the run has recorded: it grows with every change of the run, so a
        page asks this instead of loading the run again."""
        job_id, version = self.store.run_version(run_id)
        self.authorize(job_id, Action.VIEW)
        return version

    def attempt_log(self, task_run_id: int) -> AttemptLog:
        """The log of the attempt (or iteration attempt) with this task run id."""
        record, seq = self.find_run(task_run_id)
        self.authorize(record.job.job_id, Action.LOGS)
        if seq is None:
            seq = record.state.latest[record.state.plan.order[0]]
        run = record.state.task_runs[seq]
        return AttemptLog(record.run_id, record.task_run_ids.get(seq, task_run_id),
                          run.task_key, run.attempt_number, run.iteration, run.is_terminal,
                          log_path(self.logs_dir, record.run_id, run))

    def attempt_log_chunks(self, task_run_id: int) -> Iterator[bytes]:
        """The whole kept log of the attempt with this task run id, a chunk at a time (what
        `headwater runs logs --host` reads: `runs/get-output` has no logs for a notebook)."""
        return read_chunks(self.attempt_log(task_run_id).path)

    def run_alerts(self, run_id: int) -> list[Mapping[str, Any]]:
        """The notifications a run sent or is sending, newest first: event, destination,
        status, tries and the last error (the outbox rows of the run)."""
        job_id, _ = self.store.run_version(run_id)
        self.authorize(job_id, Action.VIEW)
        return self.store.outbox_rows(run_id, None, 200)

    def job_figures(self, job_id: int, last_runs: int = 30) -> JobFigures:
        """Success rate, durations and recorded figures over the job's last ended runs."""
        job = self.get_job(job_id)
        runs = self.store.list_runs(job_id, last_runs, completed_only=True)
        return JobFigures(job, self.store.job_summary(job_id, last_runs), runs,
                          self.store.metric_points(job_id, last_runs))

    def preview_update(self, job_id: int, new_settings: Mapping[str, Any],
                       fields_to_remove: Sequence[str] = ()
                       ) -> tuple[JobRecord, JobSettings, JobSettings]:
        """The job now, its settings now and its settings after `update_job(job_id,
        new_settings, fields_to_remove)`, checked as that would check them, without saving
        anything. Both settings are read the same way, so that they compare field by field.

        Raises:
            InvalidRequest: naming by JSON path every setting the update gets wrong.
            PlanError: when the tasks would not form a graph that can run.
        """
        current, settings = self._updated_settings(job_id, new_settings, fields_to_remove)
        return current, JobSettings.model_validate(dict(current.settings)), settings


__all__ = ["AttemptLog", "DetailsMixin", "JobFigures", "RunDetails"]
