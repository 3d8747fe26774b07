"""Requests to the engine driving a run (cancel, repair), made from another process."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from store_builders import SETTINGS, T0, at, drive, state_with

from headwater.core.events import CancelRequested, RunStarted, TaskFailed, TaskStarted
from headwater.core.plan import Plan
from headwater.core.states import LifeCycleState as L
from headwater.errors import InvalidState, LeaseLost, NotFound
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.tables import run_requests, runs


def new_run(store: SqlStore, job: JobRecord, plan: Plan) -> int:
    return store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id


@contextmanager
def statements(store: SqlStore) -> Iterator[list[str]]:
    """The SQL statements the store sends while the block runs (BEGIN/COMMIT left out)."""
    sent: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            sent.append(statement.lstrip().split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)


def test_requests_are_pending_until_handled_oldest_first(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given two runs with requests made in turn
    run_id, other = new_run(store, job, plan), new_run(store, job, plan)
    store.request_cancel(run_id, "load", at(1))
    store.request_cancel(other, None, at(2))
    store.request_cancel(run_id, None, at(3))
    store.request_cancel(run_id, "load", at(4))  # asked twice: both are kept

    # When the engine of both runs reads their requests, then handles the first run's
    pending = store.pending_requests([run_id, other])
    mine = [r.request_id for r in pending if r.run_id == run_id]
    store.drop_requests(run_id, 0, mine, at(5))

    # Then it got them in the order they were made, and once handled they are gone
    assert [(r.run_id, r.kind, r.task_key) for r in pending] == [
        (run_id, "CANCEL", "load"), (other, "CANCEL", None), (run_id, "CANCEL", None),
        (run_id, "CANCEL", "load")]
    assert [(r.run_id, r.kind) for r in store.pending_requests([run_id, other])] == [
        (other, "CANCEL")]
    store.request_cancel(run_id, "extract", at(8))
    [later] = store.pending_requests([run_id])
    assert later.task_key == "extract" and later.request_id > mine[-1]
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(run_requests.c.created_time, run_requests.c.handled_time)
            .where(run_requests.c.run_id == run_id).order_by(run_requests.c.request_id)
        ).all()
    assert [tuple(row) for row in rows] == [
        (at(1), at(5)), (at(3), at(5)), (at(4), at(5)), (at(8), None)]


def test_a_request_is_handled_in_the_transaction_of_its_event(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_id = new_run(store, job, plan)
    request = store.request_cancel(run_id, None, at(1))
    state = state_with(plan)

    with pytest.raises(LeaseLost):  # a stale engine: neither the event nor the handling
        store.record(run_id, 7, CancelRequested(at(2)), state, [], handled=[request])
    assert [r.request_id for r in store.pending_requests([run_id])] == [request]

    store.record(run_id, 0, CancelRequested(at(2)), state, [], handled=[request])
    assert store.pending_requests([run_id]) == []


def test_a_repair_is_refused_while_the_run_goes_and_while_another_waits(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    running = store.create_run(job, state_with(plan, life_cycle=L.RUNNING), {}, "ONE_TIME",
                               "ann", "/w", T0).run_id
    ended = store.create_run(job, state_with(plan, life_cycle=L.TERMINATED), {}, "ONE_TIME",
                             "ann", "/w", T0).run_id

    with pytest.raises(InvalidState, match="still in progress"):
        store.request_repair(running, {"repair_id": 1}, at(1))
    store.request_repair(ended, {"repair_id": 2}, at(1))
    with pytest.raises(InvalidState, match="already has a repair waiting"):
        store.request_repair(ended, {"repair_id": 3}, at(2))
    [waiting] = store.pending_requests([ended])
    assert (waiting.kind, waiting.body) == ("REPAIR", {"repair_id": 2})


def test_a_request_for_an_unknown_run_is_refused(store: SqlStore) -> None:
    with pytest.raises(NotFound, match=r"^Run 424242 does not exist\.$"):
        store.request_cancel(424242, None, T0)
    assert store.pending_requests([424242]) == []


def test_a_request_from_another_store_reaches_the_engine(
    store: SqlStore, job: JobRecord, plan: Plan, db_url: str
) -> None:
    run_id = new_run(store, job, plan)
    cli = open_store(db_url)  # `headwater runs cancel` in another process
    try:
        cli.request_cancel(run_id, None, at(1))
    finally:
        cli.close()

    assert [r.kind for r in store.pending_requests([run_id])] == ["CANCEL"]


def test_polling_with_nothing_to_take_is_one_select(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_id = new_run(store, job, plan)

    with statements(store) as nothing:
        assert store.pending_requests([run_id]) == []

    assert nothing == ["SELECT"]


def test_polling_with_nothing_to_take_never_waits_for_the_write_lock(
    sqlite_url: str, plan: Plan
) -> None:
    store = open_store(sqlite_url)
    job = store.create_job(SETTINGS, "a.yml", T0)
    run_id = new_run(store, job, plan)
    writer = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")), timeout=0,
                             isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        assert store.pending_requests([run_id]) == []
        writer.execute("ROLLBACK")
    finally:
        writer.close()
        store.close()


def test_a_changed_job_timeout_reaches_the_active_runs_until_a_repair(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given a run under way and a run that ended
    active = new_run(store, job, plan)
    ended, _ = drive(store, job, plan, [RunStarted(at(0)), TaskStarted(at(1), 1, "p"),
                                        TaskFailed(at(2), 1, "no")])
    assert store.load_run(ended).state.is_terminal

    # When the job's other settings change, nothing reaches them; its timeout does
    store.update_job(job.job_id, {**SETTINGS, "description": "etl"}, "api", at(3), "ann")
    assert store.pending_requests([active, ended]) == []
    store.update_job(job.job_id, {**SETTINGS, "timeout_seconds": 30}, "api", at(4), "ann")

    # Then the active run alone has it, durably, and a request tells its engine
    [request] = store.pending_requests([active, ended])
    assert (request.run_id, request.kind, request.body) == (
        active, "TIMEOUT", {"timeout_seconds": 30})
    assert store.load_run(active).state.plan.timeout == timedelta(seconds=30)
    assert store.load_run(ended).state.plan.timeout is None
    # Removing it reaches the run as 0, no timeout (not as "its version's")
    store.update_job(job.job_id, SETTINGS, "api", at(5), "ann")
    assert store.load_run(active).state.plan.timeout is None
    assert [r.body for r in store.pending_requests([active])][-1] == {"timeout_seconds": 0}

    # And a repair runs the job as it is then: a change made while the run was active ends
    store.update_job(job.job_id, {**SETTINGS, "timeout_seconds": 30}, "api", at(6), "ann")
    assert store.load_run(ended).scope.timeout_seconds is None
    store.drop_requests(active, 0, [r.request_id for r in store.pending_requests([active])],
                        at(7))
    finished, _ = drive(store, job, plan, [RunStarted(at(0)), TaskStarted(at(1), 1, "p"),
                                           TaskFailed(at(2), 1, "no")])
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == finished).values(timeout_seconds=5))
    store.request_repair(finished, {"repair_id": 99, "task_keys": ["extract"],
                                    "job_version": 1}, at(8))
    assert store.load_run(finished).scope.timeout_seconds is None
