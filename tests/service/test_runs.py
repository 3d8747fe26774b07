"""Runs through the service: each use case returns at once, leaving the work to an engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_builders import settings
from sqlalchemy import update

from headwater.core.events import RunStarted, TaskFailed, TaskStarted
from headwater.core.machine import decide
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest, InvalidState, NotFound
from headwater.ports import JobRecord
from headwater.service import Service
from headwater.store.tables import runs
from headwater.testing import T0


def test_starting_a_run_stores_it_for_an_engine_and_returns_at_once(
        service: Service, tmp_path: Path) -> None:
    job = service.create_job(settings(max_concurrent_runs=2))

    created = [service.run_now(job.job_id) for _ in range(3)]

    assert [c.life_cycle for c in created] == ["PENDING", "PENDING", "QUEUED"]
    page = service.list_runs(job_id=job.job_id, limit=2)
    assert [r.run_id for r in page.items] == [created[2].run_id, created[1].run_id]
    rest = service.list_runs(job_id=job.job_id, limit=2, page_token=page.next_page_token)
    assert [r.run_id for r in rest.items] == [created[0].run_id]
    document = service.run_document(created[2].run_id)
    assert document["state"]["life_cycle_state"] == "QUEUED"
    assert document["status"]["queue_details"]["code"] == "MAX_CONCURRENT_RUNS_REACHED"


def test_cancel_ends_a_queued_run_at_once_and_asks_the_engine_for_a_running_one(
        service: Service) -> None:
    job = service.create_job(settings())
    running, queued = service.run_now(job.job_id), service.run_now(job.job_id)

    service.cancel(queued.run_id)
    service.cancel(running.run_id)

    assert service.get_run(queued.run_id).state.result is not None
    assert str(service.get_run(queued.run_id).state.result) == "CANCELED"
    assert [r.kind for r in service.store.pending_requests([running.run_id])] == ["CANCEL"]
    with pytest.raises(InvalidState) as raised:
        service.cancel(queued.run_id)
    assert raised.value.error_code == "INVALID_STATE"
    with pytest.raises(NotFound, match="has no task 'tx'"):
        service.cancel(running.run_id, "tx")


def test_cancelling_many_runs_ends_the_queued_ones_before_a_slot_frees(
        service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine may stop the running run the moment its cancel is asked, and the queue then
    admits the next run into its slot: the runs of the same cancel that wait in the queue
    must have ended by then, or one starts and runs tasks before its own cancel comes."""
    job = service.create_job(settings(queue={"enabled": True}))
    running, *queued = [service.run_now(job.job_id) for _ in range(4)]
    store = service.store
    asked = store.request_cancel

    def engine_acts_at_once(run_id: int, *args: object, **kwargs: object) -> int:
        request = asked(run_id, *args, **kwargs)  # type: ignore[arg-type]
        with store.engine.begin() as conn:  # the engine ends the run, freeing its slot
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(
                life_cycle="TERMINATED", result="CANCELED", needs_engine=False))
        store.admit_queued(service.clock.now())
        return request

    monkeypatch.setattr(store, "request_cancel", engine_acts_at_once)

    # oldest first, as a backfill lists its runs: the running one comes first
    cancelled = service.cancel_each([running.run_id, *[q.run_id for q in queued]])

    assert cancelled == [running.run_id, *[q.run_id for q in queued]]
    for run in queued:
        assert service.get_run(run.run_id).state.message == (
            "The run was cancelled while it waited in the queue."), run.run_id


def test_a_repair_of_a_run_that_goes_on_is_refused(service: Service) -> None:
    job = service.create_job(settings())
    run = service.run_now(job.job_id)

    with pytest.raises(InvalidState, match="still in progress"):
        service.repair(run.run_id, [], all_failed=True)


def test_unknown_parameters_are_refused_naming_the_declared_ones(service: Service) -> None:
    job = service.create_job(settings(parameters=[{"name": "env", "default": "dev"}]))

    with pytest.raises(InvalidRequest, match=r"unknown job parameter 'evn' \(did you mean 'env'"):
        service.run_now(job.job_id, {"evn": "prod"})
    assert service.list_runs().items == []


def test_a_run_that_does_not_exist_has_the_sdk_s_message(service: Service) -> None:
    with pytest.raises(NotFound, match=r"^Run 999 does not exist\.$"):
        service.run_document(999)


