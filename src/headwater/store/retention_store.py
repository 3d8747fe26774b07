"""`SqlStore`'s retention methods: delete a batch of old runs in one short transaction.

A mixin, as `operations.py` is. One batch is one transaction: its candidates are locked
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two engines pruning at once each take other runs
and neither waits; SQLite's single writer serialises them), the runs linked to them by Run
Job tasks are gathered, the pure decision is taken on what the transaction sees, and the runs
it allows are deleted with their audit entry. A crash anywhere rolls the whole batch back.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Connection

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.retention import RunFacts, runs_to_prune
from headwater.ports import PrunedBatch
from headwater.store import ops_queries, retention_queries
from headwater.store.retention_queries import Key


class RetentionMixin:
    """`prune_runs` and `existing_runs`; mixed into `SqlStore`."""

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def prune_runs(self, before: datetime, at: datetime, actor: str, limit: int,
                   after: Key | None = None, dry_run: bool = False) -> PrunedBatch:
        """Delete up to `limit` runs that ended before `before` and that nothing keeps
        (`core/retention.py`), oldest first from `after`, audited as `runs.pruned`; with
        `dry_run`, only say what would go (in a read transaction)."""
        with self._reading() if dry_run else self._writing() as conn:
            aged = retention_queries.aged_runs(conn, before, limit, after)
            facts = _facts_with_trees(conn, [run_id for _, run_id in aged], dry_run)
            decision = runs_to_prune(facts, before)
            pruned = sorted(decision.prune)
            task_count = 0
            if not dry_run and pruned:
                task_count = retention_queries.delete_runs(conn, pruned)
                ops_queries.append_audit(conn, [AuditEntry(
                    at=at, actor=actor, action=AuditAction.RUNS_PRUNED,
                    details={"runs": len(pruned), "task_runs": task_count, "run_ids": pruned,
                             "cutoff": before.isoformat()})])
            elif dry_run and pruned:
                task_count = retention_queries.task_run_count(conn, pruned)
        return PrunedBatch(tuple(pruned), task_count, dict(decision.kept),
                           aged[-1] if len(aged) == limit else None)

    def existing_runs(self, run_ids: Collection[int]) -> set[int]:
        """Which of `run_ids` are runs in the store (deleted with runs/delete or not)."""
        with self._reading() as conn:
            return retention_queries.existing_runs(conn, run_ids)


def _facts_with_trees(conn: Connection, ids: list[int], dry_run: bool) -> dict[int, RunFacts]:
    """The facts of `ids` and of every run linked to them by Run Job tasks, transitively
    (trees are at most a few levels deep); each run locked first unless `dry_run`."""
    known: set[int] = set()
    locked: set[int] = set()
    links: dict[int, set[int]] = {}
    frontier = set(ids)
    while frontier:
        known |= frontier
        locked |= (retention_queries.existing_runs(conn, frontier) if dry_run
                   else retention_queries.lock_runs(conn, frontier))
        found = retention_queries.linked_runs(conn, frontier)
        for run_id, linked in found.items():
            links.setdefault(run_id, set()).update(linked)
        frontier = {other for linked in found.values() for other in linked} - known
    return retention_queries.run_facts(conn, known, locked, links)
