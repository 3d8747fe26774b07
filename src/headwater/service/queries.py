"""The queries: the Jobs API documents of runs and outputs, lists of runs, logs.

The same function answers `headwater runs get`, the REST `runs/get` and the run page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from headwater.api.documents import (
    PhaseEnd,
    repair_history_json,
    repair_pending,
    run_json,
    task_run_document,
)
from headwater.api.outputs import (
    LOG_LIMIT,
    attempt_fields,
    output_seq,
    run_output,
    setup_durations,
    wants_logs,
)
from headwater.core.audit import AuditAction
from headwater.core.permissions import Action
from headwater.core.runstate import TaskRun
from headwater.core.states import LifeCycleState, ResultState, TerminationCode
from headwater.engine.attempts import attempt_dir, log_path
from headwater.engine.log_cap import read_tail
from headwater.errors import InvalidRequest, NotFound, PermissionDenied
from headwater.ports import RunRecord, RunRequest, RunSummary, Store
from headwater.service.access import AccessMixin
from headwater.service.attempt_choice import Attempt, iteration_attempts, pick_attempt
from headwater.service.child_jobs import with_child_ids
from headwater.service.job_runs import job_run
from headwater.service.paging import Page, check_offset, id_of, page_of
from headwater.service.runs import unknown_task

RUN_TYPES = ("JOB_RUN", "WORKFLOW_RUN", "SUBMIT_RUN")
TimeRange = tuple[datetime | None, datetime | None]


class QueriesMixin(AccessMixin):
    """Read-only use cases; mixed into `Service`."""

    store: Store
    logs_dir: Path

    def find_run(self, any_run_id: int) -> tuple[RunRecord, int | None]:
        """A job run by its id, or the job run and seq of a task run id."""
        try:
            record, seq = self.store.load_run(any_run_id), None
        except NotFound as no_run:
            try:
                run_id, seq = self.store.find_task_run(any_run_id)
            except NotFound:
                raise no_run from None  # "Run N does not exist.", as clients expect
            record = self.store.load_run(run_id)
        self.authorize(record.job.job_id, Action.VIEW)
        return record, seq

    def run_document(self, run_id: int, include_resolved_values: bool = False,
                     include_history: bool = True) -> dict[str, Any]:
        """The `Run` of `runs/get` (a task run id gives that task run, with its iterations);
        a job run's `repair_history` with `include_history` (the CLI and the UI show it)."""
        record, seq, requests = self.find_run_with_requests(run_id)
        return self.document_of(record, seq, self.store.task_outputs(record.run_id), requests,
                                include_resolved_values, include_history)

    def find_run_with_requests(self, any_run_id: int
                               ) -> tuple[RunRecord, int | None, list[RunRequest]]:
        """`find_run`, and the job run's requests no engine has taken, read BEFORE the run.
        An engine takes a repair in the transaction that starts it: a repair taken between
        the two reads shows in the run, one not taken yet in the requests. Read after the run,
        a repair taken in between would show in neither, and the run would seem to have
        ended as before (the SDK's `repair_run_and_wait` would fail at once)."""
        try:  # a task run's id names its job run (one id space: no job run has the same)
            run_id, seq = self.store.find_task_run(any_run_id)
        except NotFound:
            run_id, seq = any_run_id, None
        requests = self.store.pending_requests([run_id])
        record, _ = self.find_run(run_id)  # "Run N does not exist." for an id that is neither
        return record, seq, requests

    def document_of(self, record: RunRecord, seq: int | None,
                    outputs: Mapping[int, Mapping[str, Any]], requests: Sequence[RunRequest],
                    include_resolved_values: bool = False,
                    include_history: bool = True) -> dict[str, Any]:
        """`run_document` of a run already loaded (and authorized), with its outputs and the
        requests read before it (`find_run_with_requests`)."""
        setup, fields = setup_durations(outputs), attempt_fields(outputs)
        if seq is not None:
            return with_child_ids(self.store, self.principal, task_run_document(
                record, seq, include_resolved_values, setup, fields))
        history = (repair_history_json(record, self.phase_ends(record)) if include_history
                   else None)
        document = with_child_ids(self.store, self.principal, run_json(
            record, include_resolved_values, setup, fields, history))
        if record.state.is_terminal:
            for request in requests:
                if request.kind == "REPAIR":
                    return repair_pending(document, request.body.get("repair_id"))
        return document

    def phase_ends(self, record: RunRecord) -> list[PhaseEnd]:
        """How the original run and each repair before the latest ended, oldest first, as
        the audit log's `run.ended` entries recorded it (a cancel or a timeout of the whole
        run, which its task runs do not tell); none for a run never repaired."""
        repairs = record.state.repairs
        if not repairs:
            return []
        entries = self.store.audit_entries(
            job_id=record.job.job_id, run_id=record.run_id, action=AuditAction.RUN_ENDED,
            since=record.created_time, until=repairs[-1].start_time, limit=None)
        return [_phase_end(stored.entry.details) for stored in entries]

    def output_document(self, run_id: int) -> dict[str, Any]:
        """The `RunOutput` of `runs/get-output` for a task run (or a one-task job run)."""
        record, seq = self.find_run(run_id)
        seq = output_seq(record, seq)
        output = self.store.task_outputs(record.run_id).get(seq, {})
        logs = None
        if wants_logs(record, seq) and self.may(record.job.job_id, Action.LOGS):
            logs = tail(log_path(self.logs_dir, record.run_id, record.state.task_runs[seq]))
        return run_output(record, seq, output, logs)

    def notebook_results(self, run_id: int) -> dict[str, str]:
        """The value each task's latest attempt exited with (a notebook's), in plan order."""
        record, _ = self.find_run(run_id)
        outputs = self.store.task_outputs(run_id)
        state = record.state
        found = {}
        for key in state.plan.order:
            result = outputs.get(state.latest.get(key, -1), {}).get("notebook_output", {})
            if isinstance(result, dict) and result.get("result"):
                found[key] = str(result["result"])
        return found

    def may(self, job_id: int, action: Action) -> bool:
        """Whether the principal may do `action` on the job (no error either way)."""
        try:
            self.authorize(job_id, action)
        except PermissionDenied:
            return False
        return True

    def list_runs(self, job_id: int | None = None, limit: int = 20, active_only: bool = False,
                  completed_only: bool = False, page_token: str | None = None,
                  run_type: str | None = None, started: TimeRange = (None, None),
                  offset: int = 0, trigger: str | None = None, result: str | None = None
                  ) -> Page[RunSummary]:
        """Runs, newest first, a page at a time: of one job, of one `run_type`, started
        within `started` (from, to: both ends included), fired by `trigger`, ended with
        `result`, skipping the first `offset`."""
        if not 1 <= limit <= 1000:
            raise InvalidRequest(f"limit must be between 1 and 1000, got {limit}")
        if active_only and completed_only:
            raise InvalidRequest("active_only and completed_only cannot both be true")
        if run_type is not None and run_type not in RUN_TYPES:
            raise InvalidRequest(f"run_type {run_type!r} is not one of {', '.join(RUN_TYPES)}")
        check_offset(offset)
        found = self.store.list_runs(job_id, offset + limit + 1, active_only, completed_only,
                                     before_id=id_of(page_token), visible_to=self.principal,
                                     run_type=run_type, started_after=started[0],
                                     started_before=started[1], trigger=trigger,
                                     result=result)
        return page_of(found[offset:], limit, lambda run: run.run_id)

    def log_file(self, run_id: int, task_key: str, attempt: int | None = None,
                 iteration: int | None = None, repair: int | None = None) -> Path:
        """The log of one attempt of a task, or of one iteration of a for-each: attempt
        number `attempt` (by default the latest) of repair `repair` (0 is the original run; by
        default the latest repair the task, or the iteration, ran in)."""
        record = job_run(self, run_id, "logs")
        self.authorize(record.job.job_id, Action.LOGS)
        if task_key not in record.state.latest:
            known = ", ".join(sorted(record.state.latest))
            raise NotFound(unknown_task(
                run_id, task_key, record.state.plan,
                "`headwater runs logs {run} {loop} --iteration N` shows iteration N's log") +
                f"; its tasks are: {known}")
        if iteration is not None:
            what = f"Iteration {iteration} of task {task_key!r} of run {run_id}"
            attempts = _iteration_attempts(record, task_key, iteration)
        else:
            what = f"Task {task_key!r} of run {run_id}"
            attempts = [Attempt(r.repair, r.attempt_number, r)
                        for r in record.state.attempts(task_key)]
        chosen = pick_attempt(what, attempts, attempt, repair)
        return log_path(self.logs_dir, run_id, chosen)

    def attempt_directory(self, run_id: int, seq: int) -> Path:
        """Where the files of one attempt live."""
        record = self.store.load_run(run_id)
        self.authorize(record.job.job_id, Action.LOGS)
        return attempt_dir(self.logs_dir, run_id, record.state.task_runs[seq])