@pytest.mark.parametrize("by", ["job run id", "task run id"])
def test_a_run_is_read_after_the_requests_no_engine_has_taken(
        service: Service, monkeypatch: pytest.MonkeyPatch, by: str) -> None:
    # An engine takes a repair in the transaction that starts it. Read after the run, a
    # repair taken between the two reads would show in neither: the run would seem to have
    # ended as before, and the SDK's repair_run_and_wait would fail at once. A task run's
    # page (the UI's) shows its job run's repairs: those requests too are read first.
    run = service.run_now(service.create_job(settings()).job_id)
    state = service.get_run(run.run_id).state
    for event in (RunStarted(service.clock.now()), TaskStarted(service.clock.now(), 1, "p")):
        decision = decide(state, event)  # what an engine records as it starts the run
        service.store.record(run.run_id, 0, event, decision.state, decision.changed)
        state = decision.state
    task_run_id = service.get_run(run.run_id).task_run_ids[1]
    asked = run.run_id if by == "job run id" else task_run_id
    reads: list[tuple[str, object]] = []
    for name in ("load_run", "pending_requests"):
        real = getattr(service.store, name)
        monkeypatch.setattr(service.store, name,
                            lambda arg, _real=real, _name=name: (reads.append((_name, arg)),
                                                                 _real(arg))[1])

    service.run_document(asked)
    service.run_details(asked)

    assert reads == [("pending_requests", [run.run_id]), ("load_run", run.run_id)] * 2


def failed_run(service: Service, tasks: int) -> tuple[JobRecord, int]:
    """A new job of `tasks` tasks and a run of it whose every task started and failed, as
    an engine records it: a run ended FAILED, to be repaired."""
    job = service.create_job(settings(tasks=tasks))
    run_id = service.run_now(job.job_id).run_id
    state = service.get_run(run_id).state
    seqs = list(range(1, tasks + 1))
    for event in (RunStarted(T0), *(TaskStarted(T0, seq, f"pid{seq}") for seq in seqs),
                  *(TaskFailed(T0, seq, "no") for seq in seqs)):
        state = decide(state, event).state
        service.store.record(run_id, 0, event, state, seqs)
    return job, run_id


def test_a_second_repair_while_the_first_waits_for_an_engine_names_the_waiting_one(
        service: Service) -> None:
    # Given a run that failed, and a repair of it that no engine has taken yet
    _, run_id = failed_run(service, tasks=1)
    first = service.repair(run_id, [], all_failed=True, insist_on_latest=True)

    # When a second repair names the first as the latest, as the Jobs API asks
    with pytest.raises(InvalidState) as raised:
        service.repair(run_id, [], all_failed=True, latest_repair_id=first.repair_id,
                       insist_on_latest=True)

    # Then it is told that repair is the latest and still waits, not that its id is wrong
    assert str(raised.value).startswith(
        f"Run {run_id} already has a repair waiting for an engine (repair {first.repair_id}, "
        "the latest); a new repair needs the run to have ended again")


def test_a_repair_of_a_task_the_job_no_longer_has_is_refused_or_left_out(
        service: Service) -> None:
    # Given a run whose two tasks failed, then the job's first task renamed
    job, run_id = failed_run(service, tasks=2)
    renamed = settings(tasks=2).model_dump(mode="json", exclude_none=True)
    renamed["tasks"][0]["task_key"] = "t0_renamed"
    service.reset_job(job.job_id, JobSettings.model_validate(renamed))

    # When the renamed task is named, it is refused, saying why and what the job has
    with pytest.raises(InvalidRequest, match=r"^Task 't0' of run \d+ is no longer in job \d+, "
                       r"whose current settings a repair runs \(its tasks: t0_renamed, t1\)"):
        service.repair(run_id, ["t0"])
    # and a repair of all the failed tasks reruns those the job still has
    asked = service.repair(run_id, [], all_failed=True)
    assert asked.task_keys == ("t1",)


def test_a_repair_of_a_run_of_a_deleted_job_says_so(service: Service) -> None:
    job, run_id = failed_run(service, tasks=1)
    service.delete_job(job.job_id)

    with pytest.raises(InvalidState, match=rf"^Run {run_id} cannot be repaired: its job "
                       rf"{job.job_id} \('etl'\) was deleted"):
        service.repair(run_id, [], all_failed=True)
