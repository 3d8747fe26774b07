"""Deploying jobs from files: the job of a deployment key, created, reset or either.

What `headwater deploy`, `headwater run FILE`, `headwater jobs create|reset FILE` share, on
the local state store or through a server (the API's deploy endpoint calls the same method).
"""

from __future__ import annotations

from enum import StrEnum

from headwater.core.spec import JobSettings
from headwater.ports import JobRecord
from headwater.service.jobs import JobsMixin

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class DeployMode(StrEnum):
    """What a deployment may do to the job of its key."""

    CREATE = "create"  # make it; a job for the key already is a conflict
    RESET = "reset"  # replace its settings; no job for the key is not found
    DEPLOY = "deploy"  # either: `databricks bundle deploy`


class DeployMixin(JobsMixin):
    """Deployments; mixed into `Service`."""

    def deploy(self, settings: JobSettings, source: str, deployment_key: str,
               mode: DeployMode = DeployMode.DEPLOY) -> tuple[JobRecord, str]:
        """The job deployed under `deployment_key` with `settings`, and what became of it:
        "created", "updated" (a new version) or "unchanged"."""
        if mode is DeployMode.CREATE:
            return self.create_job(settings, source, deployment_key), CREATED
        before = self.store.job_by_deployment(deployment_key)
        if mode is DeployMode.RESET:
            found = self.deployed_job(deployment_key, source)
            record = self.reset_job(found.job_id, settings, source)
        else:
            record = self.deploy_job(settings, source, deployment_key)
        if before is None:
            return record, CREATED
        return record, UPDATED if record.version != before.version else UNCHANGED
