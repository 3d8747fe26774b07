"""Deploying jobs from files: the job of a deployment key, created, reset or either; and
removing the jobs a bundle deployed to a target that its files no longer define.

What `headwater deploy`, `headwater run FILE`, `headwater jobs create|reset FILE` and
`headwater bundle destroy` share, on the local state store or through a server (the API's
deploy endpoints call the same methods).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from headwater.core.deployment import (
    DEFAULT_TARGET,
    bundle_prefix,
    is_left_out,
    resource_key,
    unrooted_prefix,
)
from headwater.core.permissions import Action, allows
from headwater.core.spec import JobSettings
from headwater.errors import PermissionDenied
from headwater.ports import JobRecord
from headwater.service.jobs import JobsMixin

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class DeployMode(StrEnum):
    """What a deployment may do to the job of its key."""

    CREATE = "create"  # make it; a job for the key already is a conflict
    RESET = "reset"  # replace its settings; no job for the key is not found
    DEPLOY = "deploy"  # either: `databricks bundle deploy`


@dataclass(frozen=True, slots=True)
class RemovedJob:
    """A job a bundle deployed to a target that a deploy or a destroy deletes (or would)."""

    resource_key: str
    job_id: int
    name: str


class DeployMixin(JobsMixin):
    """Deployments; mixed into `Service`."""

    def deploy(self, settings: JobSettings, source: str, deployment_key: str,
               mode: DeployMode = DeployMode.DEPLOY) -> tuple[JobRecord, str]:
        """The job deployed under `deployment_key` with `settings`, and what became of it:
        "created", "updated" (a new version) or "unchanged"."""
        if mode is DeployMode.CREATE:
            return self.create_job(settings, source, deployment_key), CREATED
        before = self._deployed(deployment_key)
        if mode is DeployMode.RESET:
            found = before or super().deployed_job(deployment_key, source)  # NotFound
            record = self.reset_job(found.job_id, settings, source)
        else:
            record = self.deploy_job(settings, source, deployment_key)
        if before is None:
            return record, CREATED
        return record, UPDATED if record.version != before.version else UNCHANGED

    def deployed_job(self, deployment_key: str, source: str) -> JobRecord:
        """The job deployed under `deployment_key` (one deployed before keys held the root
        path taken over first); `NotFound` naming `source`."""
        return self._deployed(deployment_key) or super().deployed_job(deployment_key, source)

    def check_may_deploy(self, deployment_keys: Collection[str]) -> None:
        """Refuse, before anything changes (a deploy's files are copied first), a deployment
        that would update a job the caller may not manage.

        Raises:
            PermissionDenied: naming every job under `deployment_keys` the caller may not
                manage.
        """
        found = [job for job in map(self.store.job_by_deployment, deployment_keys) if job]
        refused = self._unmanageable(found)
        if refused:
            named = ", ".join(f"job {job.job_id} ({job.name!r})" for job in refused)
            raise PermissionDenied(
                f"User {self.user} does not have permission to manage {named}, which this "
                "deployment updates (it takes CAN_MANAGE); nothing was changed, its files "
                "were not copied. Ask the job's owner for CAN_MANAGE, or deploy to a "
                "workspace.root_path of your own.")

    def remove_left_out(self, bundle: str, target: str | None, kept: Collection[str],
                        dry_run: bool = False, root_path: str | None = None
                        ) -> list[RemovedJob]:
        """Delete the jobs `bundle` deployed to `target` (on a server: at `root_path`, its
        `workspace.root_path`) whose resource key is not in `kept`
        (none kept: all of them, as `databricks bundle destroy`), in one transaction and as
        `delete_job` does: their runs stay readable, and active ones run on to their end.
        With `dry_run`, only say which they are. Those already deleted are skipped, so a
        deploy that stopped midway is finished by the next.

        Raises:
            PermissionDenied: naming every such job the caller may not manage; then none is
                deleted.
        """
        prefix = bundle_prefix(bundle, target, root_path)
        left_out = [job for job in self._deployed_under(prefix, dry_run)
                    if is_left_out(job.deployment_key, prefix, kept)]
        self._check_may_delete(left_out, bundle, target, prefix)
        if not dry_run and left_out:
            left_out = self.store.delete_jobs([job.job_id for job in left_out],
                                              self.clock.now(), self.user)
        return [RemovedJob(resource_key(job.deployment_key, prefix) or "", job.job_id, job.name)
                for job in left_out]

    def _deployed_under(self, prefix: str, dry_run: bool) -> list[JobRecord]:
        """The jobs deployed under `prefix`, with those of the same deployment made before
        keys held the root path that the caller may take over (`_taken_over`): taken over,
        unless `dry_run`."""
        found = self.store.jobs_deployed_under(prefix)
        unrooted = unrooted_prefix(prefix)
        if unrooted is None:
            return found
        keys = {resource_key(job.deployment_key, prefix) for job in found}
        for job in self.store.jobs_deployed_under(unrooted):
            key = resource_key(job.deployment_key, unrooted)
            taken = None if key is None or key in keys else \
                self._taken_over(job, prefix + key, dry_run)
            if taken is not None:
                found.append(taken)
        return found

    def _deployed(self, deployment_key: str) -> JobRecord | None:
        """The job deployed under `deployment_key`, or one deployed under its old form
        (before keys held the root path) that the caller may take over, taken over."""
        found = self.store.job_by_deployment(deployment_key)
        prefix, _, resource = deployment_key.rpartition("/")
        unrooted = unrooted_prefix(prefix + "/")
        if found is not None or unrooted is None:
            return found
        return self._taken_over(self.store.job_by_deployment(unrooted + resource),
                                deployment_key)

    def _taken_over(self, old: JobRecord | None, deployment_key: str,
                    dry_run: bool = False) -> JobRecord | None:
        """`old`, a job of a server deployment keyed before keys held the root path, given
        `deployment_key` (unless `dry_run`: as it would be) if the caller created it; else
        None. An upgrade deploys the same job, and no one takes over another user's."""
        if old is None or old.creator != self.user:
            return None
        if not dry_run:
            self.store.rekey_deployment(old.job_id, deployment_key)
        return replace(old, deployment_key=deployment_key)

    def _check_may_delete(self, left_out: Sequence[JobRecord], bundle: str,
                          target: str | None, prefix: str) -> None:
        refused = self._unmanageable(left_out)
        if not refused:
            return
        named = ", ".join(f"job {job.job_id} ({job.name!r}, resource "
                          f"{resource_key(job.deployment_key, prefix)})" for job in refused)
        raise PermissionDenied(
            f"User {self.user} does not have permission to delete {named} of bundle {bundle} "
            f"(target {target or DEFAULT_TARGET}), which this deployment removes (it takes "
            "CAN_MANAGE); nothing was changed. Ask the job's owner for CAN_MANAGE, or to "
            "delete it.")

    def _unmanageable(self, jobs: Sequence[JobRecord]) -> list[JobRecord]:
        """Those of `jobs` the caller may not manage."""
        grants = self.store.job_grants([job.job_id for job in jobs])
        return [job for job in jobs
                if not allows(self.principal, grants.get(job.job_id, []), Action.MANAGE)]
