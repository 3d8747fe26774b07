"""`/api/2.x/jobs/runs/`: submit, get, get-output, list, cancel, cancel-all, repair, delete,
export.

The `Run` documents come from the service (the same as `headwater runs get --json`); these
routes add what depends on the request: the run pages' URLs and the 2.2 pages.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request

from headwater.api.auth import Caller
from headwater.api.documents import with_page_urls
from headwater.api.pages import RUN_ARRAYS, first_elements, run_page
from headwater.api.routes.common import base_url, is_paged, list_body
from headwater.api.schemas import (
    CancelAll,
    EpochMillis,
    JobsApiId,
    Offset,
    Repair,
    RunId,
    access_control_list,
    is_stored_id,
    possible_job_id,
    possible_run_id,
)
from headwater.errors import InvalidRequest, InvalidState
from headwater.service import Page

router = APIRouter(prefix="/runs", tags=["runs"])
MAX_LIST = 24  # runs/list answers at most 24 runs a page (`limit` 0 means as many)
RunType = Literal["JOB_RUN", "WORKFLOW_RUN", "SUBMIT_RUN"]


@router.post("/submit")
def submit(body: Annotated[dict[str, Any], Body(description="SubmitRun")],
           service: Caller) -> dict[str, int]:
    """Start a one-time run of tasks that belong to no saved job."""
    access_control_list(body.get("access_control_list"))  # refused before anything is made
    return {"run_id": service.submit_run(body).run_id}


@router.get("/get")
def get(run_id: JobsApiId, request: Request, service: Caller, include_history: bool = False,
        include_resolved_values: bool = False, page_token: str | None = None
        ) -> dict[str, Any]:
    """A job run, or a task run (a for-each task run with its `iterations`); a job run's
    `repair_history` only with `include_history`, as on Databricks (API 2.2 pages keep the
    array, empty, for the SDK's pager, which extends it page by page)."""
    document = with_page_urls(
        service.run_document(possible_run_id(run_id), include_resolved_values,
                             include_history),
        base_url(request))
    return run_page(document, page_token) if is_paged(request) else document


@router.get("/get-output")
def get_output(run_id: JobsApiId, request: Request, service: Caller) -> dict[str, Any]:
    """What a task run left: its notebook result, error and trace, logs, SQL output."""
    document = service.output_document(possible_run_id(run_id))
    return {**document, "metadata": with_page_urls(document["metadata"], base_url(request))}


@router.get("/list")
def list_runs(request: Request, service: Caller, job_id: JobsApiId | None = None,
              active_only: bool = False, completed_only: bool = False,
              run_type: RunType | None = None, expand_tasks: bool = False,
              start_time_from: EpochMillis | None = None,
              start_time_to: EpochMillis | None = None,
              limit: int = 20, offset: Offset = 0,
              page_token: str | None = None) -> dict[str, Any]:
    """Runs the caller may view, newest first; with `expand_tasks`, their tasks. An entry has
    no `repair_history`: Databricks gives it only from `runs/get` with `include_history`."""
    if not 0 <= limit <= MAX_LIST:  # worded as jobs/list words its own limit
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIST} (0: {MAX_LIST}), got "
                             f"{limit}")
    if job_id is not None and not is_stored_id(job_id):  # no job has it: no runs, as for any
        return list_body("runs", [], Page([]))
    page = service.list_runs(job_id, limit or MAX_LIST, active_only, completed_only,
                             page_token, run_type,
                             (_instant(start_time_from), _last_instant(start_time_to)), offset)
    base, paged = base_url(request), is_paged(request)
    documents = (service.run_document(summary.run_id, include_history=False)
                 for summary in page.items)
    entries = [_list_entry(with_page_urls(document, base), expand_tasks, paged)
               for document in documents]
    return list_body("runs", entries, page)


def _instant(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _last_instant(epoch_ms: int | None) -> datetime | None:
    """The last instant of millisecond `epoch_ms`: a run reports its start in whole
    milliseconds, so one that started within it started "at" it (and `start_time_to`
    includes it)."""
    start = _instant(epoch_ms)
    return None if start is None else start + timedelta(milliseconds=1, microseconds=-1)


def _list_entry(document: dict[str, Any], expand_tasks: bool, paged: bool) -> dict[str, Any]:
    """A `runs/list` entry: the run without its tasks, or (with `expand_tasks`) with them,
    the first 100 of each array in API 2.2 and `has_more` saying whether any was cut."""
    if not expand_tasks:
        document = {k: v for k, v in document.items() if k != "tasks"}
    if not paged:
        return document
    entry, more = first_elements(document, RUN_ARRAYS)
    return {**entry, "has_more": more}


@router.post("/cancel")
def cancel(body: RunId, service: Caller) -> dict[str, Any]:
    """Cancel a job run, or a task run (that task of its job run); cancelling a run that
    has ended does nothing."""
    with suppress(InvalidState):  # the Jobs API: on an ended run, "this is a no-op"
        service.cancel_any(possible_run_id(body.run_id), None)
    return {}


@router.post("/cancel-all")
def cancel_all(body: CancelAll, service: Caller) -> dict[str, Any]:
    """Cancel every active run of a job, or with `all_queued_runs`, every queued run."""
    job_id = None if body.job_id is None else possible_job_id(body.job_id)
    service.cancel_all(job_id, body.all_queued_runs)
    return {}


@router.post("/repair")
def repair(body: Repair, service: Caller) -> dict[str, Any]:
    """Rerun tasks of an ended run, inside that run, with the job's current settings. Besides
    Databricks' `repair_id`, `headwater.rerun` names every task it reruns, by why: asked,
    downstream (of them, not succeeded) and added (to the job since the run)."""
    asked = service.repair(possible_run_id(body.run_id), body.rerun_tasks or [],
                           all_failed=bool(body.rerun_all_failed_tasks),
                           rerun_dependents=bool(body.rerun_dependent_tasks),
                           latest_repair_id=body.latest_repair_id,
                           overrides=body.job_parameters, insist_on_latest=True,
                           task_parameters=body.task_parameters())
    chosen = asked.selection
    return {"repair_id": asked.repair_id, "headwater": {"rerun": {
        "asked": list(chosen.asked), "downstream": list(chosen.downstream),
        "added": list(chosen.added)}}}


@router.post("/delete")
def delete(body: RunId, service: Caller) -> dict[str, Any]:
    """Delete a run that has ended."""
    service.delete_run(possible_run_id(body.run_id))
    return {}


@router.get("/export")
def export(run_id: JobsApiId, service: Caller,
           views_to_export: Literal["CODE", "DASHBOARDS", "ALL"] = "CODE") -> dict[str, Any]:
    """The code of a notebook task run, as an HTML view (headwater has no dashboards)."""
    return {"views": service.export_run(possible_run_id(run_id), views_to_export)}
