"""The store's reads behind `/api/metrics`: audit entries after a cursor, live counts."""

from __future__ import annotations

from datetime import timedelta

from store_builders import T0, at, drive

from headwater.core.audit import AuditAction
from headwater.core.events import Event, RunStarted, TaskFailed, TaskStarted, TaskSucceeded
from headwater.core.plan import Plan
from headwater.ports import JobRecord
from headwater.store import SqlStore

ENDS = [str(AuditAction.RUN_ENDED), str(AuditAction.ATTEMPT_ENDED)]
# extract succeeds after 2 s; load fails after 4 s and waits for its retry.
RETRYING: list[Event] = [
    RunStarted(at(0)), TaskStarted(at(1), 1, "pid:1"), TaskSucceeded(at(3), 1),
    TaskStarted(at(5), 2, "pid:2"), TaskFailed(at(9), 2, "exit 1", 1),
]


def test_the_entries_after_a_cursor_come_in_order_for_the_actions_asked(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    before = store.last_audit_id()  # the job's creation
    drive(store, job, plan, RETRYING)

    ended = store.audit_after(before, ENDS, 100)

    assert [(e.entry.task_key, e.entry.details["result"], e.entry.details["duration_ms"])
            for e in ended] == [("extract", "SUCCESS", 2000), ("load", "FAILED", 4000)]
    assert store.last_audit_id() == store.audit_entries(limit=None)[-1].entry_id
    assert store.audit_after(ended[0].entry_id, ENDS, 100) == ended[1:]
    assert store.audit_after(before, ENDS, 1) == ended[:1]
    assert store.audit_after(ended[-1].entry_id, ENDS, 100) == []

    drive(store, job, plan, [*RETRYING[:4], TaskSucceeded(at(6), 2)])
    run_end = store.audit_after(ended[-1].entry_id, ENDS, 100)[-1].entry
    assert (run_end.action, run_end.details["result"], run_end.details["duration_ms"]) == (
        "run.ended", "SUCCESS", 6000)


def test_live_counts_are_the_runs_and_task_runs_not_ended_and_the_waiting_alerts(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    alerting = {**job.settings, "email_notifications": {"on_start": ["ops@x"]}}
    retrying, state = drive(store, job, plan, RETRYING, alerting)
    drive(store, job, plan, [*RETRYING[:4], TaskSucceeded(at(6), 2)])  # ended
    drive(store, job, plan, [])  # created, not started

    live = store.live_counts(T0 + timedelta(seconds=60))

    waiting = [run.life_cycle for run in state.task_runs.values() if not run.is_terminal]
    assert waiting == ["PENDING"]  # load's second attempt, due after its retry interval
    assert live.runs == {"RUNNING": 1, "PENDING": 1}
    assert live.task_runs == {"PENDING": 1}  # the run not started has no task runs yet
    assert live.notifications_pending == 1
    assert live.oldest_pending_notification_seconds == 60.0
    assert live.runs_awaiting_engine == 2  # both need an engine and no engine holds them

    store.claim_runs("e1", 10, 15, T0, "ann")
    assert store.live_counts(T0).runs_awaiting_engine == 0
    assert retrying in {run.run_id for run in store.list_runs()}
