"""`/api/2.2/headwater/deploy`: jobs deployed from files by their bundle identity, what
`headwater deploy` and `headwater run --host` call (the Jobs API has no such endpoint: the
Databricks CLI keeps its deployment state in the workspace's files instead).

POST creates or resets the job of a `deployment_key`; GET finds it; POST `/check` refuses
(before a deploy copies its files) keys of jobs the caller may not manage; POST `/prune` deletes the
jobs a bundle deployed to a target that it no longer defines (all of them for a destroy).
GET `/workspace` says where the server keeps `/Workspace`, POST `/files/compare` says which of
a bundle's files (by SHA-256) its folder there lacks, POST `/files` copies them (a gzipped tar
body, the files held already listed by digest), as `databricks bundle deploy` syncs them first
(`core/bundle_sync.py`), and POST `/files/delete` deletes a bundle's folder (a destroy).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

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
    settings = settings_from_body(body.settings, "settings", service.destinations)
    record, status = service.deploy(settings, body.source, body.deployment_key, body.mode)
    return {"job_id": record.job_id, "status": status}


@router.get("")
def deployed(deployment_key: str, service: Caller) -> dict[str, Any]:
    """The id of the job deployed under `deployment_key` (404 when there is none)."""
    record = service.deployed_job(deployment_key, deployment_key)
    service.job_document(record.job_id)  # the caller may view it
    return {"job_id": record.job_id}


class Deployments(BaseModel):
    """The deployment keys of the jobs a deployment is about to create or update."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment_keys: list[str]


@router.post("/check")
def check(body: Deployments, service: Caller) -> dict[str, Any]:
    """403 naming every job under these keys the caller may not manage: a deploy asks before
    it copies its files, so that a refused deployment changes nothing."""
    service.check_may_deploy(body.deployment_keys)
    return {}


class Prune(BaseModel):
    """A bundle and target (and the `workspace.root_path` it deploys to), and the resource
    keys its files define now: its other deployed jobs are deleted (none kept: every one, as
    `databricks bundle destroy`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: str = Field(min_length=1)
    target: str | None = None  # None: a bundle that defines no target
    root_path: str | None = Field(default=None, pattern="^/Workspace/")
    keep: list[str]
    dry_run: bool = False  # only say which jobs would be deleted


@router.post("/prune")
def prune(body: Prune, service: Caller) -> dict[str, Any]:
    """Delete the jobs `bundle` deployed to `target` whose resource key is not in `keep`, in one
    transaction (their runs stay); 403 naming every one the caller may not manage, and then
    none is deleted. Lists the jobs deleted (with `dry_run`: that would be)."""
    removed = service.remove_left_out(body.bundle, body.target, body.keep, body.dry_run,
                                      body.root_path)
    return {"removed": [{"resource_key": job.resource_key, "job_id": job.job_id,
                         "name": job.name} for job in removed]}


@router.get("/workspace")
def workspace(service: Caller) -> dict[str, Any]:
    """Where `/Workspace` is on the server's machine, and who the caller is (whose
    `/Workspace/Users/<user>` folder a bundle deploys to by default)."""
    return {"workspace_dir": service.workspace_folder(), "user": service.user}


class Digests(BaseModel):
    """A bundle's files, each by its name relative to the folder of `path` and the SHA-256 of
    its content (hexadecimal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    files: dict[str, Annotated[str, Field(pattern="^[0-9a-f]{64}$")]]


@router.post("/files/compare")
def compare_files(body: Digests, service: Caller) -> dict[str, Any]:
    """Which of the files the folder of `path` (a `/Workspace/...` path) does not hold as
    they are: those a deploy sends whole, the others by digest alone."""
    return {"changed": service.changed_workspace_files(body.path, body.files)}


@router.post("/files")
def files(service: Caller, path: Annotated[str, Query(min_length=1)],
          archive: Annotated[bytes, Body(media_type="application/gzip")]) -> dict[str, Any]:
    """Make the folder of `path` (a `/Workspace/...` path) hold the bundle's files, sent as a
    gzipped tar archive (a file the folder holds already as an empty member with its digest
    in the pax header `HEADWATER.sha256`; 409 if it changed since): the server's folder and
    how many files were written, already so, and deleted."""
    synced = service.sync_workspace_files(path, archive)
    return {"folder": synced.folder, "written": synced.written,
            "unchanged": synced.unchanged, "deleted": synced.deleted}


class Folder(BaseModel):
    """A folder of the workspace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)


@router.post("/files/delete")
def delete_files(body: Folder, service: Caller) -> dict[str, Any]:
    """Delete the folder of `path` (a `/Workspace/...` path) with all in it, as `databricks
    bundle destroy` deletes the bundle's root path; whether it was there."""
    return {"removed": service.remove_workspace_files(body.path)}
