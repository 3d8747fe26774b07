"""One-time runs (`runs/submit`): a run of tasks that belong to no saved job.

The run gets a job of its own, hidden from every job list, that exists for that run: it holds
the settings (so the run reads like any other) and the run's permissions (the submitter owns
it, unless `access_control_list` says otherwise). Its runs have `run_type: SUBMIT_RUN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.core.load import settings_from_body
from headwater.errors import InvalidRequest
from headwater.ports import RunCreated
from headwater.service.access import grants_of
from headwater.service.jobs import JobsMixin
from headwater.service.runs import RunsMixin

# SubmitRun fields that are not JobSettings fields, or that mean something else there.
RUN_FIELDS = ("run_name", "access_control_list", "idempotency_token")


class SubmitMixin(JobsMixin, RunsMixin):
    """One-time runs; mixed into `Service`."""

    def submit_run(self, body: Mapping[str, Any]) -> RunCreated:
        """Store a one-time run of `body` (a Jobs API `SubmitRun`); the same
        `idempotency_token` gives the same run."""
        token = body.get("idempotency_token")
        if token is not None:
            found = self.store.submitted_run(self.user, str(token))
            if found is not None:
                return found
        run_name = body.get("run_name")
        if run_name is not None and not isinstance(run_name, str):  # named as the caller sent it
            raise InvalidRequest(f"$.run_name: must be a string (got {run_name!r})")
        settings_body = {k: v for k, v in body.items() if k not in RUN_FIELDS}
        settings_body["name"] = run_name or "Untitled"
        settings = settings_from_body(settings_body, destinations=self.destinations)
        grants = grants_of(body.get("access_control_list") or [])
        job = self.create_job(settings, "runs/submit", grants=grants, hidden=True)
        return self.start_run(job, {}, trigger="ONE_TIME", run_type="SUBMIT_RUN",
                              idempotency_token=None if token is None else str(token))
