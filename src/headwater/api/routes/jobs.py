"""`/api/2.x/jobs/`: create, get, list, reset, update, delete and run-now.

Each route reads the request, calls the service acting as the caller, and shapes the
answer as the Jobs API does; the service checks permissions and raises the errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from headwater.api.auth import Caller
from headwater.api.documents import job_json
from headwater.api.pages import JOB_ARRAYS, first_elements, job_page
from headwater.api.routes.common import is_paged, list_body
from headwater.api.schemas import (
    JobId,
    JobsApiId,
    Offset,
    Reset,
    RunNow,
    Update,
    access_control_list,
    possible_job_id,
)
from headwater.core.load import settings_from_body
from headwater.service.access import grants_of

router = APIRouter(tags=["jobs"])
JobBody = Annotated[dict[str, Any], Body(description="JobSettings, and access_control_list")]


@router.post("/create")
def create(body: JobBody, service: Caller) -> dict[str, int]:
    """Create a job; the caller owns it unless `access_control_list` names an owner."""
    settings_body = dict(body)
    entries = access_control_list(settings_body.pop("access_control_list", None))
    settings = settings_from_body(settings_body, destinations=service.destinations,
                                  typed_json=True)
    job = service.create_job(settings, "api", grants=grants_of(entries))
    return {"job_id": job.job_id}


@router.get("/get")
def get(job_id: JobsApiId, request: Request, service: Caller, page_token: str | None = None,
        include_trigger_state: bool = False,
        include_trigger_history: bool = False) -> dict[str, Any]:
    """A job's settings (in API 2.2, 100 tasks, clusters, parameters, environments a page);
    what its triggers saw and started, when asked."""
    document = service.job_document(possible_job_id(job_id), include_trigger_state,
                                    include_trigger_history)
    return job_page(document, page_token) if is_paged(request) else document


@router.get("/list")
def list_jobs(request: Request, service: Caller, limit: int = 20, offset: Offset = 0,
              name: str | None = None, page_token: str | None = None,
              expand_tasks: bool = False) -> dict[str, Any]:
    """The jobs the caller may view, by id; with `expand_tasks`, their tasks and clusters."""
    page = service.list_jobs(name, limit, page_token, offset)
    owners = service.job_owners([record.job_id for record in page.items])
    entries = []
    for record in page.items:
        entry = job_json(record, with_settings=expand_tasks, owner=owners.get(record.job_id))
        if expand_tasks:
            entry = service.with_child_job_ids(entry)
        if expand_tasks and is_paged(request):
            settings, more = first_elements(entry["settings"], JOB_ARRAYS)
            entry = {**entry, "settings": settings, "has_more": more}
        entries.append(entry)
    return list_body("jobs", entries, page)


@router.post("/reset")
def reset(body: Reset, service: Caller) -> dict[str, Any]:
    """Replace every setting of a job (its `run_as` stays when the new settings omit it)."""
    settings = settings_from_body(body.new_settings, "new_settings", service.destinations,
                                  typed_json=True)
    service.reset_job(possible_job_id(body.job_id), settings)
    return {}


@router.post("/update")
def update(body: Update, service: Caller) -> dict[str, Any]:
    """Change some settings of a job: top-level fields replaced, tasks merged by key."""
    service.update_job(possible_job_id(body.job_id), body.new_settings or {},
                       body.fields_to_remove or [], typed_json=True)
    return {}


@router.post("/delete")
def delete(body: JobId, service: Caller) -> dict[str, Any]:
    service.delete_job(possible_job_id(body.job_id))
    return {}


@router.post("/run-now")
def run_now(body: RunNow, service: Caller) -> dict[str, int]:
    """Start a run of a job (of the tasks `only` names); the same `idempotency_token` gives
    back the same run."""
    created = service.run_now(possible_job_id(body.job_id), body.job_parameters,
                              body.idempotency_token, body.only, body.task_parameters(),
                              body.queue.enabled if body.queue is not None else None)
    return {"run_id": created.run_id, "number_in_job": created.run_id}
