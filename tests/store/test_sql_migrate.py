"""Alembic migrations: the head revision, idempotence, schema drift, lazy import, upgrades."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, text
from store_builders import SETTINGS, T0, at, state_with, task_run

from headwater.core.events import RunStarted, event_to_dict
from headwater.core.plan import Plan
from headwater.core.runstate import LoopProgress, Repair, TaskRun
from headwater.core.states import LifeCycleState as L
from headwater.errors import StoreError
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.engine import create_store_engine
from headwater.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision
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

    # When a store opens it (and so migrates it to head)
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
    again = open_store(db_url)  # and up again
    try:
        record = again.load_run(run_id)
    finally:
        again.close()
    assert record.creator == "bob"
    assert record.state.task_runs[1] == task_run(1, "extract")


def test_an_upgrade_of_an_existing_store_is_logged(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    at_revision(db_url, "0010").dispose()

    with caplog.at_level(logging.WARNING, logger="headwater.store.migrate"):
        open_store(db_url).close()

    assert f"from revision 0010 to {HEAD_REVISION}" in caplog.text


def test_a_store_a_newer_headwater_wrote_is_refused_saying_so(db_url: str) -> None:
    open_store(db_url).close()
    engine = create_store_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(StoreError, match="has schema revision 9999, which this headwater does "
                       f"not know \\(it knows up to {HEAD_REVISION}\\): a newer headwater"):
        open_store(db_url)
