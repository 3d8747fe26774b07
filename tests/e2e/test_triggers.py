"""Schedules and triggers in running `headwater engine` processes: cron every two seconds,
pauses, two engines firing once, files arriving, table commits, continuous jobs."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .engines import Cluster, clean_env

LEDGER_TIME = 'echo "$HEADWATER_RUN_ID $WHEN" >> {ledger}'


def write(path: Path, **job: Any) -> Path:
    path.write_text(json.dumps(job))
    return path


def create(cluster: Cluster, path: Path) -> int:
    return int(cluster.cli("jobs", "create", str(path)).stdout.strip())


def runs(cluster: Cluster, job_id: int) -> list[dict[str, Any]]:
    from headwater.bootstrap import application
    from headwater.config import Settings

    settings = Settings.from_env(clean_env(), cluster.workdir, db=cluster.db_url)
    with application(settings) as app:
        summaries = app.service.list_runs(job_id, limit=1000).items
        return [app.service.run_document(s.run_id) for s in reversed(summaries)]


def wait_until(check: Any, timeout: float = 60, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen in {timeout} s")
        time.sleep(0.2)


def test_a_cron_every_two_seconds_fires_once_per_time_with_two_engines(
        cluster: Cluster, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    job = write(tmp_path / "cron.json", name="every_two_seconds", max_concurrent_runs=20,
                schedule={"quartz_cron_expression": "0/2 * * * * ?", "timezone_id": "UTC"},
                tasks=[{"task_key": "stamp", "shell_command_task": {
                    "command": LEDGER_TIME.format(ledger=ledger),
                    "env": {"WHEN": "{{job.trigger.time.iso_datetime}}"}}}])
    job_id = create(cluster, job)
    try:
        cluster.start_engine()
        cluster.start_engine()
        wait_until(lambda: len(runs(cluster, job_id)) >= 5, what="five scheduled runs")
        cluster.cli("jobs", "pause", str(job_id))
        time.sleep(2)  # what was due before the pause was seen may still start
        paused = len(runs(cluster, job_id))
        time.sleep(5)
        assert len(runs(cluster, job_id)) == paused  # paused: no more
        documents = runs(cluster, job_id)
        wait_until(lambda: all(d["state"].get("result_state") for d in runs(cluster, job_id)))
    finally:
        cluster.stop_all()
    assert {d["trigger"] for d in documents} == {"PERIODIC"}
    # each says which schedule fired it, as Lakeflow's `runs/get.schedule` does (unpaused
    # then, though the job is paused now)
    assert all(d["schedule"] == {"quartz_cron_expression": "0/2 * * * * ?", "timezone_id": "UTC",
                                 "pause_status": "UNPAUSED"}
               and "schedule" not in d["trigger_info"] for d in documents)
    times = [datetime.fromisoformat(d["trigger_info"]["time"]) for d in documents]
    assert times == sorted(set(times))  # each scheduled time once, across both engines
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
    assert gaps == {2.0}
    assert all(t.second % 2 == 0 and t.microsecond == 0 for t in times)
    stamped = dict(line.split() for line in ledger.read_text().splitlines())
    assert sorted(stamped.values()) == [f"{t:%Y-%m-%dT%H:%M:%S}.000Z" for t in times]


def test_ten_files_dropped_together_start_one_file_arrival_run(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    landing = tmp_path / "landing"
    landing.mkdir()
    job = write(tmp_path / "arrival.json", name="on_arrival",
                trigger={"file_arrival": {"url": landing.as_uri()}},
                tasks=[{"task_key": "where", "shell_command_task": {
                    "command": 'echo "$WHERE" > where.txt',
                    "env": {"WHERE": "{{job.trigger.file_arrival.location}}"}}}])
    job_id = create(cluster, job)
    try:
        cluster.start_engine()
        time.sleep(3)  # the engine has looked at the empty folder
        for i in range(10):
            (landing / f"orders-{i}.csv").write_text("id\n1\n")
        wait_until(lambda: runs(cluster, job_id), what="a file-arrival run")
        time.sleep(4)
        documents = runs(cluster, job_id)
        wait_until(lambda: runs(cluster, job_id)[0]["state"].get("result_state") == "SUCCESS")
    finally:
        cluster.stop_all()
    assert len(documents) == 1
    assert documents[0]["trigger"] == "FILE_ARRIVAL"
    assert (tmp_path / "where.txt").read_text().strip() == landing.as_uri()


def runs_triggered_by_writing(cluster: Cluster, reader_id: int, writer: Path
                              ) -> list[dict[str, Any]]:
    """With an engine firing triggers, run the writer job once no run of the reader started;
    the reader's runs once one started and ended."""
    try:
        cluster.start_engine()
        time.sleep(3)
        assert runs(cluster, reader_id) == []
        cluster.cli("run", str(writer))
        wait_until(lambda: runs(cluster, reader_id), what="a table-update run")
        wait_until(lambda: runs(cluster, reader_id)[0]["state"].get("result_state"),
                   what="the table-update run to end")
        return runs(cluster, reader_id)
    finally:
        cluster.stop_all()


