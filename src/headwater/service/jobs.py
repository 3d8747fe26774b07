"""The jobs use cases: create, deploy, reset, update, delete, get, list, find by name.

Jobs are keyed by id, as in the Jobs API: `create` makes a new job every time, and every
change of settings is a new version that later runs point at (a running run keeps its own).
A job deployed from files carries a deployment key (bundle name, target, resource key, or
the file for a plain job file), so that `headwater run` or a redeploy of the same files
updates that job instead of making another.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from headwater.api.documents import job_json
from headwater.core.job_update import paused_changes, updated
from headwater.core.load import settings_from_body
from headwater.core.permissions import Action, Grant, Level, checked, owner_grant, owner_of
from headwater.core.plan import build_plan
from headwater.core.spec import JobSettings
from headwater.core.spec_common import INT32_MAX
from headwater.core.spec_job import RunAs
from headwater.core.trigger_details import per_trigger_state, trigger_history, trigger_state
from headwater.core.triggers import (
    entry_key,
    next_fire_time,
    states_from_body,
    trigger_paths,
    trigger_views,
)
from headwater.engine.scheduler import last_ended_run
from headwater.errors import Conflict, InvalidRequest, NotFound
from headwater.ports import Clock, JobRecord, Store
from headwater.service.access import AccessMixin, declared_grants
from headwater.service.child_jobs import with_child_ids
from headwater.service.paging import Page, check_offset, id_of, page_of


class JobsMixin(AccessMixin):
    """Jobs use cases; mixed into `Service`."""

    store: Store
    clock: Clock
    user: str
    destinations: frozenset[str] | None  # the ids webhook_notifications may name, if known

    def create_job(self, settings: JobSettings, source: str = "api",
                   deployment_key: str | None = None,
                   grants: Sequence[Grant] | None = None, hidden: bool = False) -> JobRecord:
        """A new job, owned by its creator unless `grants` (its access control list) name
        another owner. With a `deployment_key`, `Conflict` if that key has a job already."""
        build_plan(settings)  # a job that cannot run is refused before it is stored
        self.check_upstream_jobs(settings)
        if deployment_key is not None:
            found = self.store.job_by_deployment(deployment_key)
            if found is not None:
                raise Conflict(f"Job {found.job_id} ({found.name!r}) was deployed from these "
                               "files already; reset it to change its settings.")
        declared = [*(grants or []), *declared_grants(settings)]
        self.check_identity(_run_as(settings), owner_of(declared))
        return self.store.create_job(_body(settings), source, self.clock.now(), self.user,
                                     deployment_key,
                                     _with_owner(declared, Grant(self.user, Level.IS_OWNER)),
                                     hidden)

    def deploy_job(self, settings: JobSettings, source: str, deployment_key: str) -> JobRecord:
        """The job deployed under `deployment_key`, created or updated to `settings`.

        Permissions the settings declare replace the job's list, as `databricks bundle
        deploy` does (its owner stays unless they name another); none leave it as it is.
        """
        build_plan(settings)
        declared = declared_grants(settings)
        owner = Grant(self.user, Level.IS_OWNER)
        found = self.store.job_by_deployment(deployment_key)
        self.check_upstream_jobs(settings, found.job_id if found else None)
        if found is not None:  # its owner's whole entry: a service principal stays one
            owner = owner_grant(self.authorize(found.job_id, Action.MANAGE)) or owner
        self.check_identity(_run_as(settings), owner_of(declared),
                            _stored_run_as(found), owner.name)
        replaced = bool(declared) or found is None
        if owner_of(declared) is None:  # the owner stays: an entry the bundle gives them goes,
            declared = [g for g in declared if g.group or g.name != owner.name]  # as the CLI
        grants = _with_owner(declared, owner) if replaced else None
        return self.store.deploy_job(_body(settings), source, self.clock.now(), self.user,
                                     deployment_key, grants)

    def reset_job(self, job_id: int, settings: JobSettings, source: str = "api") -> JobRecord:
        """Replace every setting of a job (a new version); `NotFound` for an unknown job.

        Settings without `run_as` keep the job's (as Lakeflow's reset does).
        """
        build_plan(settings)
        current = self.store.get_job(job_id)
        self.authorize(job_id, Action.MANAGE)
        self.check_upstream_jobs(settings, job_id)
        body = _body(settings)
        if "run_as" not in body and current.settings.get("run_as") is not None:
            body["run_as"] = current.settings["run_as"]
        self.check_identity(_run_as(settings), None, _stored_run_as(current))
        return self.store.update_job(job_id, body, source, self.clock.now(), self.user)

    def update_job(self, job_id: int, new_settings: Mapping[str, Any],
                   fields_to_remove: Sequence[str] = (), typed_json: bool = False
                   ) -> JobRecord:
        """Change some settings of a job (Jobs API `update`: see core/job_update.py). Each
        problem is named where it was sent in `new_settings`, or as the job's own. With
        `typed_json`, `new_settings` is a Jobs API body, held to typed JSON where it was
        sent (`core.load.validate`), not where the job's stored settings stay."""
        current, settings = self._updated_settings(job_id, new_settings, fields_to_remove,
                                                   typed_json)
        self.check_upstream_jobs(settings, job_id)
        self.check_identity(_run_as(settings), None, _stored_run_as(current))
        return self.store.update_job(job_id, _body(settings), "api", self.clock.now(),
                                     self.user)

    def _updated_settings(self, job_id: int, new_settings: Mapping[str, Any],
                          fields_to_remove: Sequence[str], typed_json: bool = False
                          ) -> tuple[JobRecord, JobSettings]:
        """The job now and its settings after the update, validated once and planned, without
        saving anything; only for a principal who may manage the job."""
        current = self.store.get_job(job_id)
        self.authorize(job_id, Action.MANAGE)
        merged, sent_at = updated(current.settings, new_settings, fields_to_remove)
        settings = settings_from_body(merged, "new_settings", self.destinations,
                                      typed_json, sent_at)
        build_plan(settings)
        return current, settings

    def check_upstream_jobs(self, settings: JobSettings, job_id: int | None = None) -> None:
        """`InvalidRequest` when a job-completion trigger names by id a job that does not
        exist, or the job itself (each of its runs would start the next, forever);
        `PermissionDenied` for a job the caller may not view."""
        for at, view in trigger_paths(settings):
            self._check_monitored(view, at, job_id)

    def _check_monitored(self, settings: JobSettings, at: str, job_id: int | None) -> None:
        completion = settings.trigger.job_completion if settings.trigger else None
        for index, monitored in enumerate(completion.jobs if completion else []):
            if not monitored.job_id:
                continue  # a name of the same bundle: looked up when the trigger looks
            where = f"{at}.job_completion.jobs[{index}].job_id"
            upstream = int(monitored.job_id)
            if upstream == job_id:
                raise InvalidRequest(f"{where}: a job cannot wait for its own runs to end; "
                                     "name an upstream job")
            try:
                if not 0 < upstream <= INT32_MAX:  # no job has such an id
                    raise NotFound(f"Job {upstream} does not exist.")
                self.get_job(upstream)
            except NotFound:
                raise InvalidRequest(f"{where}: job {upstream} does not exist; create the "
                                     "upstream job first") from None

    def delete_job(self, job_id: int) -> None:
        """Delete a job; its runs and versions stay readable."""
        self.store.get_job(job_id)
        self.authorize(job_id, Action.MANAGE)
        self.store.delete_job(job_id, self.clock.now(), self.user)

    def deployed_job(self, deployment_key: str, source: str) -> JobRecord:
        """The job deployed from files under `deployment_key`; `NotFound` naming `source`."""
        found = self.store.job_by_deployment(deployment_key)
        if found is None:
            raise NotFound(f"No job was created from {source} ({deployment_key}); create it "
                           "first, or name the job to reset by its id.")
        return found

    def set_paused(self, job_id: int, paused: bool) -> JobRecord:
        """Pause (or unpause) a job's schedule, trigger and continuous settings: a new version.

        Raises:
            InvalidState: for a job that has none of them.
        """
        job = self.store.get_job(job_id)
        self.authorize(job_id, Action.MANAGE)
        settings = {**job.settings, **paused_changes(job_id, job.settings, paused)}
        return self.store.update_job(job_id, settings, job.source, self.clock.now(), self.user)

    def job_document(self, job_id: int, include_trigger_state: bool = False,
                     include_trigger_history: bool = False) -> dict[str, Any]:
        """The `Job` of `jobs/get`, with when its schedule or periodic trigger fires next.

        With `include_trigger_state`, what its triggers saw (`core.trigger_details`): the
        `trigger_state` of a job's one `trigger`, or each entry's `state` in `trigger_details`
        for a job with `triggers`; with `include_trigger_history`, each entry's `history`.
        """
        job = self.get_job(job_id)
        stored = self.store.trigger_states([job_id]).get(job_id)
        settings = JobSettings.model_validate(dict(job.settings))
        views = trigger_views(settings)
        states = states_from_body(None if stored is None else stored[1], len(views))
        now = self.clock.now()
        fires = [t for t in (next_fire_time(v, s, now) for v, s in zip(views, states, strict=True))
                 if t is not None]
        document = self.with_child_job_ids(job_json(
            job, next_fire=min(fires, default=None), owner=self.job_owners([job_id]).get(job_id)))
        if not settings.triggers:
            seen = trigger_state(views[0], states[0], now) if include_trigger_state else None
            return {**document, "trigger_state": seen} if seen else document
        details: list[dict[str, Any]] = [{} for _ in views]
        if include_trigger_state:
            continuous = any(view.continuous is not None for view in views)
            last = last_ended_run(self.store, job_id) if continuous else None
            for detail, view, state in zip(details, views, states, strict=True):
                detail["state"] = per_trigger_state(view, state, now, last)
        if include_trigger_history:
            lasts = self.store.last_trigger_fires(job_id, [entry_key(i) for i in range(len(views))])
            for detail, view, fire in zip(details, views, lasts, strict=True):
                detail["history"] = trigger_history(view, fire)
        if include_trigger_state or include_trigger_history:
            document["trigger_details"] = details
        return document

    def with_child_job_ids(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A `Job` document whose Run Job tasks that name their child by `job_name` name it
        by `job_id` too, as the Jobs API's (`service/child_jobs.py`)."""
        return with_child_ids(self.store, self.principal, document)

    def get_job(self, job_id: int) -> JobRecord:
        """The latest version of a job; `NotFound` ("Job N does not exist.")."""
        job = self.store.get_job(job_id)
        self.authorize(job_id, Action.VIEW)
        return job

    def job_owners(self, job_ids: Collection[int]) -> dict[int, str | None]:
        """Each job's owner: who runs it when it names no `run_as` (`run_as_user_name`)."""
        return {job_id: owner_of(grants)
                for job_id, grants in self.store.job_grants(job_ids).items()}

    def list_jobs(self, name: str | None = None, limit: int = 20,
                  page_token: str | None = None, offset: int = 0) -> Page[JobRecord]:
        """Jobs by id, a page at a time (skipping the first `offset`); `name` matches
        exactly, ignoring case."""
        if not 1 <= limit <= 100:
            raise InvalidRequest(f"limit must be between 1 and 100, got {limit}")
        check_offset(offset)
        found = self.store.list_jobs(name, offset + limit + 1, id_of(page_token),
                                     self.principal)
        return page_of(found[offset:], limit, lambda job: job.job_id)

    def find_job(self, job_id: int | None = None, name: str | None = None) -> JobRecord:
        """A job by id, or by its name when exactly one job has it."""
        if job_id is not None:
            return self.get_job(job_id)
        found = self.store.list_jobs(name or "", visible_to=self.principal)
        if len(found) == 1:
            return found[0]
        if found:
            ids = ", ".join(str(job.job_id) for job in found)
            raise InvalidRequest(f"{len(found)} jobs are named {name!r} (ids {ids}); "
                                 "name the job by its id.")
        known = sorted({job.name for job in self.store.list_jobs(visible_to=self.principal)})
        close = difflib.get_close_matches(name or "", known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise NotFound(f"No job is named {name!r}{hint}; the jobs are: {', '.join(known)}")


def _with_owner(grants: Sequence[Grant] | None, owner: Grant) -> list[Grant]:
    """A job's access control list: the grants given, owned by `owner` (the creator's entry,
    or the owner's the job had) unless they name an owner; checked."""
    given = list(grants or [])
    if owner_of(given) is None:
        given.append(owner)
    return checked(given)


def _run_as(settings: JobSettings) -> str | None:
    return settings.run_as.identity if settings.run_as else None


def _stored_run_as(job: JobRecord | None) -> str | None:
    """The `run_as` a stored job names, if any."""
    stored = job.settings.get("run_as") if job else None
    return RunAs.model_validate(stored).identity if isinstance(stored, dict) else None


def _body(settings: JobSettings) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude_none=True)


__all__ = ["JobsMixin"]

