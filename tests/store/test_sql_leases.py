"""Leases on runs in the SQL store: claim, fence, renew, expiry, hand-back, and admission."""

from __future__ import annotations

import threading

import pytest
from store_builders import SETTINGS, T0, at, state_with

from headwater.core.events import RunStarted, TaskFailed, TaskStarted
from headwater.core.machine import decide, initial_state
from headwater.core.plan import Plan
from headwater.core.states import LifeCycleState as L
from headwater.errors import LeaseLost
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.testing import FakeClock


def new_run(store: SqlStore, job: JobRecord, plan: Plan, **lease: object) -> int:
    return store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0,
                            **lease).run_id  # type: ignore[arg-type]


def test_a_run_is_claimed_once_and_each_claim_raises_the_fence(
        leased: SqlStore, job: JobRecord, plan: Plan, clock: FakeClock) -> None:
    run_id = new_run(leased, job, plan)

    [first] = leased.claim_runs("e1", 10, 15, T0, "ann")
    assert leased.claim_runs("e2", 10, 15, T0, "ann") == []  # held: nobody else gets it
    clock.advance(16)
    [second] = leased.claim_runs("e2", 10, 15, at(16), "ann")

    assert (first.run_id, first.fence, first.previous_owner) == (run_id, 1, None)
    assert (second.run_id, second.fence, second.previous_owner) == (run_id, 2, "e1")
    assert leased.load_run(run_id).lease_owner == "e2"


def test_a_write_under_an_old_fence_is_refused_and_writes_nothing(
        leased: SqlStore, job: JobRecord, plan: Plan, clock: FakeClock) -> None:
    run_id = new_run(leased, job, plan)
    [old] = leased.claim_runs("e1", 10, 15, T0, "ann")
    clock.advance(16)
    [new] = leased.claim_runs("e2", 10, 15, at(16), "ann")

    with pytest.raises(LeaseLost):
        leased.record(run_id, old.fence, RunStarted(at(17)), state_with(plan), [])
    leased.record(run_id, new.fence, RunStarted(at(18)), state_with(plan), [])

    assert leased.events(run_id) == [RunStarted(at(18))]


def test_renewing_keeps_a_lease_and_reports_the_ones_lost(
        leased: SqlStore, job: JobRecord, plan: Plan, clock: FakeClock) -> None:
    kept, lost = new_run(leased, job, plan), new_run(leased, job, plan)
    claims = {c.run_id: c.fence for c in leased.claim_runs("e1", 10, 15, T0, "ann")}
    clock.advance(10)
    assert leased.renew_leases("e1", {kept: claims[kept]}, 15) == set()
    clock.advance(10)  # 20 s after the claim: `lost` expired, `kept` was renewed at 10 s

    assert [c.run_id for c in leased.claim_runs("e2", 10, 15, at(20), "ann")] == [lost]
    assert leased.renew_leases("e1", claims, 15) == {lost}


def test_a_handed_back_run_is_claimed_at_once(
        leased: SqlStore, job: JobRecord, plan: Plan) -> None:
    run_id = new_run(leased, job, plan)
    [claim] = leased.claim_runs("e1", 10, 15, T0, "ann")

    assert leased.release_run(run_id, claim.fence)
    assert not leased.release_run(run_id, claim.fence + 1)
    assert [c.run_id for c in leased.claim_runs("e2", 10, 15, T0, "ann")] == [run_id]


def test_a_dead_owner_s_runs_can_be_taken_before_expiry(
        leased: SqlStore, job: JobRecord, plan: Plan) -> None:
    run_id = new_run(leased, job, plan)
    leased.claim_runs("host:1:1:aa", 10, 15, T0, "ann")

    assert leased.lease_owners("host:") == {"host:1:1:aa"}
    assert leased.claim_runs("host:2:2:bb", 10, 15, T0, "ann") == []
    [taken] = leased.claim_runs("host:2:2:bb", 10, 15, T0, "ann", take_from={"host:1:1:aa"})
    assert taken.run_id == run_id