def _phase_end(details: Mapping[str, Any]) -> PhaseEnd:
    """A `run.ended` audit entry's details as the run's state then (an entry written before
    entries held the termination code has it derived from the result)."""
    result, code = details.get("result"), details.get("termination_code")
    return PhaseEnd(LifeCycleState(details["life_cycle"]),
                    ResultState(result) if result else None, str(details.get("message") or ""),
                    TerminationCode(code) if code else None)


def tail(path: Path, limit: int = LOG_LIMIT) -> tuple[str, bool]:
    """The last `limit` bytes of a log (decoded leniently) and whether it was cut."""
    data, cut = read_tail(path, limit)
    return data.decode("utf-8", errors="replace"), cut


def _iteration_attempts(record: RunRecord, task_key: str, iteration: int
                        ) -> list[Attempt[TaskRun]]:
    """Every attempt of one iteration of the for-each task `task_key`, in every repair that
    ran the for-each, oldest first. An attempt belongs to its for-each's repair: one a repair
    kept (it succeeded before) still carries the repair that ran it, where its log is."""
    state = record.state
    loops = [run for run in state.attempts(task_key) if run.loop is not None]
    found = [Attempt(loop.repair, run.attempt_number, run) for loop in loops
             for run in state.iterations(loop.seq) if run.iteration == iteration]
    started = [loop.loop.started for loop in loops if loop.loop is not None]
    return iteration_attempts(task_key, record.run_id, iteration, started, found)


__all__ = ["QueriesMixin", "tail"]
