"""Requests to the engine driving a run (cancel), made from another process."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from store_builders import SETTINGS, T0, at, state_with

from headwater.core.plan import Plan
from headwater.errors import NotFound
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.tables import run_requests


def new_run(store: SqlStore, job: JobRecord, plan: Plan) -> int:
    return store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0)


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


def test_requests_are_taken_once_oldest_first(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    # Given two runs with requests made in turn
    run_id, other = new_run(store, job, plan), new_run(store, job, plan)
    store.request_cancel(run_id, "load", at(1))
    store.request_cancel(other, None, at(2))
    store.request_cancel(run_id, None, at(3))
    store.request_cancel(run_id, "load", at(4))  # asked twice: both are kept

    # When the engine of the first run takes its requests twice
    first = store.take_requests(run_id, at(5))
    again = store.take_requests(run_id, at(6))

    # Then it gets them once, in the order they were made, and never the other run's
    assert [(kind, key) for _, kind, key in first] == [
        ("CANCEL", "load"), ("CANCEL", None), ("CANCEL", "load")]
    assert [request_id for request_id, _, _ in first] == sorted(r[0] for r in first)
    assert again == []
    assert [(kind, key) for _, kind, key in store.take_requests(other, at(7))] == [
        ("CANCEL", None)]
    # A later request is taken by the next call only
    store.request_cancel(run_id, "extract", at(8))
    [(later, _, key)] = store.take_requests(run_id, at(9))
    assert key == "extract" and later > first[-1][0]
    assert store.take_requests(run_id, at(10)) == []
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(run_requests.c.created_time, run_requests.c.handled_time)
            .where(run_requests.c.run_id == run_id).order_by(run_requests.c.request_id)
        ).all()
    assert [tuple(row) for row in rows] == [
        (at(1), at(5)), (at(3), at(5)), (at(4), at(5)), (at(8), at(9))]


def test_a_request_for_an_unknown_run_is_refused(store: SqlStore) -> None:
    with pytest.raises(NotFound, match=r"^Run 424242 does not exist\.$"):
        store.request_cancel(424242, None, T0)
    assert store.take_requests(424242, T0) == []


def test_a_request_from_another_store_reaches_the_engine(
    store: SqlStore, job: JobRecord, plan: Plan, db_url: str
) -> None:
    run_id = new_run(store, job, plan)
    cli = open_store(db_url)  # `headwater runs cancel` in another process
    try:
        cli.request_cancel(run_id, None, at(1))
    finally:
        cli.close()

    assert [kind for _, kind, _ in store.take_requests(run_id, at(2))] == ["CANCEL"]


def test_polling_with_nothing_to_take_is_one_select(
    store: SqlStore, job: JobRecord, plan: Plan
) -> None:
    run_id = new_run(store, job, plan)
    store.request_cancel(run_id, None, at(1))
    store.take_requests(run_id, at(2))

    with statements(store) as nothing:
        assert store.take_requests(run_id, at(3)) == []
    store.request_cancel(run_id, None, at(4))
    with statements(store) as something:
        assert len(store.take_requests(run_id, at(5))) == 1

    assert nothing == ["SELECT"]
    assert something == ["SELECT", "UPDATE"]


def test_polling_with_nothing_to_take_never_waits_for_the_write_lock(
    sqlite_url: str, plan: Plan
) -> None:
    store = open_store(sqlite_url)
    job = store.save_job("etl", SETTINGS, "a.yml", T0)
    run_id = new_run(store, job, plan)
    writer = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")), timeout=0,
                             isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        assert store.take_requests(run_id, at(1)) == []
        writer.execute("ROLLBACK")
    finally:
        writer.close()
        store.close()
