"""Backfills: a job run once for each time of a past range (see core/backfill.py).

Every run of a backfill is stored in one transaction with one audit entry that names them
all: a backfill is made whole or not at all, never half, whatever crashes. The runs then wait
in the job's queue like any other run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.backfill import Backfill, backfill_info
from headwater.core.new_run import new_run
from headwater.core.permissions import Action
from headwater.core.spec import JobSettings
from headwater.engine.workdirs import job_folder
from headwater.errors import NotFound
from headwater.ports import NewRun, RunCreated
from headwater.service.runs import RunsMixin, run_as_of


@dataclass(frozen=True, slots=True)
class BackfillMade:
    """The runs a backfill stored, with the time each replays."""

    backfill_id: int
    runs: list[tuple[datetime, RunCreated]]


class BackfillsMixin(RunsMixin):
    """Backfills; mixed into `Service`."""

    def backfill_times(self, job_id: int, backfill: Backfill,
                       overrides: Mapping[str, str] | None = None) -> list[datetime]:
        """The times a backfill of the job would run for, making nothing (`--dry-run`); its
        parameters checked as the backfill checks them."""
        job = self.store.get_job(job_id)
        self.authorize(job_id, Action.RUN)
        times = backfill.times(self.clock.now())
        new_run(JobSettings.model_validate(dict(job.settings)), overrides or {})
        return times

    def backfill(self, job_id: int, backfill: Backfill,
                 overrides: Mapping[str, str] | None = None) -> BackfillMade:
        """Store one run of the job's latest version per time of `backfill`, all or none.

        Raises:
            InvalidRequest: a range that gives no valid times, an unknown parameter, or runs
                the job's queue could not hold.
        """
        job = self.store.get_job(job_id)
        grants = self.authorize(job_id, Action.RUN)
        settings = JobSettings.model_validate(dict(job.settings))
        now = self.clock.now()
        times = backfill.times(now)
        # Every run starts alike (a frozen state, planned once); only its trigger_info differs.
        state, parameters = new_run(settings, overrides or {})
        folder, run_as = str(job_folder(job)), run_as_of(settings, grants, job)
        backfill_id = self.store.new_id("BACKFILL")
        news = [NewRun(job, state, parameters, "ONE_TIME", self.user, folder, now,
                       trigger_info=backfill_info(backfill_id, time, index, len(times)),
                       run_as=run_as)
                for index, time in enumerate(times, start=1)]
        audit = AuditEntry(at=now, actor=self.user, action=AuditAction.BACKFILL_REQUESTED,
                           job_id=job_id, details={
                               "backfill_id": backfill_id, "start": backfill.start.isoformat(),
                               "end": backfill.end.isoformat(), "every": backfill.every.words(),
                               "parameters": dict(overrides or {})})
        created = self.store.create_runs(news, audit)
        return BackfillMade(backfill_id, list(zip(times, created, strict=True)))

    def cancel_backfill(self, backfill_id: int) -> list[int]:
        """Cancel the runs of a backfill that have not ended (queued ones end at once); the
        run ids cancelled. Its audit entry names its runs.

        Raises:
            NotFound: when no backfill has that id.
        """
        requested = next((entry.entry for entry in self.store.audit_entries(
            action=AuditAction.BACKFILL_REQUESTED, limit=None)
            if entry.entry.details.get("backfill_id") == backfill_id), None)
        if requested is None:
            raise NotFound(f"Backfill {backfill_id} does not exist.")
        assert requested.job_id is not None
        self.authorize(requested.job_id, Action.RUN)
        return self.cancel_each(requested.details.get("run_ids", []))


__all__ = ["BackfillMade", "BackfillsMixin"]
