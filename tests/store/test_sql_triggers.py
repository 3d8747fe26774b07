"""The triggers' memory and fires through `SqlStore`: a state changes compare-and-set, a fire
key starts one run, and the run each entry of `triggers` last started is found by its key."""

from __future__ import annotations

from store_builders import at

from headwater.core.machine import initial_state
from headwater.core.plan import Plan
from headwater.core.trigger_details import LastFire
from headwater.core.triggers import entry_key
from headwater.ports import JobRecord, NewRun
from headwater.store import SqlStore


def fire(store: SqlStore, job: JobRecord, plan: Plan, key: str, version: int,
         seconds: float) -> int | None:
    """Fire `key` at second `seconds` with the state at `version`; the run it started."""
    new = NewRun(job, initial_state(plan), {}, "PERIODIC", "ann", "/w", at(seconds))
    created = store.fire_trigger(new, key, version, {"fires": version + 1})
    return None if created is None else created.run_id


def test_a_fire_key_starts_one_run_and_a_stale_state_starts_none(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    first = fire(store, job, plan, "schedule:a", 0, 1)
    assert first is not None
    assert fire(store, job, plan, "schedule:b", 0, 2) is None  # the state moved on: version 1
    assert fire(store, job, plan, "schedule:a", 1, 2) is None  # fired already
    assert store.trigger_states([job.job_id]) == {job.job_id: (1, {"fires": 1})}
    assert [run.run_id for run in store.list_runs(job.job_id)] == [first]


def test_the_run_each_entry_last_started_is_found_by_its_key(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given entries 0 and 1 of `triggers` that fired: entry 1 twice, the second time later
    early = fire(store, job, plan, entry_key(1) + "file_arrival:1", 0, 1)
    schedule = fire(store, job, plan, entry_key(0) + "schedule:2026-03-01T12:00:02", 1, 2)
    late = fire(store, job, plan, entry_key(1) + "file_arrival:2", 2, 3)
    assert early is not None and schedule is not None and late is not None

    found = store.last_trigger_fires(job.job_id, [entry_key(i) for i in range(3)] + [""])

    # Then each entry's is its latest; an entry that never fired has none; "" is any entry's
    assert found == [LastFire(schedule, at(2)), LastFire(late, at(3)), None,
                     LastFire(late, at(3))]
    assert store.last_trigger_fires(job.job_id + 1, [""]) == [None]
