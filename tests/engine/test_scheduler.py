"""The scheduler inside engines, in-process on the real SQLite store with a fake clock: each
fire starts one run however many engines look, pauses, file arrivals, table commits and
continuous jobs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from engine_world import World, step_until

from headwater.core.spec import JobSettings
from headwater.runtime.dbfs import FsUtils
from headwater.testing import Outcome


def runs_of(world: World, job_id: int) -> list[int]:
    return sorted(r.run_id for r in world.store.list_runs(job_id, limit=1000))


def test_a_periodic_trigger_starts_one_run_per_interval_however_many_engines_look(
        world: World) -> None:
    job = world.job(tasks=1, trigger={"periodic": {"interval": 1, "unit": "MINUTES"}},
                    max_concurrent_runs=10)
    engines = [world.engine(f"e{i}", schedules=True) for i in range(3)]
    start = world.clock.now()

    step_until(lambda: world.clock.now() >= start + timedelta(seconds=185), *engines)

    runs = [world.store.load_run(r) for r in runs_of(world, job.job_id)]
    assert [r.trigger for r in runs] == ["PERIODIC"] * 3
    times = [r.trigger_info["time"] for r in runs]  # type: ignore[index]
    assert times == sorted(set(times))
    step_until(lambda: all(world.result(r.run_id) == "SUCCESS" for r in runs), *engines)


def test_a_paused_trigger_starts_nothing_and_unpaused_starts_afresh(world: World) -> None:
    job = world.job(tasks=1, trigger={"periodic": {"interval": 1, "unit": "MINUTES"},
                                      "pause_status": "PAUSED"})
    engine = world.engine("e1", schedules=True)
    start = world.clock.now()
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=150), engine)
    assert runs_of(world, job.job_id) == []

    world.service.set_paused(job.job_id, False)
    unpaused = world.clock.now()
    step_until(lambda: world.clock.now() >= unpaused + timedelta(seconds=65), engine)

    runs = [world.store.load_run(r) for r in runs_of(world, job.job_id)]
    assert len(runs) == 1  # nothing for the minutes it was paused


def test_files_dropped_together_start_one_file_arrival_run(world: World) -> None:
    landing = world.tmp_path / "landing"
    landing.mkdir()
    (landing / "old.csv").write_text("there before")
    job = world.job(tasks=1, trigger={"file_arrival": {"url": str(landing)}})
    engine = world.engine("e1", schedules=True)
    start = world.clock.now()
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=3), engine)
    assert runs_of(world, job.job_id) == []  # files already there do not count

    for i in range(10):
        (landing / f"orders-{i}.csv").write_text("1,2,3")
    step_until(lambda: bool(runs_of(world, job.job_id)), engine)
    dropped = world.clock.now()
    step_until(lambda: world.clock.now() >= dropped + timedelta(seconds=10), engine)

    [run_id] = runs_of(world, job.job_id)
    record = world.store.load_run(run_id)
    assert record.trigger == "FILE_ARRIVAL"
    assert record.trigger_info["file_arrival"]["location"] == str(landing)  # type: ignore[index]
    assert len(record.trigger_info["file_arrival"]["files"]) == 10  # type: ignore[index]


def test_a_file_arrival_folder_that_is_not_there_is_warned_of_once_and_still_watched(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    # Given a trigger on a folder that does not exist (a typo, or one made later)
    landing = world.tmp_path / "landnig"
    job = world.job(tasks=1, trigger={"file_arrival": {"url": str(landing)}})
    engine = world.engine("e1", schedules=True)
    start = world.clock.now()

    # When the engine looks several times
    with caplog.at_level(logging.WARNING, logger="headwater.engine.scheduler"):
        step_until(lambda: world.clock.now() >= start + timedelta(seconds=5), engine)

    # Then it says so once, naming the folder, and still fires once files arrive there
    warned = [r.getMessage() for r in caplog.records if "does not exist" in r.getMessage()]
    assert warned == [f"job {job.job_id}'s file_arrival trigger watches {landing}, which does "
                      "not exist: it fires once files arrive there; if that is not the folder "
                      f"meant, correct file_arrival.url ({landing})"]
    landing.mkdir()
    (landing / "orders.csv").write_text("1,2,3")
    step_until(lambda: bool(runs_of(world, job.job_id)), engine)


def test_a_file_written_into_a_volume_as_tasks_see_it_starts_a_file_arrival_run(
        world: World) -> None:
    # Given a job watching a Unity Catalog volume, and one watching the same folder by DBFS
    volume = world.job(tasks=1, name="on_volume",
                       trigger={"file_arrival": {"url": "/Volumes/main/raw/landing/"}})
    dbfs = world.job(tasks=1, name="on_dbfs",
                     trigger={"file_arrival": {"url": "dbfs:/Volumes/main/raw/landing"}})
    engine = world.engine("e1", schedules=True)
    start = world.clock.now()
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=3), engine)

    # When a file is put there with dbutils.fs, on the DBFS folder the engine gives tasks
    FsUtils(world.tmp_path / "dbfs").put("/Volumes/main/raw/landing/orders.csv", "id\n1\n")
    step_until(lambda: all(runs_of(world, job.job_id) for job in (volume, dbfs)), engine)

    # Then each job's trigger fires, naming the URL as written and the file that arrived
    for job, url in ((volume, "/Volumes/main/raw/landing/"),
                     (dbfs, "dbfs:/Volumes/main/raw/landing")):
        [run_id] = runs_of(world, job.job_id)
        record = world.store.load_run(run_id)
        assert record.trigger == "FILE_ARRIVAL"
        assert record.trigger_info["file_arrival"] == {  # type: ignore[index]
            "location": url, "files": ["orders.csv"]}


def test_commits_to_a_watched_table_start_a_table_run(world: World) -> None:
    job = world.job(tasks=1, trigger={"table_update": {"table_names": ["bronze.orders"]}})
    engine = world.engine("e1", schedules=True)
    commits = world.tmp_path / "warehouse.duckdb.commits.jsonl"
    start = world.clock.now()
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=2), engine)

    with commits.open("a") as log:
        log.write(json.dumps({"table": "silver.orders", "at": 1}) + "\n")  # not watched
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=5), engine)
    assert runs_of(world, job.job_id) == []
    with commits.open("a") as log:
        log.write(json.dumps({"table": 'bronze."orders"', "at": 2}) + "\n")
    step_until(lambda: bool(runs_of(world, job.job_id)), engine)

    record = world.store.load_run(runs_of(world, job.job_id)[0])
    assert record.trigger == "TABLE"
    assert record.trigger_info["table_update"] == {  # type: ignore[index]
        "updated_tables": ["bronze.orders"],
        "tables": {"bronze.orders": {"version": 1,
                                     "commit_timestamp": "1970-01-01T00:00:02+00:00"}}}


def test_a_continuous_job_starts_a_new_run_when_one_ends(world: World) -> None:
    job = world.job(tasks=1, continuous={})
    engine = world.engine("e1", lambda key, spec: Outcome(seconds=5), schedules=True)

    step_until(lambda: len(runs_of(world, job.job_id)) >= 3, engine)

    runs = [world.store.load_run(r) for r in runs_of(world, job.job_id)]
    assert [r.trigger for r in runs] == ["CONTINUOUS"] * 3
    assert [world.result(r.run_id) for r in runs[:2]] == ["SUCCESS", "SUCCESS"]
    assert len(world.store.list_runs(job.job_id, active_only=True)) == 1  # one at a time


def test_scheduled_runs_obey_max_concurrent_runs(world: World) -> None:
    job = world.job(tasks=1, trigger={"periodic": {"interval": 1, "unit": "MINUTES"}},
                    max_concurrent_runs=1, queue={"enabled": False})
    engine = world.engine("e1", lambda key, spec: Outcome(hang=True), schedules=True)
    start = world.clock.now()

    step_until(lambda: world.clock.now() >= start + timedelta(seconds=190), engine)

    lives = [str(world.store.load_run(r).state.life_cycle) for r in runs_of(world, job.job_id)]
    assert lives == ["RUNNING", "SKIPPED", "SKIPPED"]


def test_each_of_a_job_s_triggers_fires_on_its_own_and_pauses_on_its_own(world: World) -> None:
    # Given a job with the multi-trigger list: every minute, and on commits to a table
    job = world.job(tasks=1, max_concurrent_runs=10, triggers=[
        {"periodic": {"interval": 1, "unit": "MINUTES"}},
        {"table_update": {"table_names": ["bronze.orders"]}}])
    engines = [world.engine(f"e{i}", schedules=True) for i in range(2)]
    start = world.clock.now()
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=5), *engines)

    # When a minute passes and a commit arrives
    with (world.tmp_path / "warehouse.duckdb.commits.jsonl").open("a") as log:
        log.write(json.dumps({"table": "bronze.orders", "at": 2}) + "\n")
    step_until(lambda: world.clock.now() >= start + timedelta(seconds=65), *engines)

    # Then each trigger started its own run, once for both engines
    triggers = sorted(str(world.store.load_run(r).trigger) for r in runs_of(world, job.job_id))
    assert triggers == ["PERIODIC", "TABLE"]
    # And `jobs/get` shows each entry's state and the run it started, in the entries' order
    details = world.service.job_document(job.job_id, include_trigger_state=True,
                                         include_trigger_history=True)["trigger_details"]
    started = {str(world.store.load_run(r).trigger): r for r in runs_of(world, job.job_id)}
    assert [d["history"]["last_triggered"]["run_id"] for d in details] == [
        started["PERIODIC"], started["TABLE"]]
    assert details[0]["state"]["periodic"]["next_run_time"] == \
        int((start + timedelta(seconds=120)).timestamp() * 1000)
    assert details[1]["state"]["table_update"]["last_seen_table_states"] == [
        {"table_name": "bronze.orders", "has_seen_updates": False}]  # none since its run

    # And with the periodic entry paused, the table entry still fires
    settings = dict(world.store.get_job(job.job_id).settings)
    settings["triggers"] = [{**settings["triggers"][0], "pause_status": "PAUSED"},
                            settings["triggers"][1]]
    world.service.reset_job(job.job_id, JobSettings.model_validate(settings))
    paused = world.clock.now()
    with (world.tmp_path / "warehouse.duckdb.commits.jsonl").open("a") as log:
        log.write(json.dumps({"table": "bronze.orders", "at": 3}) + "\n")
    step_until(lambda: world.clock.now() >= paused + timedelta(seconds=130), *engines)
    later = [str(world.store.load_run(r).trigger) for r in runs_of(world, job.job_id)][2:]
    assert later == ["TABLE"]

    # And pausing the job pauses every entry
    world.service.set_paused(job.job_id, True)
    assert {t["pause_status"] for t in world.store.get_job(job.job_id).settings["triggers"]} \
        == {"PAUSED"}
