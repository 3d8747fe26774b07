"""`SqlStore`'s operations methods: the outbox, the audit log, task metrics, operators' SQL.

A mixin, so that `sql.py` stays about jobs and runs; every method is one transaction through
the store's `_reading`/`_writing`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from headwater.core.audit import AuditEntry, ChainReport, StoredAuditEntry, verify_chain
from headwater.core.monitoring import LiveCounts
from headwater.core.notifications import Delivery, DeliveryOutcome
from headwater.errors import InvalidRequest
from headwater.ports import Clock, EngineBeat, EngineRecord, JobSummary
from headwater.store import liveness_queries, metrics_queries, monitoring_queries, ops_queries
from headwater.store.audit_anchor import AnchorFile


class OperationsMixin:
    """Outbox, audit and metrics methods; mixed into `SqlStore`."""

    anchor: AnchorFile | None
    lease_clock: Clock | None

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # Outbox.

    def claim_deliveries(self, now: datetime, owner: str, lease_until: datetime,
                         limit: int = 16) -> list[Delivery]:
        """Lease up to `limit` due outbox rows to `owner`; [] at the cost of one read if none."""
        with self._reading() as conn:
            if not ops_queries.has_due(conn, now):
                return []
        with self._writing() as conn:
            return ops_queries.claim(conn, now, owner, lease_until, limit)

    def finish_delivery(self, delivery: Delivery, owner: str, outcome: DeliveryOutcome,
                        now: datetime, audit: AuditEntry | None = None) -> bool:
        """Record a try of a leased row (and, when final, its audit entry) in one transaction.

        Returns False, writing nothing, when `owner` no longer holds the lease.
        """
        with self._writing() as conn:
            return ops_queries.finish(conn, delivery, owner, outcome, now, audit)

    def outbox_rows(self, run_id: int | None = None, status: str | None = None,
                    limit: int = 50) -> list[Mapping[str, Any]]:
        """Outbox rows, newest first, as column -> value."""
        with self._reading() as conn:
            return ops_queries.outbox_rows(conn, run_id, status, limit)

    def requeue_deliveries(self, outbox_ids: Collection[int] | None, run_id: int | None,
                           now: datetime, audit: AuditEntry) -> list[int]:
        """Make given-up deliveries (FAILED, DEAD) due now for one more try, `audit` naming
        them in the same transaction; the ids requeued (see `ops_queries.requeue`)."""
        with self._writing() as conn:
            ids = ops_queries.requeue(conn, outbox_ids, run_id, now)
            if ids:
                ops_queries.append_audit(conn, [replace(audit, details={
                    **audit.details, "outbox_ids": ids})])
            return ids

    # Audit.

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the hash-chained audit log (one transaction)."""
        if entries:
            with self._writing() as conn:
                ops_queries.append_audit(conn, entries)

    def audit_entries(self, job_id: int | None = None, actor: str | None = None,
                      since: datetime | None = None, run_id: int | None = None,
                      limit: int | None = 100, action: str | None = None,
                      until: datetime | None = None) -> list[StoredAuditEntry]:
        """Entries matching every filter given, oldest first (the newest `limit`)."""
        with self._reading() as conn:
            return ops_queries.audit_entries(conn, job_id, actor, since, run_id, limit,
                                             action, until)

    def verify_audit(self) -> ChainReport:
        """Recompute the whole chain against its head row and its anchors; the report names
        the first entry that does not match, or what else is wrong."""
        anchors, unreadable = self.anchor.read() if self.anchor else ([], [])
        with self._reading() as conn:
            head = ops_queries.audit_head_row(conn)
            report = verify_chain(ops_queries.entries_to_verify(conn), head, anchors)
        if report.ok and head is None:
            return ChainReport(report.checked, None, "the chain head row (audit_head) is "
                               "missing: the log's end cannot be checked")
        if report.ok and unreadable:
            return ChainReport(report.checked, None, "; ".join(unreadable))
        return report

    # Monitoring.

    def last_audit_id(self) -> int:
        """The number of the audit log's last entry (0 when it is empty)."""
        with self._reading() as conn:
            return monitoring_queries.last_audit_id(conn)

    def audit_after(self, entry_id: int, actions: Collection[str],
                    limit: int = 5000) -> list[StoredAuditEntry]:
        """Up to `limit` entries after `entry_id` with one of `actions`, oldest first."""
        with self._reading() as conn:
            return monitoring_queries.audit_after(conn, entry_id, actions, limit)

    def engine_alive(self, engine: EngineBeat) -> None:
        """Record that a fleet engine is alive (for its lease's length from now)."""
        with self._writing() as conn:
            liveness_queries.beat(conn, self.lease_clock, engine)

    def engine_stopped(self, name: str) -> None:
        """Record that an engine stopped of its own accord (it handed back its runs)."""
        with self._writing() as conn:
            liveness_queries.stopped(conn, name)

    def list_engines(self) -> list[EngineRecord]:
        """The fleet engines seen in the last day, newest first."""
        with self._reading() as conn:
            return liveness_queries.listed(conn, self.lease_clock)

    def live_counts(self, now: datetime) -> LiveCounts:
        """What is happening now: runs and task runs by state, runs no engine holds, the
        outbox's backlog (its oldest row's age measured to `now`)."""
        with self._reading() as conn:
            return monitoring_queries.live_counts(conn, self.lease_clock, now)

    # Metrics and SQL.

    def job_summary(self, job_id: int, last_runs: int = 20) -> JobSummary:
        """Success rate and per-task durations and figures over the job's last runs."""
        with self._reading() as conn:
            return metrics_queries.job_summary(conn, job_id, last_runs)

    def query(self, statement: str, max_rows: int = 1000
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only SQL statement; `InvalidRequest` if it fails or tries to write."""
        with self._reading() as conn:
            try:
                return metrics_queries.run_read_only(conn, statement, max_rows)
            except DBAPIError as error:  # the statement's fault, not the store's
                raise InvalidRequest(f"the query failed: {error.orig}") from error
