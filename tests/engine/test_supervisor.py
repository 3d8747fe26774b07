"""The supervisor in-process: many runs in one loop, leases, takeover, fencing, hand-back,
requests and the job queue, on the real SQLite store with fake attempts and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from engine_world import World, step_until

from headwater.core.backfill import Backfill
from headwater.core.events import TaskStarted, TaskSucceeded
from headwater.core.notifications import RUN_LIMIT, UsualDurations
from headwater.errors import LeaseLost, StoreError
from headwater.ports import AttemptKey, LaunchSpec
from headwater.testing import Outcome


def test_one_engine_drives_many_runs_to_their_end(world: World) -> None:
    job = world.job(tasks=5, max_concurrent_runs=20)
    runs = [world.start(job) for _ in range(12)]
    engine = world.engine("e1", max_parallel=4)

    step_until(lambda: all(world.result(r) == "SUCCESS" for r in runs), engine)

    assert len(world.attempts.launched) == 12 * 5
    assert world.attempts.most_at_once == 4  # the cap holds across runs
    assert engine.drivers == {}  # ended runs are let go


def test_free_slots_go_round_the_runs(world: World) -> None:
    # Given a run of 40 tasks started before a run of 2, one slot at a time
    big = world.start(world.job(tasks=40, name="big", max_concurrent_runs=5))
    small = world.start(world.job(tasks=2, name="small"))
    engine = world.engine("e1", max_parallel=1)
    # When the small run ends
    step_until(lambda: world.result(small) == "SUCCESS", engine)
    # Then the big run had most of its tasks still to go: the slots alternated
    done = sum(1 for key in world.attempts.launched if key.run_id == big)
    assert done <= 4
    step_until(lambda: world.result(big) == "SUCCESS", engine)


def test_an_expired_lease_is_taken_over_and_the_old_engine_can_write_no_more(
        world: World) -> None:
    # Given engine e1 holding a run whose task takes 100 s
    job = world.job(tasks=2, chain=True)
    run_id = world.start(job)
    slow = world.engine("e1", lambda key, spec: Outcome(seconds=100), lease_seconds=15)
    step_until(lambda: bool(world.attempts.launched), slow)
    events_before = len(world.store.events(run_id))
    # When e1 stalls past its lease (it is not stepped) and e2 looks for work
    world.clock.advance(16)
    other = world.engine("e2", lease_seconds=15)
    step_until(lambda: run_id in other.drivers, other)
    # Then e2 adopted the running attempt instead of starting it again
    assert len(world.attempts.launched) == 1
    step_until(lambda: world.result(run_id) == "SUCCESS", other)
    assert len(world.attempts.launched) == 2
    # And e1, woken up, loses the run on its next write and writes nothing
    events_after = len(world.store.events(run_id))
    slow.drivers[run_id].to_launch.append(1)  # as if it still meant to launch something
    slow.step()
    assert run_id not in slow.drivers
    assert len(world.store.events(run_id)) == events_after > events_before
    resumed = world.store.audit_entries(run_id=run_id)
    assert [e.entry.details.get("engine") for e in resumed
            if e.entry.action == "run.resumed"] == ["e2"]


def test_a_stale_engine_cannot_record_a_decision(world: World) -> None:
    run_id = world.start(world.job(tasks=1))
    first = world.engine("e1", lambda key, spec: Outcome(hang=True))
    step_until(lambda: run_id in first.drivers and world.attempts.launched != {}, first)
    world.clock.advance(20)
    second = world.engine("e2", lambda key, spec: Outcome(hang=True))
    step_until(lambda: run_id in second.drivers, second)
    driver = first.drivers[run_id]

    try:
        driver.apply(TaskStarted(world.clock.now(), 1, "x"))
    except LeaseLost as lost:
        assert lost.run_id == run_id
    else:
        raise AssertionError("a write under a stale fence was accepted")


def test_a_stopped_engine_hands_its_runs_back_at_once(world: World) -> None:
    run_id = world.start(world.job(tasks=1))
    first = world.engine("e1", lambda key, spec: Outcome(seconds=50))
    step_until(lambda: bool(world.attempts.launched), first)

    first.hand_back()

    second = world.engine("e2")  # no lease expiry to wait for
    step_until(lambda: run_id in second.drivers, second, steps=10)
    step_until(lambda: world.result(run_id) == "SUCCESS", second)
    assert len(world.attempts.launched) == 1  # adopted, not started again


def test_a_dead_engine_on_this_host_is_taken_over_before_its_lease_expires(
        world: World) -> None:
    run_id = world.start(world.job(tasks=1))
    first = world.engine("host:1:1:aa", lambda key, spec: Outcome(seconds=50))
    step_until(lambda: bool(world.attempts.launched), first)

    second = world.engine("host:2:2:bb", is_dead=lambda owner: owner == "host:1:1:aa")
    second.step()  # the first look for work, with no time passed

    assert run_id in second.drivers


def test_a_cancel_request_reaches_the_engine_driving_the_run(world: World) -> None:
    run_id = world.start(world.job(tasks=2, chain=True))
    engine = world.engine("e1", lambda key, spec: Outcome(hang=True))
    step_until(lambda: bool(world.attempts.launched), engine)

    world.service.cancel(run_id)

    step_until(lambda: world.result(run_id) is not None, engine)
    assert world.result(run_id) == "CANCELED"
    assert world.store.pending_requests([run_id]) == []


def test_a_repair_request_is_carried_out_by_whichever_engine_claims_it(world: World) -> None:
    # Given a run whose second task failed
    failing = {"t1"}

    def handler(key: AttemptKey, spec: LaunchSpec) -> Outcome:
        return Outcome(exit_code=1 if spec.argv[1] in failing else 0)

    run_id = world.start(world.job(tasks=3, chain=True))
    engine = world.engine("e1", handler)
    step_until(lambda: world.result(run_id) == "FAILED", engine)
    # When a repair is asked for, and the cause fixed
    failing.clear()
    asked = world.service.repair(run_id, [], all_failed=True)
    # Then an engine picks the run up again and reruns what failed, not what succeeded
    step_until(lambda: world.result(run_id) == "SUCCESS", engine)
    state = world.store.load_run(run_id).state
    assert [r.repair_id for r in state.repairs] == [asked.repair_id]
    assert [k for k in ("t0", "t1", "t2") if len(state.attempts(k)) == 2] == ["t1", "t2"]


def test_runs_over_max_concurrent_runs_wait_in_the_queue_in_order(world: World) -> None:
    job = world.job(tasks=1, max_concurrent_runs=1, queue={"enabled": True})
    runs = [world.start(job) for _ in range(5)]
    lives = [str(world.store.load_run(r).state.life_cycle) for r in runs]
    assert lives == ["PENDING", "QUEUED", "QUEUED", "QUEUED", "QUEUED"]
    engine = world.engine("e1", max_parallel=8)

    step_until(lambda: all(world.result(r) == "SUCCESS" for r in runs), engine)

    records = [world.store.load_run(r) for r in runs]
    starts = [record.state.start_time for record in records]
    assert starts == sorted(starts) and len(set(starts)) == 5  # one at a time, in order
    assert all(r.queued_until is not None for r in records[1:])


def test_runs_over_the_limit_are_skipped_without_a_queue(world: World) -> None:
    job = world.job(tasks=1, max_concurrent_runs=1, queue={"enabled": False})
    runs = [world.service.start_run(job, {}, world.tmp_path) for _ in range(5)]

    assert [c.life_cycle for c in runs] == ["PENDING"] + ["SKIPPED"] * 4
    skipped = world.service.run_document(runs[1].run_id)
    assert skipped["state"] == {
        "life_cycle_state": "SKIPPED", "result_state": "MAXIMUM_CONCURRENT_RUNS_REACHED",
        "state_message": runs[1].message, "user_cancelled_or_timedout": False}
    assert skipped["status"]["termination_details"]["code"] == "MAX_CONCURRENT_RUNS_EXCEEDED"


def test_usual_durations_count_only_the_runs_that_ran(world: World) -> None:
    # Given a job of one task that has run twice, with four runs skipped at its limit between
    job = world.job(tasks=1, max_concurrent_runs=1, queue={"enabled": False})
    usual = UsualDurations(times_usual=2, of_last_runs=20, at_least_runs=3, at_least_seconds=1)
    engine = world.engine("e1", usual_durations=usual)
    for _ in range(2):
        run_id = world.start(job)
        assert {world.service.start_run(job, {}, world.tmp_path).life_cycle
                for _ in range(2)} == {"SKIPPED"}
        step_until(lambda: world.result(run_id) == "SUCCESS", engine)
    # Then two durations are too few for a limit of three, though six runs ended
    assert world.store.job_summary(job.job_id).runs == 6
    assert engine.usual_limits(job.job_id) == {}
    # And with a third run that ran, the run and its task have limits
    run_id = world.start(job)
    step_until(lambda: world.result(run_id) == "SUCCESS", engine)
    assert set(engine.usual_limits(job.job_id)) == {RUN_LIMIT, "t0"}


def test_a_store_failure_lets_the_run_go_and_it_is_claimed_again(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run whose first attempt's exit cannot be recorded: the database is away
    run_id = world.start(world.job(tasks=2, chain=True))
    engine = world.engine("e1", lease_seconds=15)
    record_all = world.store.record_all
    failures = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        events = [transition.event for transition in args[2]]
        if any(isinstance(event, TaskSucceeded) for event in events) and not failures:
            failures.append(events)
            raise StoreError("the database is restarting")
        return record_all(*args, **kwargs)

    monkeypatch.setattr(world.store, "record_all", flaky)
    # When the engine carries on
    step_until(lambda: bool(failures), engine)
    assert run_id not in engine.drivers  # it let the run go rather than guess
    # Then the run is claimed again once its lease lapses, and ends with each task once
    step_until(lambda: world.result(run_id) == "SUCCESS", engine)
    assert len(world.attempts.launched) == 2


def test_an_unexpected_error_stops_that_run_as_failed_and_every_other_run_goes_on(
        world: World) -> None:
    # Given two runs of a three-task chain, and a bug that hits the first run's third task
    # when it launches
    job = world.job(tasks=3, chain=True, max_concurrent_runs=5)
    broken, healthy = world.start(job), world.start(job)

    def handler(key: AttemptKey, spec: LaunchSpec) -> Outcome:
        if key.run_id == broken and key.seq == 3:  # t2, its first attempt
            raise AssertionError("a bug in launching")
        return Outcome(seconds=1)

    engine = world.engine("e1", handler)
    # When the engine meets the bug
    step_until(lambda: world.result(broken) is not None
               and world.result(healthy) is not None, engine)
    # Then that run stops as failed, naming the error, and the other run succeeds
    state = world.store.load_run(broken).state
    assert (str(state.life_cycle), str(state.result)) == ("INTERNAL_ERROR", "FAILED")
    assert "headwater failed while driving this run: AssertionError: a bug in launching" \
        in state.message
    assert str(state.termination_code) == "INTERNAL_ERROR"
    assert world.result(healthy) == "SUCCESS"
    assert engine.drivers == {}
    # And once repaired, its history still says how the original run ended: by the engine
    world.service.repair(broken, [], all_failed=True)
    step_until(lambda: world.result(broken) == "SUCCESS", engine)
    history = world.service.run_document(broken)["repair_history"]
    assert [entry["status"]["termination_details"]["code"] for entry in history] == [
        "INTERNAL_ERROR", "SUCCESS"]


ALERTED = {"email_notifications": {"on_failure": ["oncall@example.com"]}}


def test_a_run_skipped_at_the_limit_alerts_unless_muted(world: World) -> None:
    loud = world.job(tasks=1, name="loud", queue={"enabled": False}, **ALERTED)
    quiet = world.job(tasks=1, name="quiet", queue={"enabled": False}, **ALERTED,
                      notification_settings={"no_alert_for_skipped_runs": True})
    world.start(loud), world.start(quiet)

    skipped, muted = world.start(loud), world.start(quiet)

    [row] = world.store.outbox_rows(run_id=skipped)
    assert (row["event"], row["destination"]) == ("on_failure", "email:oncall@example.com")
    assert row["payload"]["result"] == "MAXIMUM_CONCURRENT_RUNS_REACHED"
    assert world.store.outbox_rows(run_id=muted) == []


def test_a_run_cancelled_in_the_queue_alerts_as_any_cancelled_run_unless_muted(
        world: World) -> None:
    loud = world.job(tasks=1, name="loud", queue={"enabled": True}, **ALERTED)
    quiet = world.job(tasks=1, name="quiet", queue={"enabled": True}, **ALERTED,
                      notification_settings={"no_alert_for_canceled_runs": True})
    world.start(loud), world.start(quiet)  # each holds its job's one slot
    queued, muted = world.start(loud), world.start(quiet)

    assert world.service.cancel_each([queued, muted]) == [queued, muted]

    [row] = world.store.outbox_rows(run_id=queued)
    assert (row["event"], row["destination"]) == ("on_failure", "email:oncall@example.com")
    assert row["payload"]["result"] == "CANCELED"
    assert world.store.outbox_rows(run_id=muted) == []
    assert world.store.load_run(queued).state.message == (
        "The run was cancelled while it waited in the queue.")


def test_a_run_queued_for_48_hours_is_skipped_and_alerts(world: World) -> None:
    job = world.job(tasks=1, queue={"enabled": True}, **ALERTED)
    first, waiting = world.start(job), world.start(job)  # no engine yet: the first holds
    world.clock.advance(47 * 3600)
    later = world.start(job)
    world.clock.advance(3600)

    world.engine("e1").claim(world.clock.now())

    record = world.store.load_run(waiting)
    assert (str(record.state.life_cycle), world.result(waiting)) == (
        "SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED")
    assert record.state.message.startswith("The run waited 48 hours in the job's queue")
    assert str(world.store.load_run(later).state.life_cycle) == "QUEUED"  # 1 hour so far
    [row] = world.store.outbox_rows(run_id=waiting)
    assert row["event"] == "on_failure"
    [audit] = world.store.audit_entries(run_id=waiting, action="run.skipped")
    assert audit.entry.details["queued"] is True
    assert str(world.store.load_run(first).state.life_cycle) in ("PENDING", "RUNNING")


def test_the_runs_of_a_backfill_wait_their_turn_past_48_hours(world: World) -> None:
    job = world.job(tasks=1, queue={"enabled": True})
    world.start(job)
    made = world.service.backfill(job.job_id, Backfill.of("2025-11-01", "2025-11-02"))
    world.clock.advance(72 * 3600)

    world.engine("e1").claim(world.clock.now())

    assert [str(world.store.load_run(created.run_id).state.life_cycle)
            for _, created in made.runs] == ["QUEUED", "QUEUED"]
