"""The operations tables through `SqlStore`: outbox rows written with the decision, claimed
and finished once; the audit chain and its tamper detection; metrics; the Lakeflow views."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy
from sqlalchemy import text, update
from store_builders import SETTINGS, T0, at, drive

from headwater.core.audit import AuditAction, AuditEntry, TaskMetric
from headwater.core.events import (
    Event,
    RepairRequested,
    RunStarted,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from headwater.core.machine import decide, initial_state
from headwater.core.notifications import (
    DeliveryOutcome,
    DeliveryStatus,
    RunContext,
    side_effects,
)
from headwater.core.plan import Plan, build_plan
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest, NotFound
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.ops_queries import append_audit
from headwater.store.ops_tables import audit_log

ALERTS = {"on_failure": ["bad@x"], "on_success": ["ok@x"]}


FAILING_RUN: list[Event] = [
    RunStarted(at(0)), TaskStarted(at(1), 1, "pid:1"), TaskSucceeded(at(3), 1),
    TaskStarted(at(5), 2, "pid:2"), TaskFailed(at(9), 2, "exit 1", 1),
]


@pytest.fixture
def alerting(job: JobRecord) -> dict[str, object]:
    return {**job.settings, "email_notifications": ALERTS,
            "webhook_notifications": {"on_failure": [{"id": "ops"}]}}


def test_record_writes_outbox_rows_with_the_decision(
        store: SqlStore, job: JobRecord, plan: Plan, alerting: dict[str, object]) -> None:
    run_id, _ = drive(store, job, plan, FAILING_RUN[:3], alerting)

    rows = store.outbox_rows(run_id)
    assert rows == []  # success of a task with no task alerts; the run has not ended


def test_a_failed_task_retried_then_the_run_failing_queues_job_alerts_once(
        store: SqlStore, job: JobRecord, plan: Plan, alerting: dict[str, object]) -> None:
    run_id, state = drive(store, job, plan, [
        *FAILING_RUN, TaskStarted(at(10), 3, "pid:3"), TaskFailed(at(11), 3, "exit 1", 1),
        TaskStarted(at(12), 4, "pid:4"), TaskFailed(at(13), 4, "exit 1", 1)], alerting)

    rows = store.outbox_rows(run_id)
    assert str(state.result) == "FAILED"
    assert sorted((r["notification_key"], r["destination"]) for r in rows) == [
        (f"run:{run_id}:on_failure", "email:bad@x"), (f"run:{run_id}:on_failure", "ops")]
    assert {r["status"] for r in rows} == {"PENDING"}


def test_the_same_alert_decided_twice_is_stored_once(
        store: SqlStore, job: JobRecord, plan: Plan, alerting: dict[str, object]) -> None:
    spec = JobSettings.model_validate({**alerting, "tasks": [
        {**alerting["tasks"][0], "email_notifications": {"on_start": ["s@x"]}}]})  # type: ignore[index]
    plan = build_plan(spec)  # task-level recipients come from the plan's task specs
    run_id = store.create_run(job, initial_state(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id
    context = RunContext(run_id, job.job_id, job.name, "ann")
    started = decide(initial_state(plan), RunStarted(at(0))).state
    decision = decide(started, TaskStarted(at(1), 1, "pid:1"))
    effects = side_effects(spec, context, started, decision.state, decision.changed,
                           TaskStarted(at(1), 1, "pid:1"))

    ids = store.record(run_id, 0, TaskStarted(at(1), 1, "pid:1"), decision.state,
                       decision.changed, outbox=effects.outbox)
    store.record(run_id, 0, TaskStarted(at(1), 1, "pid:1"), decision.state, decision.changed,
                 outbox=effects.outbox)  # a replayed decision

    rows = store.outbox_rows(run_id)
    assert [(r["destination"], r["task_run_id"]) for r in rows] == [("email:s@x", ids[1])]


def test_nothing_is_written_when_the_transition_fails(store: SqlStore) -> None:
    entry = AuditEntry(at=T0, actor="ann", action=AuditAction.RUN_STARTED, run_id=999)
    state = RunState(plan=Plan({}, (), {}, frozenset()))

    with pytest.raises(NotFound):
        store.record(999, 0, RunStarted(T0), state, [], audit=[entry])

    assert store.audit_entries() == []


def test_claim_lease_and_finish_deliver_each_row_once(
        store: SqlStore, job: JobRecord, plan: Plan, alerting: dict[str, object]) -> None:
    run_id, _ = drive(store, job, plan, [
        *FAILING_RUN, TaskStarted(at(10), 3, "pid:3"), TaskFailed(at(11), 3, "x", 1),
        TaskStarted(at(12), 4, "pid:4"), TaskFailed(at(13), 4, "x", 1)], alerting)
    now = at(20)

    first = store.claim_deliveries(now, "a", now + timedelta(seconds=60))
    second = store.claim_deliveries(now, "b", now + timedelta(seconds=60))
    assert len(first) == 2 and second == []  # leased to "a"

    retry = DeliveryOutcome(DeliveryStatus.PENDING, "refused", now + timedelta(seconds=4))
    assert store.finish_delivery(first[0], "b", retry, now) is False  # not b's lease
    assert store.finish_delivery(first[0], "a", retry, now) is True
    done = DeliveryOutcome(DeliveryStatus.DELIVERED)
    assert store.finish_delivery(first[1], "a", done, now) is True
    assert store.finish_delivery(first[1], "a", done, now) is False  # already final

    assert store.claim_deliveries(now + timedelta(seconds=1), "b", now + timedelta(60)) == []
    again = store.claim_deliveries(now + timedelta(seconds=4), "b",
                                   now + timedelta(seconds=64))
    assert [(d.outbox_id, d.attempts) for d in again] == [(first[0].outbox_id, 1)]
    statuses = {r["outbox_id"]: (r["status"], r["attempts"], r["last_error"])
                for r in store.outbox_rows(run_id)}
    assert statuses[first[1].outbox_id] == ("DELIVERED", 1, None)
    assert statuses[first[0].outbox_id] == ("PENDING", 1, "refused")


def test_a_lapsed_lease_can_be_claimed_again(
        store: SqlStore, job: JobRecord, plan: Plan, alerting: dict[str, object]) -> None:
    drive(store, job, plan, [*FAILING_RUN, TaskStarted(at(10), 3, "p"),
                             TaskFailed(at(11), 3, "x", 1), TaskStarted(at(12), 4, "p"),
                             TaskFailed(at(13), 4, "x", 1)], alerting)
    store.claim_deliveries(at(20), "dead-sender", at(80))

    assert store.claim_deliveries(at(79), "b", at(140)) == []
    assert len(store.claim_deliveries(at(80), "b", at(140))) == 2


def test_the_audit_log_chains_job_saves_runs_and_attempts(
        store: SqlStore, plan: Plan) -> None:
    job = store.create_job({"name": "etl", "tasks": []}, "a.yml", T0, "ann")
    store.update_job(job.job_id, {"name": "etl", "tasks": []}, "a.yml", at(1), "ann")  # same
    job = store.update_job(job.job_id, {"name": "etl", "tasks": [
        {"task_key": "extract", "shell_command_task": {"command": "echo e"}},
        {"task_key": "load", "depends_on": [{"task_key": "extract"}], "max_retries": 2,
         "shell_command_task": {"command": "echo l"}}]}, "a.yml", at(2), "bob")
    drive(store, job, plan, FAILING_RUN[:3])

    actions = [(e.entry.action, e.entry.actor, e.entry.task_key) for e in store.audit_entries()]
    assert actions == [
        (AuditAction.JOB_CREATED, "ann", None), (AuditAction.JOB_UPDATED, "bob", None),
        (AuditAction.RUN_REQUESTED, "ann", None), (AuditAction.RUN_STARTED, "ann", None), (AuditAction.ATTEMPT_STARTED, "ann", "extract"),
        (AuditAction.ATTEMPT_ENDED, "ann", "extract"),
    ]
    assert store.verify_audit().ok
    assert [e.entry.actor for e in store.audit_entries(actor="bob")] == ["bob"]
    assert len(store.audit_entries(since=at(1))) == 3  # updated, attempt started, ended


def _entry(actor: str) -> AuditEntry:
    return AuditEntry(at=T0, actor=actor, action=AuditAction.RUN_STARTED)


def test_stores_appending_in_turn_keep_one_chain(store: SqlStore, db_url: str) -> None:
    # Each store moves the head on its own connection, and tries next from where it left
    # it: the other's entries in between must be chained upon, never forked from.
    other = open_store(db_url)
    try:
        for actor in ("ann", "bob", "ann", "ann", "bob"):
            (store if actor == "ann" else other).append_audit([_entry(actor), _entry(actor)])
    finally:
        other.close()

    entries = store.audit_entries()
    assert [e.entry_id for e in entries] == list(range(1, 11))
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert store.verify_audit().ok


def test_an_append_rolled_back_is_not_chained_upon(store: SqlStore) -> None:
    store.append_audit([_entry("ann")])
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        append_audit(conn, [_entry("gone")])
        raise RuntimeError("the transaction fails after its append")

    store.append_audit([_entry("bob")])

    assert [(e.entry_id, e.entry.actor) for e in store.audit_entries()] == [(1, "ann"),
                                                                          (2, "bob")]
    assert store.verify_audit().ok


def test_a_store_s_next_append_does_not_read_the_head_again(store: SqlStore) -> None:
    # The engine appends with each decision it stores: the head it moved last is still the
    # head, and the append is one UPDATE (checking that) and one INSERT.
    store.append_audit([_entry("ann")])
    statements: list[str] = []
    sqlalchemy.event.listen(store.engine, "before_cursor_execute",
                            lambda _c, _cur, sql, *_: statements.append(sql.split()[0].upper()))

    store.append_audit([_entry("ann"), _entry("ann")])

    assert [s for s in statements if s in ("SELECT", "UPDATE", "INSERT")] == \
        ["UPDATE", "INSERT"]
    assert store.verify_audit().ok


def test_altering_one_stored_entry_fails_verification_naming_it(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    drive(store, job, plan, FAILING_RUN)
    assert store.verify_audit().ok

    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.entry_id == 3)
                     .values(actor="mallory"))

    report = store.verify_audit()
    assert (report.ok, report.first_bad) == (False, 3)


def test_deleting_the_last_entry_fails_verification(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    drive(store, job, plan, FAILING_RUN[:2])
    last = store.audit_entries()[-1].entry_id
    with store.engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.entry_id == last))

    assert store.verify_audit().first_bad == last


def test_the_task_timeline_has_one_row_per_attempt_with_durations(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    run_id, _ = drive(store, job, plan, [
        *FAILING_RUN, TaskStarted(at(12), 3, "pid:3"), TaskSucceeded(at(20), 3)])

    columns, rows = store.query(
        "SELECT task_key, attempt_number, result_state, termination_code, "
        "queue_duration_seconds, execution_duration_seconds, job_run_id "
        "FROM job_task_run_timeline ORDER BY run_id")

    assert columns[0] == "task_key"
    assert rows == [
        ("extract", 0, "SUCCESS", "SUCCESS", 1.0, 2.0, run_id),
        ("load", 0, "FAILED", "RUN_EXECUTION_ERROR", 2.0, 4.0, run_id),
        ("load", 1, "SUCCESS", "SUCCESS", 3.0, 8.0, run_id),
    ]
    _, runs = store.query("SELECT run_id, result_state, run_duration_seconds, run_name "
                          "FROM job_run_timeline")
    assert runs == [(run_id, "SUCCESS", 20.0, "etl")]


def test_metrics_are_saved_with_the_attempt_and_summarised(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    run_id, state = drive(store, job, plan, FAILING_RUN[:2])
    event = TaskSucceeded(at(4), 1)
    decision = decide(state, event)
    store.record(run_id, 0, event, decision.state, decision.changed,
                 metrics=[TaskMetric(1, "rows", 10), TaskMetric(1, "rows", 12)])

    _, rows = store.query("SELECT task_key, attempt_number, name, value "
                          "FROM job_task_run_metrics")
    assert rows == [("extract", 0, "rows", 12.0)]


def test_job_summary_success_rate_and_percentiles(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    for seconds in (2, 4, 6):
        run_id, state = drive(store, job, plan, [
            RunStarted(at(0)), TaskStarted(at(1), 1, "p"), TaskSucceeded(at(1 + seconds), 1),
            TaskStarted(at(10), 2, "p"), TaskSucceeded(at(11), 2)])
        store.record(run_id, 0, TaskSucceeded(at(11), 2), state, [],
                     metrics=[TaskMetric(1, "rows", seconds * 10)])
    drive(store, job, plan, [*FAILING_RUN, TaskStarted(at(12), 3, "p"),
                                           TaskFailed(at(13), 3, "x", 1),
                                           TaskStarted(at(14), 4, "p"),
                                           TaskFailed(at(15), 4, "x", 1)])

    summary = store.job_summary(job.job_id)
    tasks = {t.task_key: t for t in summary.tasks}

    assert (summary.runs, summary.succeeded) == (4, 3)
    assert summary.success_rate == 0.75
    assert (tasks["extract"].p50_seconds, tasks["extract"].p95_seconds) == (2.0, 6.0)
    assert tasks["extract"].metrics == {"rows": 40.0}
    assert (tasks["load"].attempts, tasks["load"].failures) == (6, 3)


def test_sql_is_read_only_and_jobs_has_lakeflow_columns(
        store: SqlStore, job: JobRecord) -> None:
    columns, rows = store.query("SELECT job_id, name, change_time FROM jobs")
    assert (columns, [r[:2] for r in rows]) == (["job_id", "name", "change_time"],
                                                [(job.job_id, "etl")])
    _, tasks = store.query("SELECT task_key, depends_on_keys FROM job_tasks ORDER BY task_key")
    assert tasks == [("extract", "[]"), ("load", '["extract"]')]

    with pytest.raises(InvalidRequest):
        store.query("DELETE FROM runs")
    with pytest.raises(InvalidRequest):
        store.query("SELECT * FROM no_such_table")
    assert store.list_jobs() == [job]  # our own `jobs` table is intact and unshadowed
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 1


def test_a_repaired_runs_duration_leaves_out_the_wait_before_the_repair(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given a run that failed at second 15, repaired at second 100, the repair taking 3 seconds
    run_id, state = drive(store, job, plan, [*FAILING_RUN, TaskStarted(at(12), 3, "p"),
                                             TaskFailed(at(13), 3, "x", 1),
                                             TaskStarted(at(14), 4, "p"),
                                             TaskFailed(at(15), 4, "x", 1)])
    assert state.end_time == at(15)
    repair = RepairRequested(at(100), 7, job.version, ("load",))
    decision = decide(state, repair)
    store.record(run_id, 0, repair, decision.state, decision.changed)
    state = decision.state
    seq = state.latest["load"]
    for event in (TaskStarted(at(101), seq, "pid:3"), TaskSucceeded(at(103), seq)):
        decision = decide(state, event)
        store.record(run_id, 0, event, decision.state, decision.changed)
        state = decision.state

    summary = store.job_summary(job.job_id)

    # Then its duration is the original's 15 seconds and the repair's 3, not the 103 between
    assert summary.runs == 1 and summary.succeeded == 1
    assert summary.run_p50_seconds == 18.0



def test_job_summary_times_only_the_runs_that_started(store: SqlStore, plan: Plan) -> None:
    # Given a job of one run at a time, never queued, and a run that starts
    job = store.create_job({**SETTINGS, "max_concurrent_runs": 1, "queue": {"enabled": False}},
                           "jobs/one.yml", T0)
    run_id, state = drive(store, job, plan, [RunStarted(at(0))])
    # When a second run is asked for while it goes, it is skipped; then the first ends
    skipped = store.create_run(job, initial_state(plan), {}, "ONE_TIME", "ann", "/w", at(1))
    for event in (TaskStarted(at(1), 1, "p"), TaskSucceeded(at(2), 1),
                  TaskStarted(at(2), 2, "p"), TaskSucceeded(at(8), 2)):
        decision = decide(state, event)
        store.record(run_id, 0, event, decision.state, decision.changed)
        state = decision.state

    summary = store.job_summary(job.job_id)

    # Then both count as ended runs, and only the one that ran has a duration
    assert store.load_run(skipped.run_id).state.life_cycle == "SKIPPED"
    assert (summary.runs, summary.succeeded, summary.timed_runs) == (2, 1, 1)
    assert summary.run_p95_seconds == 8.0
