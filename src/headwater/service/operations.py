"""The operators' queries: notifications in the outbox, the audit log, metrics, read-only SQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from headwater.core.audit import (
    Anchor,
    AuditAction,
    AuditEntry,
    ChainReport,
    StoredAuditEntry,
)
from headwater.core.monitoring import TALLIED_ACTIONS, LiveCounts, Tally, tallied
from headwater.engine.identity import is_gone
from headwater.errors import InvalidState, NotFound, StoreError
from headwater.ports import EngineRecord, JobRecord, JobSummary, Store
from headwater.service.access import AccessMixin


class OperationsMixin(AccessMixin):
    """Operators' queries: admins only; mixed into `Service`."""

    store: Store

    def notifications(self, run_id: int | None = None, status: str | None = None,
                      limit: int = 50) -> list[Mapping[str, Any]]:
        """Outbox rows, newest first: event, destination, status, tries, last error."""
        self.require_admin("read the outbox")
        return self.store.outbox_rows(run_id, status, limit)

    def retry_notifications(self, outbox_ids: Collection[int] | None = None,
                            run_id: int | None = None) -> list[int]:
        """Give notifications that were given up (FAILED, DEAD) one more try now: those of
        `outbox_ids`, else every one (of `run_id` if given). The ids requeued; `NotFound`
        when none of them was given up."""
        self.require_admin("retry notifications")
        now = self.clock.now()
        requeued = self.store.requeue_deliveries(
            outbox_ids, run_id, now,
            AuditEntry(now, self.user, AuditAction.NOTIFICATION_REQUEUED, run_id=run_id))
        if not requeued:
            which = (f"of {', '.join(map(str, outbox_ids))} " if outbox_ids else "") + \
                (f"of run {run_id} " if run_id is not None else "")
            raise NotFound(f"No notification {which}was given up (FAILED or DEAD): "
                           "`headwater notifications list --status DEAD` shows those that were")
        return requeued

    def engines(self) -> list[EngineRecord]:
        """The engines of `headwater engine` and `server` seen in the last day, newest first:
        alive, unresponsive, stopped, or gone (of this host, its process ended: what it said
        last no longer holds), and the runs each holds."""
        self.require_admin("list the engines")
        return [replace(engine, state="gone") if engine.state != "stopped"
                and is_gone(engine.name) else engine for engine in self.store.list_engines()]

    def audit_entries(self, job_id: int | None = None, actor: str | None = None,
                      since: datetime | None = None, run_id: int | None = None,
                      limit: int | None = 100, action: str | None = None,
                      until: datetime | None = None) -> list[StoredAuditEntry]:
        """Audit entries matching every filter, oldest first (the newest `limit`)."""
        self.require_admin("read the audit log")
        return self.store.audit_entries(job_id, actor, since, run_id, limit, action, until)

    def verify_audit(self) -> ChainReport:
        """Recompute the audit log's hash chain."""
        self.require_admin("verify the audit log")
        return self.store.verify_audit()

    def record_reanchoring(self, reason: str, seen: Anchor | None) -> StoredAuditEntry:
        """Append the entry that records a re-anchoring after a restore (`headwater audit
        reanchor`): the reason, the log's last entry and the last the anchor had `seen`.
        `InvalidState` when the chain itself is broken: that is tampering, not a restore.
        The store must check the chain without the anchor (whose end the restore cut)."""
        report = self.verify_audit()  # admins only
        if not report.ok:
            raise InvalidState(
                f"the audit log's hash chain itself is broken ({report.problem}): that is "
                "tampering or damage, not a restore, so it is not re-anchored; restore a "
                "backup whose `headwater audit verify` passed")
        last = self.store.audit_entries(limit=1)
        self.audit(AuditAction.AUDIT_REANCHORED, reason=reason,
                   log_last_entry=_entry_seen(last[0].entry_id, last[0].hash) if last else None,
                   anchor_last_entry=None if seen is None
                   else _entry_seen(seen.entry_id, seen.hash, seen.at))
        (recorded,) = self.store.audit_entries(action=str(AuditAction.AUDIT_REANCHORED),
                                               limit=1)
        return recorded

    def job_metrics(self, job: str, last_runs: int = 20) -> tuple[JobRecord, JobSummary]:
        """A job (by exact name, else by id) and the summary of its last runs."""
        self.require_admin("read metrics")
        named = self.store.list_jobs(job)
        record = named[0] if len(named) == 1 else None
        if record is None and job.isdecimal():
            record = self.store.get_job(int(job))
        if record is None:
            close = [j.name for j in self.store.list_jobs() if job in j.name]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise NotFound(f"no job named {job!r} (give a job name or id){hint}")
        return record, self.store.job_summary(record.job_id, last_runs)

    # Monitoring: unlike the queries above, open to every signed-in user (a Prometheus
    # scraper's token should not be an admin's). The counts name jobs by id, nothing else.

    def store_problem(self) -> str | None:
        """Why the state store cannot be read now (`/api/health`), or None when it can."""
        try:
            self.store.ping()
        except StoreError as error:
            return str(error)
        return None

    def new_tally(self) -> Tally:
        """A tally that counts what the audit log records from now on."""
        return Tally(self.store.last_audit_id())

    def monitoring(self, tally: Tally, page: int = 5000) -> tuple[Tally, LiveCounts]:
        """`tally` with every audit entry written since it last counted, and what is
        happening now: what `/api/metrics` shows."""
        while True:
            entries = self.store.audit_after(tally.last_entry_id,
                                             [str(action) for action in TALLIED_ACTIONS], page)
            tally = tallied(tally, entries)
            if len(entries) < page:
                return tally, self.store.live_counts(self.clock.now())

    def query(self, statement: str, max_rows: int = 1000
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only SQL statement against the state store."""
        self.require_admin("query the state store")
        return self.store.query(statement, max_rows)


def _entry_seen(entry_id: int, entry_hash: str, at: str = "") -> dict[str, Any]:
    """An audit entry as a re-anchoring's details name it."""
    return {"id": entry_id, "hash": entry_hash, **({"at": at} if at else {})}
