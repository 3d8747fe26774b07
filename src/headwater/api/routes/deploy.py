"""`/api/2.2/headwater/deploy`: jobs deployed from files by their bundle identity, what
`headwater deploy` and `headwater run --host` call (the Jobs API has no such endpoint: the
Databricks CLI keeps its deployment state in the workspace's files instead).

POST creates or resets the job of a `deployment_key`; GET finds it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from headwater.api.auth import Caller
from headwater.core.load import settings_from_body
from headwater.service.deploy import DeployMode

router = APIRouter(prefix="/api/2.2/headwater/deploy", tags=["headwater"])


class Deployment(BaseModel):
    """A job's settings under its bundle identity, and what the deployment may do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment_key: str
    source: str
    mode: DeployMode = DeployMode.DEPLOY
    settings: dict[str, Any]


@router.post("")
def deploy(body: Deployment, service: Caller) -> dict[str, Any]:
    """Create or reset the job of `deployment_key`: its id and "created", "updated" (a new
    version) or "unchanged"."""
    settings = settings_from_body(body.settings, "settings")
    record, status = service.deploy(settings, body.source, body.deployment_key, body.mode)
    return {"job_id": record.job_id, "status": status}


@router.get("")
def deployed(deployment_key: str, service: Caller) -> dict[str, Any]:
    """The id of the job deployed under `deployment_key` (404 when there is none)."""
    record = service.deployed_job(deployment_key, deployment_key)
    service.job_document(record.job_id)  # the caller may view it
    return {"job_id": record.job_id}
