"""Runs that end skipped without an engine ever driving them, and their alerts.

A run over its job's limit that may not wait is skipped as it is made (`runs_store.create_run`);
a run that waited in its job's queue for as long as Lakeflow lets it (`MAX_QUEUE_WAIT`, 48 h)
is skipped by whichever engine looks for queued runs next (`expire_queued`), except the runs of
a backfill, asked for as one batch that takes as long as it takes. Either way no
engine's state machine sees the run end, so its alerts are queued here, in the transaction that
ends it (the job's `on_failure`, unless `no_alert_for_skipped_runs`): none is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select, update

from headwater.core.admission import MAX_QUEUE_WAIT
from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.notifications import RunContext, skipped_run_alerts
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState, ResultState, TerminationCode
from headwater.ports import JobRecord
from headwater.store import job_queries, ops_queries, run_queries
from headwater.store.rows import Row, run_state_from_rows, run_state_values, scope_of
from headwater.store.tables import runs

QUEUED = str(LifeCycleState.QUEUED)


def skipped(state: RunState, message: str, code: TerminationCode | None, at: datetime
            ) -> RunState:
    """`state` ended at `at` as a run skipped at its job's limit."""
    return replace(state, life_cycle=LifeCycleState.SKIPPED,
                   result=ResultState.MAXIMUM_CONCURRENT_RUNS_REACHED, message=message,
                   end_time=at, termination_code=code)


def alert_skipped(conn: Connection, job: JobRecord, run_id: int, state: RunState,
                  context: RunContext, at: datetime) -> None:
    """Queue the alerts of run `run_id` of `job`, skipped as `state` says."""
    items = skipped_run_alerts(JobSettings.model_validate(dict(job.settings)), context, state,
                               at)
    if items:
        ops_queries.insert_outbox(conn, run_id, {}, items, at)


def expire_queued(conn: Connection, job_id: int, at: datetime, actor: str) -> list[int]:
    """Skip the job's runs queued since `MAX_QUEUE_WAIT` before `at` (as `actor`, audited
    and alerted); their ids."""
    rows = [row for row in conn.execute(select(runs).where(
        runs.c.job_id == job_id, runs.c.life_cycle == QUEUED,
        runs.c.created_time <= at - MAX_QUEUE_WAIT).order_by(runs.c.run_id)).mappings()
        if "backfill" not in (row["trigger_info"] or {})]  # asked for as a batch: they wait
    hours = int(MAX_QUEUE_WAIT.total_seconds() // 3600)
    message = (f"The run waited {hours} hours in the job's queue without a free slot "
               "(max_concurrent_runs), the longest a run waits; start it again, or raise the "
               "job's max_concurrent_runs.")
    for row in rows:
        _end_queued(conn, row, at, actor, lambda state: skipped(
            state, message, TerminationCode.MAX_CONCURRENT_RUNS_EXCEEDED, at),
            AuditAction.RUN_SKIPPED, {"message": message, "queued": True})
    return [row["run_id"] for row in rows]


def cancel_queued(conn: Connection, run_ids: Sequence[int], at: datetime, actor: str
                  ) -> list[int]:
    """End the runs of `run_ids` still queued as CANCELED (as `actor`, audited, and alerted
    as any cancelled run: `on_failure` unless `no_alert_for_canceled_runs`); their ids."""
    rows = list(conn.execute(select(runs).where(
        runs.c.run_id.in_(run_ids), runs.c.life_cycle == QUEUED)).mappings())
    for row in rows:
        _end_queued(conn, row, at, actor, lambda state: replace(
            state, life_cycle=LifeCycleState.TERMINATED, result=ResultState.CANCELED,
            message="The run was cancelled while it waited in the queue.", end_time=at,
            termination_code=TerminationCode.USER_CANCELED),
            AuditAction.CANCEL_REQUESTED, {"queued": True})
    return [row["run_id"] for row in rows]


def _end_queued(conn: Connection, row: Row, at: datetime, actor: str,
                end: Callable[[RunState], RunState], action: AuditAction,
                details: Mapping[str, object]) -> None:
    """End a queued run as `end` makes its state, in this transaction: its row, its audit
    entry, and its alerts (no engine's state machine ever sees it end)."""
    job = job_queries.get_job(conn, row["job_id"], row["job_version"])
    plan = scope_of(row).plan(JobSettings.model_validate(dict(job.settings)))
    state = end(run_state_from_rows(plan, row, run_queries.task_run_rows(conn, row["run_id"])))
    conn.execute(update(runs).where(runs.c.run_id == row["run_id"]).values(
        **run_state_values(state), needs_engine=False))
    ops_queries.append_audit(conn, [AuditEntry(
        at=at, actor=actor, action=action, job_id=row["job_id"], run_id=row["run_id"],
        details=dict(details))])
    alert_skipped(conn, job, row["run_id"], state, RunContext(
        row["run_id"], row["job_id"], job.name, actor, row["trigger"], row["parameters"]), at)


__all__ = ["alert_skipped", "cancel_queued", "expire_queued", "skipped"]
