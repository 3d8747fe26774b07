"""The store's reads for the web pages, on SQLite and PostgreSQL: a run's version, what its
attempts recorded, a job's recorded figures over its last runs, and the filters of the runs
list and the audit log."""

from __future__ import annotations

import pytest
from store_builders import T0, at

from headwater.core.audit import AuditAction, AuditEntry, TaskMetric
from headwater.core.events import Event, RunStarted, TaskFailed, TaskStarted, TaskSucceeded
from headwater.core.machine import decide, initial_state
from headwater.core.plan import Plan
from headwater.errors import NotFound
from headwater.ports import JobRecord, MetricPoint
from headwater.store import SqlStore


def drive(store: SqlStore, job: JobRecord, plan: Plan, events: list[Event],
          metrics: dict[int, list[TaskMetric]] | None = None, trigger: str = "ONE_TIME"
          ) -> int:
    """A run of `job` through `events`; `metrics` are recorded with the event of that index."""
    run_id = store.create_run(job, initial_state(plan), {}, trigger, "ann", "/w", T0).run_id
    state = initial_state(plan)
    for index, event in enumerate(events):
        decision = decide(state, event)
        store.record(run_id, 0, event, decision.state, decision.changed,
                     metrics=(metrics or {}).get(index, []))
        state = decision.state
    return run_id


SUCCEEDS = [RunStarted(at(0)), TaskStarted(at(1), 1, "p"), TaskSucceeded(at(2), 1),
            TaskStarted(at(3), 2, "p"), TaskSucceeded(at(4), 2)]
FAILS = [RunStarted(at(0)), TaskStarted(at(1), 1, "p"), TaskFailed(at(2), 1, "boom", 1)]


def test_the_run_version_grows_with_every_event(store: SqlStore, job: JobRecord,
                                                 plan: Plan) -> None:
    run_id = drive(store, job, plan, SUCCEEDS[:2])
    job_id, first = store.run_version(run_id)
    assert job_id == job.job_id

    state = store.load_run(run_id).state
    decision = decide(state, SUCCEEDS[2])
    store.record(run_id, 0, SUCCEEDS[2], decision.state, decision.changed)

    assert store.run_version(run_id) == (job.job_id, first + 1)
    with pytest.raises(NotFound):
        store.run_version(run_id + 1000)


def test_task_metrics_are_read_back_by_attempt(store: SqlStore, job: JobRecord,
                                               plan: Plan) -> None:
    run_id = drive(store, job, plan, SUCCEEDS,
                   {2: [TaskMetric(1, "rows", 10)], 4: [TaskMetric(2, "rows", 7),
                                                        TaskMetric(2, "bytes", 2048)]})

    assert store.task_metrics(run_id) == {1: {"rows": 10.0}, 2: {"rows": 7.0, "bytes": 2048.0}}


def test_metric_points_are_the_latest_attempts_figures_of_ended_runs_oldest_first(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    first = drive(store, job, plan, SUCCEEDS, {2: [TaskMetric(1, "rows", 10)]})
    second = drive(store, job, plan, SUCCEEDS, {2: [TaskMetric(1, "rows", 20)]})
    drive(store, job, plan, SUCCEEDS[:3], {2: [TaskMetric(1, "rows", 99)]})  # still running

    assert store.metric_points(job.job_id) == [MetricPoint(first, "extract", "rows", 10.0),
                                               MetricPoint(second, "extract", "rows", 20.0)]
    assert store.metric_points(job.job_id, last_runs=1) == [
        MetricPoint(second, "extract", "rows", 20.0)]


def test_runs_are_filtered_by_trigger_and_result(store: SqlStore, job: JobRecord,
                                                 plan: Plan) -> None:
    succeeded = drive(store, job, plan, SUCCEEDS)
    failed = drive(store, job, plan, FAILS, trigger="PERIODIC")

    assert [r.run_id for r in store.list_runs(result="SUCCESS")] == [succeeded]
    assert [r.run_id for r in store.list_runs(result="FAILED")] == [failed]
    assert [r.run_id for r in store.list_runs(trigger="PERIODIC")] == [failed]
    assert store.list_runs(trigger="PERIODIC", result="SUCCESS") == []


def test_audit_entries_are_filtered_by_action_and_until(store: SqlStore,
                                                        job: JobRecord) -> None:
    store.append_audit([AuditEntry(at(10), "bob", AuditAction.JOB_UPDATED, job.job_id),
                        AuditEntry(at(20), "bob", AuditAction.JOB_DELETED, job.job_id)])

    updated = store.audit_entries(action=str(AuditAction.JOB_UPDATED))
    until = store.audit_entries(actor="bob", until=at(15))

    assert [e.entry.action for e in updated] == [AuditAction.JOB_UPDATED]
    assert [e.entry.at for e in until] == [at(10)]