def test_a_run_created_with_a_lease_is_not_claimed_by_others(
        leased: SqlStore, job: JobRecord, plan: Plan) -> None:
    created = leased.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0,
                                owner="cli", lease_seconds=15)

    assert created.fence == 1
    assert leased.claim_runs("e1", 10, 15, T0, "ann") == []
    leased.record(created.run_id, 1, RunStarted(at(1)), state_with(plan), [])


def test_an_ended_run_needs_no_engine_unless_a_request_waits(
        leased: SqlStore, job: JobRecord, plan: Plan) -> None:
    run_id = new_run(leased, job, plan)
    [claim] = leased.claim_runs("e1", 10, 15, T0, "ann")
    ended = state_with(plan, life_cycle=L.TERMINATED)
    leased.record(run_id, claim.fence, RunStarted(at(1)), ended, [])
    assert leased.claim_runs("e2", 10, 15, at(2), "ann") == []

    leased.request_repair(run_id, {"repair_id": 1}, at(3))

    assert [c.run_id for c in leased.claim_runs("e2", 10, 15, at(3), "ann")] == [run_id]


def test_engines_claiming_at_once_never_share_a_run(db_url: str, job: JobRecord,
                                                    plan: Plan, store: SqlStore) -> None:
    runs = {new_run(store, job, plan) for _ in range(40)}
    claimed: dict[str, list[int]] = {}

    def claim(name: str) -> None:
        own = open_store(db_url)
        try:
            found: list[int] = []
            for _ in range(20):
                found += [c.run_id for c in own.claim_runs(name, 3, 60, T0, "ann")]
            claimed[name] = found
        finally:
            own.close()

    threads = [threading.Thread(target=claim, args=(f"e{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [run for found in claimed.values() for run in found]
    assert sorted(everything) == sorted(runs)  # each run claimed exactly once


def test_max_concurrent_runs_is_decided_when_a_run_is_created(
        leased: SqlStore, plan: Plan) -> None:
    job = leased.create_job({**SETTINGS, "max_concurrent_runs": 2}, "a.yml", T0)
    made = [leased.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0)
            for _ in range(4)]
    assert [m.life_cycle for m in made] == ["PENDING", "PENDING", "QUEUED", "QUEUED"]
    # A queued run cannot be claimed until a slot frees
    assert {c.run_id for c in leased.claim_runs("e1", 10, 15, T0, "ann")} == {
        made[0].run_id, made[1].run_id}
    assert leased.admit_queued(at(1)) == []
    assert leased.cancel_queued([made[0].run_id, made[3].run_id], at(2), "ann") == [
        made[3].run_id]  # the first is not queued
    assert str(leased.load_run(made[3].run_id).state.result) == "CANCELED"


def test_a_run_that_ended_as_a_cancel_came_is_released_once_not_claimed_for_ever(
        leased: SqlStore, job: JobRecord, plan: Plan, clock: FakeClock) -> None:
    # Given a run an engine drives, cancelled at the moment it ended: the end is written with
    # the cancel still waiting, so the run still needs an engine (to take the request)
    run_id = new_run(leased, job, plan)
    [claim] = leased.claim_runs("e1", 10, 15, T0, "ann")
    leased.request_cancel(run_id, None, at(1))
    state = initial_state(plan)
    for event in [RunStarted(at(1)), TaskStarted(at(1), 1, "p"), TaskFailed(at(2), 1, "no")]:
        decision = decide(state, event)
        leased.record(run_id, claim.fence, event, decision.state, decision.changed)
        state = decision.state
    assert state.is_terminal

    # When an engine takes it again, drops the cancel (the run has ended) and hands it back
    leased.release_run(run_id, claim.fence)
    [again] = leased.claim_runs("e2", 10, 15, at(3), "ann")
    [request] = leased.pending_requests([run_id])
    leased.drop_requests(run_id, again.fence, [request.request_id], at(4))
    assert leased.release_run(run_id, again.fence)

    # Then no engine claims it any more, and a repair still brings one back
    assert leased.claim_runs("e3", 10, 15, at(5), "ann") == []
    leased.request_repair(run_id, {"repair_id": 7, "task_keys": ["extract"],
                                   "job_version": 1}, at(6))
    assert [c.run_id for c in leased.claim_runs("e3", 10, 15, at(7), "ann")] == [run_id]
