"""`/api/2.0/permissions/jobs/{job_id}`: a job's access control list (GET, PUT replaces it,
PATCH adds to it) and the levels there are (`.../permissionLevels`).

A job id is 64 bits, as in the Jobs API: one past what the store holds names no job, and is
answered as any unknown job is (404 "Job N does not exist."), the store not asked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from headwater.api.access_documents import permissions_json
from headwater.api.auth import Caller
from headwater.api.schemas import JobsApiId, Permissions, possible_job_id
from headwater.service import Service
from headwater.service.access import grants_of

router = APIRouter(prefix="/api/2.0/permissions/jobs", tags=["permissions"])


@router.get("/{job_id}")
def get(job_id: JobsApiId, service: Caller) -> dict[str, Any]:
    """Who may do what with the job (anyone who may view it may read this)."""
    return permissions_json(job_id, service.job_permissions(possible_job_id(job_id)))


@router.put("/{job_id}")
def put(job_id: JobsApiId, body: Permissions, service: Caller) -> dict[str, Any]:
    """Replace the job's list (its owner stays unless the new list names another)."""
    return _set(job_id, body, service, replace=True)


@router.patch("/{job_id}")
def patch(job_id: JobsApiId, body: Permissions, service: Caller) -> dict[str, Any]:
    """Add entries to the job's list (an entry for a user or group replaces theirs)."""
    return _set(job_id, body, service, replace=False)


def _set(job_id: int, body: Permissions, service: Service, replace: bool) -> dict[str, Any]:
    entries = [entry.model_dump(exclude_none=True) for entry in body.access_control_list]
    grants = service.set_job_permissions(possible_job_id(job_id), grants_of(entries),
                                         replace=replace)
    return permissions_json(job_id, grants)


@router.get("/{job_id}/permissionLevels")
def levels(job_id: JobsApiId, service: Caller) -> dict[str, Any]:
    """The levels a job's list may grant, each with what it allows."""
    service.job_permissions(possible_job_id(job_id))  # the job exists, the caller may view it
    return {"permission_levels": service.permission_levels()}
