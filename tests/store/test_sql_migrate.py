"""Alembic migrations: the head revision, idempotence, schema drift, lazy import, upgrades."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, insert, inspect, make_url, text
from store_builders import SETTINGS, T0, at, state_with, task_run

from headwater.core.events import RunStarted, event_to_dict
from headwater.core.permissions import Grant, Level
from headwater.core.plan import Plan
from headwater.core.runstate import LoopProgress, Repair, TaskRun
from headwater.core.states import LifeCycleState as L
from headwater.errors import StoreError
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.engine import create_store_engine
from headwater.store.migrate import (
    HEAD_REVISION,
    MIGRATION_LOCK,
    MIGRATIONS_DIR,
    SchemaState,
    current_revision,
    refusal,
    upgrade_store,
)
from headwater.store.tables import (
    dumps_instant,
    job_versions,
    metadata,
    run_events,
    run_ids,
    runs,
    task_runs,
)


def alembic_config(store: SqlStore) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def at_revision(db_url: str, revision: str) -> Engine:
    """An engine on a new database that Alembic brought to `revision` only."""
    engine = create_store_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return engine


def test_the_head_constant_is_alembics_head(store: SqlStore) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(store))

    assert scripts.get_current_head() == HEAD_REVISION


def test_the_migrated_schema_matches_the_tables_module(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)

    assert differences == []


def test_migrating_again_changes_nothing(store: SqlStore, db_url: str) -> None:
    with store.engine.connect() as conn:
        tables_before = sorted(inspect(conn).get_table_names())

    open_store(db_url).close()
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with store.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        assert sorted(inspect(conn).get_table_names()) == tables_before
    assert "task_runs" in tables_before and "alembic_version" in tables_before


def test_downgrade_to_base_and_back(store: SqlStore) -> None:
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with store.engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]
        assert current_revision(conn) is None
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    assert store.list_jobs() == []


def test_a_second_migration_of_a_shared_store_waits_for_the_first(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a SQLite file has one writer at a time already")
    # Given another process migrating the new database (it holds the migrations' lock)
    other = create_engine(db_url)
    with other.connect() as migrating:
        migrating.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        migrating.commit()
        # When a store is opened on it
        opened: list[SqlStore] = []
        thread = threading.Thread(target=lambda: opened.append(open_store(db_url)))
        thread.start()
        # Then it waits for that lock, having made nothing
        assert _waits_for_the_lock(migrating), "the migration did not wait for the lock"
        assert not inspect(migrating).has_table("alembic_version")
        migrating.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        migrating.commit()
    thread.join(60)
    other.dispose()
    # and migrates once it has it
    assert [store.list_jobs() for store in opened] == [[]]
    with opened[0].engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
    opened[0].close()


def _waits_for_the_lock(connection: object, seconds: float = 30) -> bool:
    """Whether another session comes to wait for MIGRATION_LOCK within `seconds`."""
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                 "AND objid = :key")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = connection.execute(query, {"key": MIGRATION_LOCK}).scalar()  # type: ignore[attr-defined]
        connection.rollback()  # type: ignore[attr-defined]
        if waiting:
            return True
        time.sleep(0.05)
    return False


def test_opening_a_store_at_head_does_not_import_alembic(store: SqlStore, db_url: str) -> None:
    script = (
        "import sys\n"
        "from headwater.store import open_store\n"
        f"open_store({db_url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)

    assert result.stdout.strip() == "False"


def test_upgrading_from_0001_keeps_the_data_and_defaults_the_new_columns(db_url: str) -> None:
    # Given a database at revision 0001 holding a job, a run with a task run and an event
    engine = at_revision(db_url, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO jobs (job_id, name, created_time, deleted) "
                          "VALUES (3, 'etl', :at, :no)"), {"at": dumps_instant(T0), "no": False})
        conn.execute(insert(job_versions), {"job_id": 3, "version": 1, "settings": SETTINGS,
                                            "source": "jobs/etl.yml", "created_time": T0})
        conn.execute(insert(run_ids), [{"id": 7, "kind": "JOB_RUN"}, {"id": 8, "kind": "TASK_RUN"}])
        conn.execute(insert(runs), {**OLD_RUN, "job_id": 3})
        conn.execute(insert(task_runs), OLD_TASK_RUN)
        conn.execute(insert(run_events), {"run_id": 7, "event_no": 1, "type": "RunStarted",
                                          "body": event_to_dict(RunStarted(at(1))), "at": at(1)})
    engine.dispose()

    # When it is upgraded (as `headwater db upgrade` does) and a store opens it
    assert upgrade_store(db_url) == ("0001", HEAD_REVISION)
    store = open_store(db_url)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
        record = store.load_run(7)

        # Then the old data reads back, with the new fields at their defaults
        job = store.get_job(3)
        assert (job.name, job.version, job.creator, job.deployment_key) == ("etl", 1, None, None)
        assert (record.job, record.creator, record.task_run_ids) == (job, "ann", {1: 8})
        # a run that had not ended needs an engine: the next one takes it over
        assert (record.lease_owner, record.fence) == (None, 0)
        assert [c.run_id for c in store.claim_runs("e1", 5, 15, at(3), "ann")] == [7]
        assert (record.state.life_cycle, record.state.start_time) == (L.RUNNING, at(1))
        assert (record.state.repairs, record.state.original_end_time) == ((), None)
        assert record.state.task_runs == {1: TaskRun(
            seq=1, task_key="extract", attempt_number=0, life_cycle=L.RUNNING, message="",
            original_attempt_seq=1, start_time=at(2), handle="pid:1")}
        assert store.events(7) == [RunStarted(at(1))]
        # and the run carries on: new fields are written, requests can be made
        running = record.state.task_runs[1].evolve(
            repair=1, loop=LoopProgress(total=2), values='{"a":1}')
        state = replace(record.state, task_runs={1: running},
                        repairs=(Repair(1, store.new_id("REPAIR"), at(3)),))
        store.record(7, 1, RunStarted(at(3)), state, [1])
        assert store.load_run(7).state == replace(state, plan=store.load_run(7).state.plan)
        store.request_cancel(7, None, at(4))
        assert [r.kind for r in store.pending_requests([7])] == ["CANCEL"]
    finally:
        store.close()


OLD_RUN = {
    "run_id": 7, "job_version": 1, "parameters": {}, "trigger": "ONE_TIME",
    "creator": "ann", "workdir": "/w", "created_time": T0, "life_cycle": "RUNNING",
    "result": None, "message": "", "start_time": at(1), "end_time": None,
    "cancel_requested": False, "timed_out": False, "next_seq": 2, "event_count": 1,
}
OLD_TASK_RUN = {
    "task_run_id": 8, "run_id": 7, "seq": 1, "task_key": "extract", "attempt_number": 0,
    "life_cycle": "RUNNING", "result": None, "message": "", "original_attempt_seq": 1,
    "pending_since": None, "start_time": at(2), "end_time": None, "handle": "pid:1",
    "exit_code": None, "stop_reason": None, "condition_outcome": None, "iteration": None,
    "parent_seq": None,
}


def test_downgrading_to_0001_with_a_run_keeps_the_run(
    store: SqlStore, job: JobRecord, plan: Plan, db_url: str
) -> None:
    state = state_with(plan, task_run(1, "extract", repair=1, loop=LoopProgress(total=3)))
    run_id = store.create_run(job, state, {}, "ONE_TIME", "bob", "/w", T0).run_id
    store.request_cancel(run_id, None, at(1))
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with store.engine.connect() as conn:
        assert current_revision(conn) == "0001"
        assert "run_requests" not in inspect(conn).get_table_names()
        assert "repair" not in {c["name"] for c in inspect(conn).get_columns("task_runs")}
        assert "repairs" not in {c["name"] for c in inspect(conn).get_columns("runs")}
    upgrade_store(db_url)  # and up again
    again = open_store(db_url)
    try:
        record = again.load_run(run_id)
    finally:
        again.close()
    assert record.creator == "bob"
    assert record.state.task_runs[1] == task_run(1, "extract")


def test_a_sqlite_store_that_lags_is_upgraded_by_any_command_and_it_is_logged(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    at_revision(sqlite_url, PREVIOUS_REVISION).dispose()

    with caplog.at_level(logging.WARNING, logger="headwater.store.migrate"):
        store = open_store(sqlite_url)

    with store.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
    store.close()
    assert f"from revision {PREVIOUS_REVISION} to {HEAD_REVISION}" in caplog.text


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite's: above
def test_a_postgresql_store_that_lags_is_refused_until_it_is_upgraded_on_purpose(
        db_url: str) -> None:
    # Given a shared store that an older headwater made, holding a job
    older = open_store(db_url)
    older.create_job(SETTINGS, "jobs/etl.yml", T0)
    downgrade_one(older)
    older.close()

    # When a command opens it, it is refused, saying what to do, and left as it was
    with pytest.raises(StoreError) as refused:
        open_store(db_url)
    assert_at(db_url, PREVIOUS_REVISION)
    # and when the operator upgrades it on purpose, every command may open it again
    upgraded = upgrade_store(db_url)
    store = open_store(db_url)

    message = str(refused.value)
    assert f"has schema revision {PREVIOUS_REVISION}, older than the {HEAD_REVISION}" in message
    assert "back it up first (docs/guide/operations.md), stop the engines" in message
    assert "run `headwater db upgrade --db URL`" in message
    assert ":***@" in message and f":{make_url(db_url).password}@" not in message
    assert upgraded == (PREVIOUS_REVISION, HEAD_REVISION)
    assert [job.name for job in store.list_jobs()] == ["etl"]
    store.close()


def test_upgrading_on_purpose_a_store_at_head_changes_nothing(store: SqlStore,
                                                               db_url: str) -> None:
    assert upgrade_store(db_url) == (HEAD_REVISION, HEAD_REVISION)


@pytest.mark.parametrize(("state", "shared", "may_write", "asked", "refused_with"), [
    (SchemaState.AT_HEAD, True, False, False, None),
    (SchemaState.NEW, True, True, False, None),  # every command creates a new store at head
    (SchemaState.NEW, False, False, False, "read-only here"),
    (SchemaState.BEHIND, False, True, False, None),  # a SQLite file: any command upgrades it
    (SchemaState.BEHIND, False, False, False, "read-only here"),
    (SchemaState.BEHIND, True, True, False, "upgraded only on purpose"),  # PostgreSQL
    (SchemaState.BEHIND, True, True, True, None),  # `headwater db upgrade`
    (SchemaState.NEWER, False, True, False, "a newer headwater wrote it"),
    (SchemaState.NEWER, True, True, True, "a newer headwater wrote it"),
])
def test_the_policy_of_who_may_bring_a_store_to_head(
        state: SchemaState, shared: bool, may_write: bool, asked: bool,
        refused_with: str | None) -> None:
    reason = refusal(state, "0003", "the-store", shared=shared, may_write=may_write,
                     asked=asked)

    if refused_with is None:
        assert reason is None
    else:
        assert reason is not None and refused_with in reason and "the-store" in reason


PREVIOUS_REVISION = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(HEAD_REVISION).down_revision


def downgrade_one(store: SqlStore) -> None:
    """Take the store one revision back, as the headwater before this one left it."""
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")


def assert_at(db_url: str, revision: str) -> None:
    engine = create_store_engine(db_url)
    with engine.connect() as conn:
        assert current_revision(conn) == revision
    engine.dispose()


def test_a_store_a_newer_headwater_wrote_is_refused_saying_so(db_url: str) -> None:
    open_store(db_url).close()
    engine = create_store_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(StoreError, match="has schema revision 9999, which this headwater does "
                       f"not know \\(it knows up to {HEAD_REVISION}\\): a newer headwater"):
        open_store(db_url)


def test_revision_0012_ends_the_web_sessions_that_do_not_know_their_token(db_url: str) -> None:
    engine = at_revision(db_url, "0011")
    row = {"admin": False, "created_time": dumps_instant(T0), "expiry_time": None,
           "revoked_time": None, "user_name": "ann"}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tokens (token_hash, user_name, admin, comment, "
                          "created_time, expiry_time, revoked_time) VALUES "
                          "(:token_hash, :user_name, :admin, :comment, :created_time, "
                          ":expiry_time, :revoked_time)"),
                     [{**row, "token_hash": "api", "comment": "laptop"},
                      {**row, "token_hash": "session", "comment": "web session"}])
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
    engine.dispose()

    upgrade_store(db_url)  # a lagging PostgreSQL store is upgraded only on purpose
    store = open_store(db_url)
    try:
        api, session = store.token_by_hash("api"), store.token_by_hash("session")
    finally:
        store.close()
    assert api is not None and api.revoked_time is None and not api.is_session
    assert session is not None and session.revoked_time is not None  # sign in again, once


def test_revision_0014_keeps_the_grants_and_makes_the_earlier_ones_users(
        store: SqlStore, job: JobRecord, db_url: str) -> None:
    robot = Grant("1234-abcd", Level.CAN_VIEW, service_principal=True)
    store.set_job_grants(job.job_id, [Grant("ann", Level.IS_OWNER), robot], at(1), "ops")
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0013")  # as the headwater before it left the store
        assert "is_service_principal" not in {
            c["name"] for c in inspect(conn).get_columns("job_permissions")}

    upgrade_store(db_url)
    again = open_store(db_url)
    try:
        grants = again.job_grants([job.job_id])[job.job_id]
    finally:
        again.close()

    assert sorted(grants, key=lambda g: g.name) == [
        Grant("1234-abcd", Level.CAN_VIEW), Grant("ann", Level.IS_OWNER)]  # a user before 0014
