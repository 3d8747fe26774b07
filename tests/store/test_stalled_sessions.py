"""Sessions that a frozen process left in the middle of a write, on a real PostgreSQL: what
the server's idle timeout misses, and what `SqlStore.end_stalled_sessions` ends."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from conftest import POSTGRES_URL_VARIABLE, wipe_postgres
from store_builders import SETTINGS, T0, state_with
from tests.stalled import Stalled, conninfo, sessions, wait_until

from headwater.core.plan import Plan
from headwater.errors import StoreError
from headwater.store import SqlStore, open_store
from headwater.store.engine import APPLICATION_NAME
from headwater.store.stalled_sessions import StallWatch


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to run the PostgreSQL session tests")
    wipe_postgres(url)
    return url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[SqlStore]:
    opened = open_store(pg_url)
    yield opened
    opened.close()


@pytest.fixture
def run_id(pg_store: SqlStore, plan: Plan) -> int:
    job = pg_store.create_job(SETTINGS, "jobs/etl.yml", T0)
    return pg_store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id


@pytest.fixture
def stalled(pg_url: str) -> Iterator[list[Stalled]]:
    opened: list[Stalled] = []
    yield opened
    for session in opened:
        session.close()


def stall(url: str, opened: list[Stalled], *statements: str, **kw: str) -> Stalled:
    session = Stalled(url, *statements, **kw)
    opened.append(session)
    return session


def test_a_session_stalled_mid_write_keeps_its_run_from_claims_until_it_is_ended(
        pg_url: str, pg_store: SqlStore, run_id: int, stalled: list[Stalled]) -> None:
    # Given a session that updated the run's row in a pipeline and never sent its Sync
    session = stall(pg_url, stalled, f"UPDATE runs SET fence = fence WHERE run_id = {run_id}")
    # Then the server counts it active, waiting for its client, holding a transaction id:
    # neither idle in a transaction nor timed out, and the run's row stays locked
    assert sessions(pg_url)[session.pid] == ("active", "ClientRead", True)
    assert pg_store.claim_runs("e2", 10, 15, T0, "ann") == []
    # When it has waited longer than the bound, and the stalled sessions are ended
    time.sleep(0.4)
    assert pg_store.end_stalled_sessions(stalled_ms=300) == [session.pid]
    # Then it is gone, and the run is claimed
    wait_until(lambda: session.pid not in sessions(pg_url))
    [claim] = pg_store.claim_runs("e2", 10, 15, T0, "ann")
    assert claim.run_id == run_id


def test_only_headwater_s_sessions_stalled_past_the_bound_holding_a_write_are_ended(
        pg_url: str, pg_store: SqlStore, run_id: int, stalled: list[Stalled]) -> None:
    update = f"UPDATE runs SET fence = fence WHERE run_id = {run_id}"
    others = [
        stall(pg_url, stalled, update, application="psql"),  # not headwater's
        stall(pg_url, stalled, "SELECT 1"),  # mid-request, but it holds no lock of a write
    ]
    idle = psycopg.connect(conninfo(pg_url), application_name=APPLICATION_NAME,
                           options="-c lock_timeout=5s")
    try:
        # idle in a transaction after a write: the server's own timeout is for it
        idle.execute("UPDATE jobs SET name = name")
        time.sleep(0.4)
        assert pg_store.end_stalled_sessions(stalled_ms=300) == []
        recent = stall(pg_url, stalled, "UPDATE audit_head SET last_id = last_id")
        assert pg_store.end_stalled_sessions(stalled_ms=60_000) == []  # not stalled so long
        alive = sessions(pg_url)
        assert {s.pid for s in [*others, recent]} | {idle.info.backend_pid} <= set(alive)
        assert alive[idle.info.backend_pid][0] == "idle in transaction"
    finally:
        idle.close()


def test_a_sqlite_store_has_no_sessions_to_end(sqlite_url: str) -> None:
    opened = open_store(sqlite_url)
    try:
        assert opened.end_stalled_sessions(stalled_ms=0) == []
    finally:
        opened.close()


def test_the_watch_ends_stalled_sessions_on_its_own_through_store_errors(
        pg_url: str, pg_store: SqlStore, run_id: int, stalled: list[Stalled]) -> None:
    session = stall(pg_url, stalled, f"UPDATE runs SET fence = fence WHERE run_id = {run_id}")
    calls: list[int] = []

    def end() -> list[int]:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("the database is restarting")
        return pg_store.end_stalled_sessions(stalled_ms=300)

    watch = StallWatch(end, seconds=0.05)
    try:
        wait_until(lambda: session.pid not in sessions(pg_url))
    finally:
        watch.stop()
    assert len(calls) > 1