def test_a_table_written_by_one_job_triggers_another(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    writer = write(tmp_path / "writer.json", name="write_bronze_orders", tasks=[
        {"task_key": "load", "sql_task": {"query": {"query_text":
            "CREATE SCHEMA IF NOT EXISTS bronze; "
            "CREATE OR REPLACE TABLE bronze.orders AS SELECT 1 AS id"}}}])
    seen = tmp_path / "seen.txt"
    reader = write(tmp_path / "reader.json", name="on_orders",
                   trigger={"table_update": {"table_names": ["warehouse.bronze.orders"]}},
                   tasks=[{"task_key": "report", "shell_command_task": {
                       "command": f'echo "$TABLES $VERSION $DAY" > {seen}',
                       "env": {"TABLES": "{{job.trigger.table_update.updated_tables}}",
                               "VERSION": "{{job.trigger.table_update.bronze.orders.version}}",
                               "DAY": "{{job.trigger.table_update.warehouse.bronze.orders."
                                      "commit_timestamp.iso_date}}"}}}])
    documents = runs_triggered_by_writing(cluster, create(cluster, reader), writer)
    assert documents[0]["trigger"] == "TABLE"
    assert documents[0]["state"]["result_state"] == "SUCCESS"
    assert documents[0]["trigger_info"]["table_update"]["updated_tables"] == ["bronze.orders"]
    # the run read what changed: the table, its version (commits so far), the commit's day
    today = datetime.now(UTC).date().isoformat()
    assert seen.read_text().split() == ['["bronze.orders"]', "1", today]


def test_a_table_written_on_a_warehouse_of_headwater_yml_triggers_a_job(tmp_path: Path) -> None:
    # Given a warehouse of headwater.yml that is no DuckDB file (SQLite through SQLAlchemy, as
    # PostgreSQL would be), a job writing a table there, and a job watching that table
    (tmp_path / "headwater.yml").write_text(
        f"warehouses:\n  lite: {{url: 'sqlite:///{tmp_path / 'lite.db'}'}}\n")
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    writer = write(tmp_path / "writer.json", name="write_orders", tasks=[
        {"task_key": "load", "sql_task": {"warehouse_id": "lite", "query": {"query_text":
            "CREATE TABLE main.orders (id INTEGER); INSERT INTO main.orders VALUES (1)"}}}])
    reader = write(tmp_path / "reader.json", name="on_orders",
                   trigger={"table_update": {"table_names": ["lite.main.orders"]}},
                   tasks=[{"task_key": "report", "shell_command_task": {"command": "true"}}])
    # When the writer runs
    documents = runs_triggered_by_writing(cluster, create(cluster, reader), writer)
    # Then the watching job started once, on both commits of the table
    assert len(documents) == 1 and documents[0]["trigger"] == "TABLE"
    info = documents[0]["trigger_info"]["table_update"]
    assert info["updated_tables"] == ["main.orders"]


def test_a_file_a_task_puts_into_a_volume_triggers_the_job_watching_the_volume(
        tmp_path: Path) -> None:
    # Given a job whose Python task puts a file into a Unity Catalog volume with dbutils.fs,
    # and a job watching that volume by its /Volumes path
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    (tmp_path / "land.py").write_text(
        'dbutils.fs.put("/Volumes/main/raw/landing/orders.csv", "id\\n1\\n")\n')
    writer = write(tmp_path / "writer.json", name="land_orders", tasks=[
        {"task_key": "land", "spark_python_task": {"python_file": "land.py"}}])
    reader = write(tmp_path / "reader.json", name="on_landing",
                   trigger={"file_arrival": {"url": "/Volumes/main/raw/landing/"}},
                   tasks=[{"task_key": "process", "shell_command_task": {"command": "true"}}])
    # When the writer runs
    documents = runs_triggered_by_writing(cluster, create(cluster, reader), writer)
    # Then the watching job started once, on that file, in headwater's DBFS folder
    assert len(documents) == 1 and documents[0]["trigger"] == "FILE_ARRIVAL"
    assert documents[0]["trigger_info"]["file_arrival"]["files"] == ["orders.csv"]
    landed = tmp_path / ".headwater" / "dbfs" / "Volumes" / "main" / "raw" / "landing"
    assert (landed / "orders.csv").read_text() == "id\n1\n"


def test_a_continuous_job_restarts_after_each_run(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    job = write(tmp_path / "loop.json", name="always_on", continuous={}, tasks=[
        {"task_key": "tick", "shell_command_task": {"command": "sleep 0.5"}}])
    job_id = create(cluster, job)
    try:
        cluster.start_engine()
        wait_until(lambda: len(runs(cluster, job_id)) >= 3, what="three continuous runs")
        cluster.cli("jobs", "pause", str(job_id))
        documents = runs(cluster, job_id)
    finally:
        cluster.stop_all()
    assert {d["trigger"] for d in documents} == {"CONTINUOUS"}
    ended = [d for d in documents if d["state"].get("result_state")]
    assert len(ended) >= 2 and all(d["state"]["result_state"] == "SUCCESS" for d in ended)
    # One at a time: each run that started did so after the one before it ended (the last
    # may have been made just before the pause, and not started: start_time 0)
    started = [d for d in documents if d["start_time"]]
    assert all(earlier["end_time"] <= later["start_time"]
               for earlier, later in itertools.pairwise(started)), \
        [(d["run_id"], d["start_time"], d["end_time"]) for d in documents]
