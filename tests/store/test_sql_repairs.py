"""Repairs in the SQL store: the new task run and run fields, repair ids, the job version."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta, timezone

import pytest
from sqlalchemy import select
from store_builders import SETTINGS, T0, at, state_with, task_run

from headwater.core.events import ForEachStarted, RepairRequested, RunStarted, TaskSucceeded
from headwater.core.plan import Plan
from headwater.core.runstate import LoopProgress, Repair, RunState
from headwater.core.states import LifeCycleState as L
from headwater.core.states import ResultState as R
from headwater.errors import NotFound
from headwater.ports import JobRecord
from headwater.store import SqlStore
from headwater.store.tables import runs

PARIS = timezone(timedelta(hours=1))
# A for-each's inputs can be large: well past SQLite's page size, so on overflow pages.
BIG_INPUTS = json.dumps([{"day": f"2026-03-{n % 28 + 1:02d}", "n": n, "name": "é"}
                         for n in range(20_000)])


def assert_same_snapshot(loaded: RunState, recorded: RunState) -> None:
    """Dataclass equality of everything the store keeps (the plan is rebuilt, not stored)."""
    assert loaded.task_runs == recorded.task_runs
    assert loaded.repairs == recorded.repairs
    assert loaded.original_end_time == recorded.original_end_time
    assert loaded == replace(recorded, plan=loaded.plan)


def test_every_new_field_reads_back_as_it_was_created_and_recorded(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given a run created with task runs that already carry the new fields
    extract = task_run(1, "extract", life_cycle=L.TERMINATED, result=R.SUCCESS,
                       resolved='{"parameters":["--day","2026-03-01"]}',
                       values='{"rows":12,"note":"ü"}', end_time=at(2))
    loop = task_run(2, "load", life_cycle=L.RUNNING, inputs=BIG_INPUTS,
                    loop=LoopProgress(total=20_000, started=3, done=1, failed=0))
    created = state_with(plan, extract, loop, life_cycle=L.RUNNING, start_time=at(0))
    run_id = store.create_run(job, created, {}, "ONE_TIME", "ann", "/w", T0).run_id
    assert_same_snapshot(store.load_run(run_id).state, created)

    # When a repair reruns `load`: the loop progresses, a repair attempt is added, and the run
    # records its repair history and the end of the original run
    repair_id = store.new_id("REPAIR")
    progressed = loop.evolve(loop=LoopProgress(total=20_000, started=20_000, done=19_998,
                                               failed=2), life_cycle=L.TERMINATED,
                             result=R.FAILED, end_time=at(9))
    rerun = task_run(3, "load", attempt_number=0, repair=1, life_cycle=L.PENDING,
                     resolved="{}", values="{}", inputs="[]",
                     loop=LoopProgress(total=0), pending_since=at(10).astimezone(PARIS))
    repairs = (
        Repair(number=1, repair_id=repair_id, start_time=at(10).astimezone(PARIS),
               end_time=at(20) + timedelta(microseconds=7), result=R.SUCCESS,
               task_keys=("load",)),
        Repair(number=2, repair_id=repair_id + 1000, start_time=at(30)),
    )
    repaired = state_with(plan, extract, progressed, rerun, life_cycle=L.RUNNING,
                          start_time=at(0), repairs=repairs, original_end_time=at(9))
    event = RepairRequested(at(10), repair_id, job.version, ("load",))
    ids = store.record(run_id, 0, event, repaired, [2, 3])

    # Then every field reads back equal, the update and the insert alike
    assert set(ids) == {2, 3}
    assert store.events(run_id) == [event]
    record = store.load_run(run_id)
    assert_same_snapshot(record.state, repaired)
    assert record.state.task_runs[2].inputs == BIG_INPUTS
    assert record.state.task_runs[3].loop == LoopProgress(total=0)
    assert record.state.task_runs[1].loop is None
    assert record.state.repairs[0].start_time.utcoffset() == timedelta(0)
    with store.engine.connect() as conn:
        stored = conn.execute(select(runs.c.repairs).where(runs.c.run_id == run_id)).scalar_one()
    assert stored[0]["start_time"] == "2026-03-01T12:00:10.000000+00:00"  # ISO UTC instants
    assert stored[1] == {"number": 2, "repair_id": repair_id + 1000,
                         "start_time": "2026-03-01T12:00:30.000000+00:00", "end_time": None,
                         "result": None, "task_keys": []}


def test_new_fields_can_be_cleared_again(store: SqlStore, job: JobRecord, plan: Plan) -> None:
    full = task_run(1, "extract", repair=2, resolved="{}", values='{"a":1}', inputs="[1]",
                    loop=LoopProgress(total=1, started=1))
    run_id = store.create_run(job, state_with(plan, full, original_end_time=at(1),
                                              repairs=(Repair(1, 99, at(2)),)),
                              {}, "ONE_TIME", "ann", "/w", T0).run_id
    cleared = state_with(plan, task_run(1, "extract"))

    store.record(run_id, 0, ForEachStarted(at(3), 1, "[]"), cleared, [1])

    assert_same_snapshot(store.load_run(run_id).state, cleared)


def test_repair_ids_never_collide_with_run_or_task_run_ids(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    seen: list[int] = []
    for _ in range(3):
        seen.append(store.new_id("REPAIR"))
        run_id = store.create_run(job, state_with(plan, task_run(1, "extract")), {},
                                  "ONE_TIME", "ann", "/w", T0).run_id
        more = state_with(plan, task_run(1, "extract"), task_run(2, "load"))
        store.record(run_id, 0, TaskSucceeded(at(1), 1), more, [2])
        seen.append(run_id)
        seen.extend(store.load_run(run_id).task_run_ids.values())
        seen.append(store.new_id("REPAIR"))

    assert len(seen) == len(set(seen)) == 3 * 5
    with pytest.raises(NotFound):
        store.find_task_run(seen[0])  # a repair id is not a task run id
    with pytest.raises(NotFound):
        store.load_run(seen[0])  # nor a run id
    with pytest.raises(ValueError, match="id kind"):
        store.new_id("A_KIND_TOO_LONG_FOR_THE_COLUMN")


def test_a_repair_moves_the_run_to_the_job_version_it_records(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given a run of version 1 and a version 2 with one more task
    run_id = store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id
    report = {"task_key": "report", "depends_on": [{"task_key": "load"}],
              "shell_command_task": {"command": "echo r"}}
    newer = store.update_job(job.job_id, {**SETTINGS, "tasks": [*SETTINGS["tasks"], report]},
                             "api", at(60), "ann")
    assert store.load_run(run_id).state.plan.order == ("extract", "load")

    # When the repair's decision is recorded with the job's current version and parameters
    store.record(run_id, 0, RunStarted(at(61)), state_with(plan), [],
                 job_version=newer.version, parameters={"env": "dev"})

    # Then the run is loaded with, and planned from, version 2
    record = store.load_run(run_id)
    assert record.job == newer and record.parameters == {"env": "dev"}
    assert record.state.plan.order == ("extract", "load", "report")
    assert [r.run_id for r in store.list_runs(job_id=job.job_id)] == [run_id]


def test_a_repair_to_an_unknown_version_writes_nothing(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_id = store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id

    with pytest.raises(NotFound, match=rf"^Job {job.job_id} version 5 does not exist\.$"):
        store.record(run_id, 0, RunStarted(at(1)), state_with(plan), [], job_version=5)
    assert store.load_run(run_id).job == job
    assert store.events(run_id) == []
