"""Backfills on the real SQLite store, driven by an in-process engine: the runs are made at once
in the job's queue and run oldest first, `max_concurrent_runs` at a time; a backfill the queue
cannot hold, or with a wrong parameter, stores nothing; one audit entry names every run."""

from __future__ import annotations

import pytest
from engine_world import World, step_until

from headwater.core.backfill import Backfill
from headwater.errors import InvalidRequest, NotFound
from headwater.ports import AttemptKey, LaunchSpec
from headwater.testing import Outcome


def test_a_backfill_queues_its_runs_and_they_run_oldest_first_two_at_a_time(
        world: World) -> None:
    job = world.job(tasks=1, max_concurrent_runs=2,
                    parameters=[{"name": "run_date", "default": "today"}])
    started: list[int] = []

    def handler(key: AttemptKey, spec: LaunchSpec) -> Outcome:
        started.append(key.run_id)
        return Outcome(seconds=5)

    engine = world.engine("e1", handler)

    made = world.service.backfill(job.job_id, Backfill.of("2025-11-01", "2025-11-05"),
                                  {"run_date": "{{backfill.iso_date}}"})

    assert [(t.day, r.life_cycle) for t, r in made.runs] == [
        (1, "PENDING"), (2, "PENDING"), (3, "QUEUED"), (4, "QUEUED"), (5, "QUEUED")]
    run_ids = [run.run_id for _, run in made.runs]
    step_until(lambda: all(world.result(r) == "SUCCESS" for r in run_ids), engine)
    assert started == run_ids  # oldest first
    records = [world.store.load_run(r) for r in run_ids]
    assert {r.trigger for r in records} == {"ONE_TIME"}
    assert [r.trigger_info["backfill"] for r in records][4] == {  # type: ignore[index]
        "backfill_id": made.backfill_id, "time": "2025-11-05T00:00:00Z", "index": 5,
        "count": 5}
    assert {r.parameters["run_date"] for r in records} == {"{{backfill.iso_date}}"}
    [entry] = [e for e in world.store.audit_entries() if e.entry.action == "backfill.requested"]
    assert entry.entry.details["run_ids"] == run_ids
    assert entry.entry.details["every"] == "every day"


def test_runs_the_queue_cannot_hold_store_nothing(world: World) -> None:
    job = world.job(tasks=1, max_concurrent_runs=1, queue={"enabled": False})
    # (the job has no run: the backfill's first takes its one slot, which the message says)
    with pytest.raises(InvalidRequest, match=r"The runs cannot all wait their turn: counting "
                       r"the runs asked for before it, one would be skipped: the job already "
                       r"has 1 active run \(max_concurrent_runs 1\) and its queue is off\. "
                       r"Enable the job's queue"):
        world.service.backfill(job.job_id, Backfill.of("2025-11-01", "2025-11-03"))
    assert world.store.list_runs(job.job_id) == []
    assert not [e for e in world.store.audit_entries() if e.entry.job_id == job.job_id
                and e.entry.action != "job.created"]


def test_an_unknown_parameter_stores_nothing(world: World) -> None:
    job = world.job(tasks=1, parameters=[{"name": "run_date", "default": "today"}])
    with pytest.raises(InvalidRequest, match="run_dte"):
        world.service.backfill(job.job_id, Backfill.of("2025-11-01", "2025-11-03"),
                               {"run_dte": "{{backfill.iso_date}}"})
    assert world.store.list_runs(job.job_id) == []
    # and a dry run is refused alike: it says what the backfill would do
    with pytest.raises(InvalidRequest, match="run_dte"):
        world.service.backfill_times(job.job_id, Backfill.of("2025-11-01", "2025-11-03"),
                                     {"run_dte": "x"})


def test_cancelling_a_backfill_ends_its_runs_and_no_other(world: World) -> None:
    job = world.job(tasks=1)
    running = world.start(job)
    first = world.service.backfill(job.job_id, Backfill.of("2025-11-01", "2025-11-03"))
    second = world.service.backfill(job.job_id, Backfill.of("2025-10-01", "2025-10-02"))

    cancelled = world.service.cancel_backfill(first.backfill_id)

    assert cancelled == [run.run_id for _, run in first.runs]
    assert [world.result(run.run_id) for _, run in first.runs] == ["CANCELED"] * 3
    assert [world.result(run.run_id) for _, run in second.runs] == [None, None]
    assert world.result(running) is None
    assert world.service.cancel_backfill(first.backfill_id) == []  # they have all ended
    with pytest.raises(NotFound, match="Backfill 999 does not exist"):
        world.service.cancel_backfill(999)
