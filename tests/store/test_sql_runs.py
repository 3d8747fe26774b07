"""Runs, task runs and the event log in the SQL store."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError
from store_builders import SETTINGS, T0, at, state_with, task_run

from headwater.core.events import (
    CancelRequested,
    Event,
    RunStarted,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from headwater.core.plan import Plan
from headwater.core.run_scope import RunScope
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState as L
from headwater.core.states import ResultState as R
from headwater.errors import NotFound
from headwater.ports import JobRecord, Transition
from headwater.store import SqlStore
from headwater.store.tables import run_events, run_ids

RUNNING = L.RUNNING


def start_run(store: SqlStore, job: JobRecord, plan: Plan) -> tuple[int, RunState]:
    state = state_with(plan, task_run(1, "extract", life_cycle=L.PENDING), task_run(2, "load"))
    run_id = store.create_run(job, state, {"day": "2026-03-01"}, "ONE_TIME", "ann", "/w", T0).run_id
    return run_id, state


def test_a_run_with_retries_reads_back_as_it_was_recorded(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given a run whose `load` task fails once and succeeds on its retry
    run_id, state = start_run(store, job, plan)
    extract_done = task_run(1, "extract", life_cycle=L.TERMINATED, result=R.SUCCESS,
                            start_time=at(1), end_time=at(2), handle="pid:1", exit_code=0)
    load_failed = task_run(2, "load", life_cycle=L.TERMINATED, result=R.FAILED,
                           message="exit 3", start_time=at(3), end_time=at(4), exit_code=3)
    load_retry = task_run(3, "load", attempt_number=1, original_attempt_seq=2,
                          life_cycle=L.TERMINATED, result=R.SUCCESS,
                          pending_since=at(5), start_time=at(6), end_time=at(7), exit_code=0)
    steps: list[tuple[Event, RunState, list[int]]] = [
        (RunStarted(at(0)), state_with(plan, *state.task_runs.values(), life_cycle=RUNNING,
                                       start_time=at(0)), []),
        (TaskSucceeded(at(2), seq=1), state_with(plan, extract_done, state.task_runs[2],
                                                 life_cycle=RUNNING, start_time=at(0)), [1]),
        (TaskFailed(at(4), seq=2, message="exit 3", exit_code=3),
         state_with(plan, extract_done, load_failed, load_retry, life_cycle=RUNNING,
                    start_time=at(0)), [2, 3]),
        (TaskSucceeded(at(7), seq=3), state_with(
            plan, extract_done, load_failed, load_retry, life_cycle=L.TERMINATED,
            result=R.SUCCESS, start_time=at(0), end_time=at(7)), [3]),
    ]

    # When each transition is recorded
    for event, new_state, changed in steps:
        ids = store.record(run_id, 0, event, new_state, changed)
        assert set(ids) == set(changed)
    record = store.load_run(run_id)

    # Then the snapshot, the ids and the run's own fields read back unchanged
    final = steps[-1][1]
    assert record.state == replace(final, plan=record.state.plan)
    assert record.state.latest == {"extract": 1, "load": 3}
    assert record.state.task_runs[3].pending_since == at(5)
    assert record.state.plan.order == plan.order  # rebuilt from the stored job settings
    assert set(record.task_run_ids) == {1, 2, 3}
    assert (record.job, record.parameters, record.trigger) == (job, {"day": "2026-03-01"},
                                                               "ONE_TIME")
    assert (record.creator, record.workdir, record.created_time) == ("ann", "/w", T0)
    assert store.load_run(run_id, plan).state.plan is plan
    assert store.events(run_id) == [event for event, _, _ in steps]


def test_several_transitions_recorded_at_once_read_back_as_one_by_one(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given the same history recorded in one call (an engine's write of a task's start and
    # end) and, for another run, one transition at a time
    load = [task_run(2, "load", life_cycle=L.RUNNING, start_time=at(3), handle="pid:2"),
            task_run(2, "load", life_cycle=L.TERMINATED, result=R.SUCCESS, start_time=at(3),
                     end_time=at(4), handle="pid:2", exit_code=0)]
    extract = task_run(1, "extract", life_cycle=L.RUNNING, start_time=at(1), handle="pid:1")
    runs = []
    for together in (True, False):
        run_id, state = start_run(store, job, plan)
        steps = [
            Transition(RunStarted(at(0)), state_with(plan, *state.task_runs.values(),
                                                     life_cycle=RUNNING, start_time=at(0)), []),
            Transition(TaskStarted(at(1), seq=1, handle="pid:1"),
                       state_with(plan, extract, state.task_runs[2], life_cycle=RUNNING,
                                  start_time=at(0)), [1]),
            Transition(TaskStarted(at(3), seq=2, handle="pid:2"),
                       state_with(plan, extract, load[0], life_cycle=RUNNING,
                                  start_time=at(0)), [2]),
            Transition(TaskSucceeded(at(4), seq=2),
                       state_with(plan, extract, load[1], life_cycle=RUNNING,
                                  start_time=at(0)), [2]),
        ]
        # When it is recorded
        if together:
            ids = store.record_all(run_id, 0, steps, {})
        else:
            ids = {}
            for step in steps:
                ids.update(store.record(run_id, 0, step.event, step.state, step.changed))
        runs.append((run_id, steps, ids))

    # Then both read back the same: every event in order, the last snapshot, the same ids
    (one, steps, ids_one), (other, _, ids_other) = runs
    assert store.events(one) == store.events(other) == [step.event for step in steps]
    assert store.load_run(one).state == store.load_run(other).state
    assert store.load_run(one).state.task_runs[2].result is R.SUCCESS
    assert set(ids_one) == set(ids_other) == {1, 2}
    assert store.load_run(one).task_run_ids == ids_one


def test_record_returns_the_same_task_run_id_for_a_seq_every_time(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_id, state = start_run(store, job, plan)
    created = store.load_run(run_id).task_run_ids
    running = state_with(plan, task_run(1, "extract", life_cycle=RUNNING, handle="pid:9"),
                         state.task_runs[2])

    first = store.record(run_id, 0, TaskStarted(at(1), 1, "pid:9"), running, [1])
    second = store.record(run_id, 0, TaskStarted(at(1), 1, "pid:9"), running, [1, 1])

    assert first == second == {1: created[1]}
    assert store.find_task_run(created[1]) == (run_id, 1)
    assert store.find_task_run(created[2]) == (run_id, 2)


def test_job_run_ids_and_task_run_ids_never_collide(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_ids_seen: list[int] = []
    task_run_ids_seen: list[int] = []
    for _ in range(3):
        run_id, _ = start_run(store, job, plan)
        more = state_with(plan, task_run(3, "load", attempt_number=1, original_attempt_seq=2))
        store.record(run_id, 0, TaskFailed(at(1), 2, "boom"), more, [3])
        run_ids_seen.append(run_id)
        task_run_ids_seen.extend(store.load_run(run_id).task_run_ids.values())

    everything = run_ids_seen + task_run_ids_seen
    assert len(set(everything)) == len(everything) == 3 + 9
    with pytest.raises(NotFound, match=r"^Task run \d+ does not exist\.$"):
        store.find_task_run(run_ids_seen[0])  # a job run id is not a task run id


def test_events_keep_their_order_per_run(store: SqlStore, job: JobRecord, plan: Plan) -> None:
    first, state = start_run(store, job, plan)
    second, _ = start_run(store, job, plan)
    a: list[Event] = [
        RunStarted(at(0)), CancelRequested(at(2), "load"), TaskStarted(at(1), 1, "pid:1")
    ]
    b: list[Event] = [RunStarted(at(5)), TaskSucceeded(at(6), 1)]

    # Recorded interleaved between the two runs
    for index, event in enumerate(a):
        store.record(first, 0, event, state, [])
        if index < len(b):
            store.record(second, 0, b[index], state, [])

    assert store.events(first) == a  # recording order, not time order
    assert store.events(second) == b


def test_a_failing_record_leaves_nothing_behind(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given a run with one recorded event
    run_id, state = start_run(store, job, plan)
    store.record(run_id, 0, RunStarted(at(0)), state, [])
    before = store.load_run(run_id)
    # When a record fails while writing its task runs (a naive datetime cannot be stored)
    naive = at(1).replace(tzinfo=None)
    bad = state_with(plan, state.task_runs[1], state.task_runs[2],
                     task_run(3, "load", start_time=naive), life_cycle=RUNNING,
                     message="half-way")
    with pytest.raises(StatementError, match="naive datetime"):
        store.record(run_id, 0, TaskStarted(at(1), 1, "pid:1"), bad, [1, 3])

    # Then neither the event, nor the run row, nor an id allocation was kept
    assert store.events(run_id) == [RunStarted(at(0))]
    assert store.load_run(run_id) == before
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(run_events)).scalar() == 1
        assert conn.execute(select(func.max(run_ids.c.id))).scalar() == max(
            before.task_run_ids.values()
        )


def test_runs_are_listed_newest_first_and_filtered(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    other = store.create_job({**SETTINGS, "name": "other"}, "o.yml", T0)
    done, state = start_run(store, job, plan)
    store.record(done, 0, TaskSucceeded(at(9), 2), replace(
        state, life_cycle=L.TERMINATED, result=R.SUCCESS, start_time=at(0), end_time=at(9)), [])
    active, _ = start_run(store, job, plan)
    elsewhere, _ = start_run(store, other, plan)

    assert [r.run_id for r in store.list_runs()] == [elsewhere, active, done]
    assert [r.run_id for r in store.list_runs(job_id=job.job_id)] == [active, done]
    assert [r.run_id for r in store.list_runs(active_only=True, limit=1)] == [elsewhere]
    [summary] = store.list_runs(job_id=job.job_id, limit=5)[1:]
    assert (summary.job_name, summary.life_cycle, summary.result) == ("etl", "TERMINATED",
                                                                      "SUCCESS")
    assert (summary.start_time, summary.end_time) == (at(0), at(9))


def test_unknown_runs_raise_not_found_with_the_api_message(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    _, state = start_run(store, job, plan)
    message = r"^Run 424242 does not exist\.$"

    with pytest.raises(NotFound, match=message):
        store.load_run(424242)
    with pytest.raises(NotFound, match=message):
        store.events(424242)
    with pytest.raises(NotFound, match=message):
        store.record(424242, 0, RunStarted(at(0)), state, [])


def test_a_changed_seq_missing_from_the_state_is_refused(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_id, state = start_run(store, job, plan)

    with pytest.raises(ValueError, match="changed seq 9"):
        store.record(run_id, 0, RunStarted(at(0)), state, [9])
    assert store.events(run_id) == []


def test_several_runs_are_stored_all_or_none(store: SqlStore, plan: Plan) -> None:
    from headwater.core.audit import AuditAction, AuditEntry
    from headwater.errors import InvalidRequest
    from headwater.ports import NewRun

    def backfill(job: JobRecord, count: int) -> list[int]:
        state = state_with(plan, task_run(1, "extract", life_cycle=L.PENDING))
        news = [NewRun(job, state, {}, "ONE_TIME", "ann", "/w", T0) for _ in range(count)]
        made = store.create_runs(news, AuditEntry(T0, "ann", AuditAction.BACKFILL_REQUESTED,
                                                  job.job_id, details={"backfill_id": 7}))
        return [run.run_id for run in made]

    queued = store.create_job({**SETTINGS, "name": "queued", "max_concurrent_runs": 2},
                              "jobs/q.yml", T0)
    run_ids = backfill(queued, 3)
    assert [store.load_run(r).state.life_cycle for r in run_ids] == [L.PENDING, L.PENDING,
                                                                     L.QUEUED]
    [entry] = [e.entry for e in store.audit_entries(job_id=queued.job_id)
               if e.entry.action == AuditAction.BACKFILL_REQUESTED]
    assert entry.details == {"backfill_id": 7, "run_ids": run_ids}

    unqueued = store.create_job({**SETTINGS, "name": "unqueued", "max_concurrent_runs": 1,
                                 "queue": {"enabled": False}}, "jobs/u.yml", T0)
    with pytest.raises(InvalidRequest, match="The runs cannot all wait their turn"):
        backfill(unqueued, 2)
    assert store.list_runs(unqueued.job_id) == []
    assert [e.entry.action for e in store.audit_entries(job_id=unqueued.job_id)] == [
        AuditAction.JOB_CREATED]


def test_runs_are_listed_by_when_they_ended(store: SqlStore, job: JobRecord, plan: Plan) -> None:
    assert store.last_end_time() is None
    ended = []
    for seconds in (10, 20):
        run_id, state = start_run(store, job, plan)
        done = replace(state, life_cycle=L.TERMINATED, result=R.SUCCESS, end_time=at(seconds))
        store.record(run_id, 0, RunStarted(at=T0), done, ())
        ended.append(run_id)
    start_run(store, job, plan)  # still going: it has not ended

    assert [r.run_id for r in store.list_runs(job.job_id, completed_only=True,
                                              ended_after=at(10))] == [ended[1]]
    assert sorted(r.run_id for r in store.list_runs(job.job_id, ended_after=at(5))) == ended
    assert store.last_end_time() == at(20)


def test_one_attempts_output_reads_back(store: SqlStore, job: JobRecord, plan: Plan) -> None:
    from headwater.core.events import TaskSucceeded

    run_id, _ = start_run(store, job, plan)
    sql = {"sql_output": {"columns": ["n"], "rows": [[1]], "truncated": False}}
    done = state_with(plan, task_run(1, "extract", life_cycle=L.TERMINATED, result=R.SUCCESS),
                      task_run(2, "load"))
    store.record(run_id, 0, TaskSucceeded(at(1), seq=1), done, [1], outputs={1: sql})

    assert store.task_output(run_id, 1) == sql
    assert store.task_output(run_id, 2) is None  # it left nothing yet
    assert store.task_outputs(run_id) == {1: sql}


def test_a_run_keeps_its_scope_and_reads_back_planned_for_it(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    scope = RunScope(("load",), {"python_params": ["--day", "1"]})
    state = state_with(scope.plan(JobSettings.model_validate(SETTINGS)),
                       task_run(1, "load", life_cycle=L.PENDING))

    run_id = store.create_run(job, state, {}, "ONE_TIME", "ann", "/w", T0, scope=scope).run_id
    whole_id = start_run(store, job, plan)[0]

    loaded = store.load_run(run_id)
    assert loaded.scope == scope
    assert list(loaded.state.plan.tasks) == ["load"]
    assert loaded.state.plan.tasks["load"].depends_on == ()
    whole = store.load_run(whole_id)
    assert whole.scope == RunScope()
    assert list(whole.state.plan.tasks) == ["extract", "load"]
    [audit] = store.audit_entries(run_id=run_id)
    assert audit.entry.details["only"] == ["load"]
    assert audit.entry.details["task_parameters"] == {"python_params": ["--day", "1"]}
