"""Sessions that a frozen process left in the middle of a write, on a real PostgreSQL: what
the server's idle timeout misses, and what `SqlStore.end_stalled_sessions` ends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from store_builders import T0, state_with
from tests.servers import wait_for
from tests.stalled import Stalled, conninfo, sessions

from headwater.core.plan import Plan
from headwater.errors import StoreError
from headwater.ports import JobRecord
from headwater.store import SqlStore
from headwater.store.engine import APPLICATION_NAME
from headwater.store.stalled_sessions import StallWatch

# The store conftest's `db_url` (and so `store` and `job`) on PostgreSQL only, wiped first
ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pytest.fixture
def run_id(store: SqlStore, job: JobRecord, plan: Plan) -> int:
    return store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id


@pytest.fixture
def stalled() -> Iterator[list[Stalled]]:
    opened: list[Stalled] = []
    yield opened
    for session in opened:
        session.close()


def stall(url: str, opened: list[Stalled], *statements: str, **kw: str) -> Stalled:
    session = Stalled(url, *statements, **kw)
    opened.append(session)
    return session


@ON_POSTGRES
def test_a_session_stalled_mid_write_keeps_its_run_from_claims_until_it_is_ended(
        db_url: str, store: SqlStore, run_id: int, stalled: list[Stalled]) -> None:
    # Given a session that updated the run's row in a pipeline and never sent its Sync
    session = stall(db_url, stalled, f"UPDATE runs SET fence = fence WHERE run_id = {run_id}")
    # Then the server counts it active, waiting for its client, holding a transaction id:
    # neither idle in a transaction nor timed out, and the run's row stays locked
    assert sessions(db_url)[session.pid] == ("active", "ClientRead", True)
    assert store.claim_runs("e2", 10, 15, T0, "ann") == []
    # When it has waited longer than the bound, and the stalled sessions are ended
    time.sleep(0.4)
    assert store.end_stalled_sessions(stalled_ms=300) == [session.pid]
    # Then it is gone, and the run is claimed
    wait_for(lambda: session.pid not in sessions(db_url), timeout=10, every=0.05)
    [claim] = store.claim_runs("e2", 10, 15, T0, "ann")
    assert claim.run_id == run_id


@ON_POSTGRES
def test_only_headwater_s_sessions_stalled_past_the_bound_holding_a_write_are_ended(
        db_url: str, store: SqlStore, run_id: int, stalled: list[Stalled]) -> None:
    update = f"UPDATE runs SET fence = fence WHERE run_id = {run_id}"
    others = [
        stall(db_url, stalled, update, application="psql"),  # not headwater's
        stall(db_url, stalled, "SELECT 1"),  # mid-request, but it holds no lock of a write
    ]
    idle = psycopg.connect(conninfo(db_url), application_name=APPLICATION_NAME,
                           options="-c lock_timeout=5s")
    try:
        # idle in a transaction after a write: the server's own timeout is for it
        idle.execute("UPDATE jobs SET name = name")
        time.sleep(0.4)
        assert store.end_stalled_sessions(stalled_ms=300) == []
        recent = stall(db_url, stalled, "UPDATE audit_head SET last_id = last_id")
        assert store.end_stalled_sessions(stalled_ms=60_000) == []  # not stalled so long
        alive = sessions(db_url)
        assert {s.pid for s in [*others, recent]} | {idle.info.backend_pid} <= set(alive)
        assert alive[idle.info.backend_pid][0] == "idle in transaction"
    finally:
        idle.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sqlite_store_has_no_sessions_to_end(store: SqlStore) -> None:
    assert store.end_stalled_sessions(stalled_ms=0) == []


@ON_POSTGRES
def test_the_watch_ends_stalled_sessions_on_its_own_through_store_errors(
        db_url: str, store: SqlStore, run_id: int, stalled: list[Stalled]) -> None:
    session = stall(db_url, stalled, f"UPDATE runs SET fence = fence WHERE run_id = {run_id}")
    calls: list[int] = []

    def end() -> list[int]:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("the database is restarting")
        return store.end_stalled_sessions(stalled_ms=300)

    watch = StallWatch(end, seconds=0.05)
    try:
        wait_for(lambda: session.pid not in sessions(db_url), timeout=10, every=0.05)
    finally:
        watch.stop()
    assert len(calls) > 1
