"""Job-completion triggers inside engines, in-process on the real SQLite store with a fake
clock: a downstream job starts once every upstream job's run ended as asked, once per set of
completions however many engines look, and an engine that takes over counts what ended while
none looked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_world import World, step_until

from headwater.engine.supervisor import Supervisor
from headwater.ports import AttemptKey, JobRecord, LaunchSpec
from headwater.testing import Outcome


class Upstream:
    """Fake attempts that fail for the runs listed in `failing`."""

    def __init__(self) -> None:
        self.failing: set[int] = set()

    def __call__(self, key: AttemptKey, spec: LaunchSpec) -> Outcome:
        return Outcome(exit_code=1 if key.run_id in self.failing else 0)


def runs_of(world: World, job: JobRecord) -> list[int]:
    return sorted(r.run_id for r in world.store.list_runs(job.job_id, limit=1000))


def downstream(world: World, *upstream: JobRecord, if_status: str | None = None) -> JobRecord:
    completion: dict[str, object] = {"jobs": [{"job_id": str(job.job_id)} for job in upstream]}
    if if_status:
        completion["if_status"] = if_status
    return world.job(tasks=1, name="report", max_concurrent_runs=5,
                     trigger={"job_completion": completion})


def finish(world: World, job: JobRecord, handler: Upstream, *engines: Supervisor,
           fail: bool = False) -> int:
    """Start a run of `job` and turn the engines until it ended."""
    run_id = world.start(job)
    if fail:
        handler.failing.add(run_id)
    step_until(lambda: world.result(run_id) is not None, *engines)
    return run_id


def settle(world: World, *engines: Supervisor, seconds: float = 3) -> None:
    until = world.clock.now() + timedelta(seconds=seconds)
    step_until(lambda: world.clock.now() >= until, *engines)


def test_it_fires_once_every_upstream_job_succeeded_since_the_last_fire(world: World) -> None:
    handler = Upstream()
    ingest, enrich = world.job(tasks=1, name="ingest"), world.job(tasks=1, name="enrich")
    report = downstream(world, ingest, enrich)
    engine = world.engine("e1", handler, schedules=True)
    settle(world, engine)

    first = finish(world, ingest, handler, engine)
    finish(world, enrich, handler, engine, fail=True)
    settle(world, engine)
    assert runs_of(world, report) == []  # enrich failed: not every job succeeded yet

    second = finish(world, enrich, handler, engine)
    step_until(lambda: bool(runs_of(world, report)), engine)
    settle(world, engine)
    [fired] = runs_of(world, report)
    record = world.store.load_run(fired)
    assert record.trigger == "JOB_COMPLETION"
    completed = record.trigger_info["job_completion"]["completed_jobs"]  # type: ignore[index]
    assert [(c["job_id"], c["run_id"], c["termination_code"]) for c in completed] == [
        (str(ingest.job_id), str(first), "SUCCESS"), (str(enrich.job_id), str(second), "SUCCESS")]
    step_until(lambda: world.result(fired) == "SUCCESS", engine)

    finish(world, ingest, handler, engine)  # one new completion: enrich has none yet
    settle(world, engine)
    assert len(runs_of(world, report)) == 1
    finish(world, enrich, handler, engine)
    step_until(lambda: len(runs_of(world, report)) == 2, engine)


def test_runs_that_ended_before_the_trigger_existed_do_not_count(world: World) -> None:
    handler = Upstream()
    ingest = world.job(tasks=1, name="ingest")
    engine = world.engine("e1", handler, schedules=True)
    finish(world, ingest, handler, engine)
    settle(world, engine)

    report = downstream(world, ingest)
    settle(world, engine, seconds=8)  # past the scheduler's refresh: the trigger is active
    assert runs_of(world, report) == []
    finish(world, ingest, handler, engine)
    step_until(lambda: len(runs_of(world, report)) == 1, engine)


def test_if_status_failed_fires_on_a_failure_and_not_on_a_success_or_a_cancel(
        world: World) -> None:
    handler = Upstream()
    ingest = world.job(tasks=1, name="ingest")
    report = downstream(world, ingest, if_status="FAILED")
    engine = world.engine("e1", handler, schedules=True)
    settle(world, engine)

    finish(world, ingest, handler, engine)
    cancelled = world.start(ingest)
    world.service.cancel(cancelled)
    step_until(lambda: world.result(cancelled) is not None, engine)
    settle(world, engine)
    assert runs_of(world, report) == []

    failed = finish(world, ingest, handler, engine, fail=True)
    step_until(lambda: bool(runs_of(world, report)), engine)
    record = world.store.load_run(runs_of(world, report)[0])
    [completed] = record.trigger_info["job_completion"]["completed_jobs"]  # type: ignore[index]
    assert (completed["run_id"], completed["termination_code"]) == (
        str(failed), "RUN_EXECUTION_ERROR")


def test_if_status_done_fires_on_any_end(world: World) -> None:
    handler = Upstream()
    ingest = world.job(tasks=1, name="ingest")
    report = downstream(world, ingest, if_status="DONE")
    engine = world.engine("e1", handler, schedules=True)
    settle(world, engine)

    finish(world, ingest, handler, engine, fail=True)
    step_until(lambda: len(runs_of(world, report)) == 1, engine)
    finish(world, ingest, handler, engine)
    step_until(lambda: len(runs_of(world, report)) == 2, engine)


def test_an_engine_that_takes_over_counts_what_ended_while_none_looked(world: World) -> None:
    handler = Upstream()
    ingest, enrich = world.job(tasks=1, name="ingest"), world.job(tasks=1, name="enrich")
    report = downstream(world, ingest, enrich)
    first = world.engine("e1", handler, schedules=True)
    settle(world, first)
    finish(world, ingest, handler, first)
    settle(world, first)  # e1 noted ingest's completion, then stops for good

    runner = world.engine("runner", handler)  # runs the upstream run; fires nothing
    finish(world, enrich, handler, runner)
    settle(world, runner)
    assert runs_of(world, report) == []

    takers = [world.engine(f"e{i}", handler, schedules=True) for i in (2, 3)]
    step_until(lambda: bool(runs_of(world, report)), *takers)
    settle(world, *takers, seconds=8)
    assert len(runs_of(world, report)) == 1  # one run between the two engines


def test_a_monitored_job_named_in_a_bundle_is_found_by_name_and_a_deleted_one_is_shown(
        world: World) -> None:
    handler = Upstream()
    ingest = world.job(tasks=1, name="Ingest")
    report = world.job(tasks=1, name="report", trigger={"job_completion": {"jobs": [
        {"job_name": "ingest"}]}})
    engine = world.engine("e1", handler, schedules=True)
    settle(world, engine)
    finish(world, ingest, handler, engine)
    step_until(lambda: bool(runs_of(world, report)), engine)

    world.service.delete_job(ingest.job_id)
    settle(world, engine, seconds=8)
    document = world.service.job_document(report.job_id, include_trigger_state=True)
    [seen] = document["trigger_state"]["job_completion"]["monitored_job_states"]
    assert seen["is_deleted"] is True
    assert seen["has_seen_completion"] is False  # it fired: waiting for the next one
    assert seen["last_seen_run_id"] == str(runs_of(world, ingest)[0])


def test_a_run_whose_end_is_stored_after_a_later_one_s_still_counts(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a trigger on ingest's success, and ingest's success whose end the store does not
    # show yet (another engine's commit, on its way)
    handler = Upstream()
    ingest = world.job(tasks=1, name="ingest", max_concurrent_runs=5)
    report = downstream(world, ingest)
    engine = world.engine("e1", handler, schedules=True)
    settle(world, engine)
    hidden: set[int] = set()
    list_runs = world.store.list_runs

    def committed(*args: object, **kwargs: object) -> object:
        found = list_runs(*args, **kwargs)  # type: ignore[arg-type]
        return [run for run in found if run.run_id not in hidden]

    monkeypatch.setattr(world.store, "list_runs", committed)
    success = world.start(ingest)
    hidden.add(success)
    step_until(lambda: world.result(success) == "SUCCESS", engine)
    # When a failure of ingest that ended after it is seen first, then the success shows
    finish(world, ingest, handler, engine, fail=True)
    settle(world, engine)
    assert runs_of(world, report) == []
    hidden.clear()
    settle(world, engine)

    # Then the success counts, once: the report started, naming it
    [fired] = runs_of(world, report)
    completed = world.store.load_run(fired).trigger_info["job_completion"]["completed_jobs"]  # type: ignore[index]
    assert [c["run_id"] for c in completed] == [str(success)]
    settle(world, engine, seconds=10)
    assert len(runs_of(world, report)) == 1


def test_an_idle_trigger_reads_no_runs_of_its_jobs(world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    handler = Upstream()
    ingest = world.job(tasks=1, name="ingest")
    report = downstream(world, ingest)
    engine = world.engine("e1", handler, schedules=True)
    settle(world, engine)
    reads: list[int | None] = []
    list_runs = world.store.list_runs

    def counted(job_id: int | None = None, *args: object, **kwargs: object) -> object:
        if kwargs.get("ended_after") is not None:
            reads.append(job_id)
        return list_runs(job_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.store, "list_runs", counted)
    settle(world, engine, seconds=10)  # forty looks: nothing ended, nothing read
    assert reads == []

    finish(world, ingest, handler, engine)
    step_until(lambda: bool(runs_of(world, report)), engine)
    assert ingest.job_id in reads
