"""One-time runs (`runs/submit`): a run of tasks that belong to no saved job.

The run gets a job of its own, hidden from every job list, that exists for that run: it holds
the settings (so the run reads like any other) and the run's permissions (the submitter owns
it, unless `access_control_list` says otherwise). Its runs have `run_type: SUBMIT_RUN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from headwater.core.load import settings_from_body
from headwater.core.spec import JobSettings
from headwater.errors import Problem, SpecError
from headwater.ports import RunCreated
from headwater.service.access import grants_of
from headwater.service.jobs import JobsMixin
from headwater.service.runs import RunsMixin

# SubmitRun fields that are not JobSettings fields, or that mean something else there.
RUN_FIELDS = ("run_name", "access_control_list", "idempotency_token")
NO_TASKS = Problem("$.tasks", "tasks", "a one-time run needs at least one task; list what it "
                                       "runs under tasks")


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
        settings = self._submitted_settings(body)
        grants = grants_of(body.get("access_control_list") or [])
        job = self.create_job(settings, "runs/submit", grants=grants, hidden=True)
        return self.start_run(job, {}, trigger="ONE_TIME", run_type="SUBMIT_RUN",
                              idempotency_token=None if token is None else str(token))

    def _submitted_settings(self, body: Mapping[str, Any]) -> JobSettings:
        """The job settings of a `SubmitRun` body, checked as `jobs/create` checks them, and
        with at least one task; every problem is in one report, named by the field the caller
        sent (`run_name`, where the job has `name`).

        Raises:
            SpecError: listing every problem, each at its JSON path.
        """
        settings_body = {k: v for k, v in body.items() if k not in RUN_FIELDS}
        run_name = body.get("run_name")
        settings_body["name"] = "Untitled" if run_name in (None, "") else run_name
        problems = [NO_TASKS] if body.get("tasks") in (None, []) else []
        try:
            settings = settings_from_body(settings_body, destinations=self.destinations,
                                          typed_json=True)
        except SpecError as error:
            raise SpecError([*map(_as_sent, error.problems), *problems]) from None
        if problems:
            raise SpecError(problems)
        return settings


def _as_sent(problem: Problem) -> Problem:
    """`problem`, named by the field of the `SubmitRun` body: its `name` is the `run_name`."""
    if problem.path != "name":
        return problem
    return replace(problem, where="$.run_name", path="run_name")
