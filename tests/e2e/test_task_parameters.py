"""run-now's legacy task parameters (`notebook_params`, `python_params`) through the real
databricks-sdk against a `headwater server`: they reach the notebook's widgets and the script's
argv for that run only, a repair keeps them or changes them, `runs/get` echoes them, and what
headwater would ignore is refused; `headwater run` takes them as `databricks bundle run` does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from databricks.sdk.errors import InvalidParameterValue

from tests.servers import Server

from .conftest import Cli, sdk_client
from .conftest import write_job as write_job_file
from .test_run import run_id_of

NOTEBOOK = """\
# Databricks notebook source
import pathlib
pathlib.Path({out!r}).write_text(dbutils.widgets.get("table") + " " + dbutils.widgets.get("day"))
"""
SCRIPT = "import pathlib, sys\npathlib.Path({out!r}).write_text(' '.join(sys.argv[1:]))\n"


def write_job(w: object, tmp_path: Path, **settings: object) -> int:
    (tmp_path / "load.py").write_text(NOTEBOOK.format(out=str(tmp_path / "notebook.out")))
    (tmp_path / "report.py").write_text(SCRIPT.format(out=str(tmp_path / "script.out")))
    created = w.api_client.do("POST", "/api/2.2/jobs/create", body={  # type: ignore[attr-defined]
        "name": "legacy", "tasks": [
            {"task_key": "load", "notebook_task": {
                "notebook_path": str(tmp_path / "load.py"),
                "base_parameters": {"table": "orders", "day": "today"}}},
            {"task_key": "report", "depends_on": [{"task_key": "load"}],
             "spark_python_task": {"python_file": str(tmp_path / "report.py"),
                                   "parameters": ["--all"]}}],
        **settings})
    assert isinstance(created, dict)
    return int(created["job_id"])


def test_legacy_parameters_reach_the_tasks_of_one_run_and_its_repair(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    job_id = write_job(w, tmp_path)

    # When a run is started with a notebook parameter and the script's arguments
    run = w.jobs.run_now_and_wait(job_id, notebook_params={"day": "2026-11-30"},
                                  python_params=["--day", "2026-11-30"],
                                  timeout=timedelta(minutes=2))

    # Then the notebook sees its own table and the run's day, the script the run's argv
    assert (tmp_path / "notebook.out").read_text() == "orders 2026-11-30"
    assert (tmp_path / "script.out").read_text() == "--day 2026-11-30"
    assert run.overriding_parameters is not None
    assert run.overriding_parameters.notebook_params == {"day": "2026-11-30"}
    assert run.overriding_parameters.python_params == ["--day", "2026-11-30"]

    # And a repair of the run reruns the script with the same arguments
    (tmp_path / "script.out").unlink()
    assert run.run_id is not None
    w.jobs.repair_run(run.run_id, rerun_tasks=["report"]).result(timeout=timedelta(minutes=2))
    assert (tmp_path / "script.out").read_text() == "--day 2026-11-30"

    # And a repair may change them: a map goes over the run's, a list replaces it
    (tmp_path / "script.out").unlink()
    repaired = w.jobs.repair_run(run.run_id, rerun_tasks=["load", "report"],
                                 latest_repair_id=w.jobs.get_run(
                                     run.run_id, include_history=True).repair_history[-1].id,
                                 notebook_params={"table": "returns"},
                                 python_params=["--day", "2026-12-01"]
                                 ).result(timeout=timedelta(minutes=2))
    assert (tmp_path / "notebook.out").read_text() == "returns 2026-11-30"
    assert (tmp_path / "script.out").read_text() == "--day 2026-12-01"
    assert repaired.overriding_parameters is not None
    assert repaired.overriding_parameters.notebook_params == {"day": "2026-11-30",
                                                              "table": "returns"}
    # And one headwater would ignore is refused, naming it
    with pytest.raises(InvalidParameterValue, match="sql_params: the job has no sql_task"):
        w.jobs.repair_run(run.run_id, rerun_tasks=["report"], sql_params={"a": "b"},
                          latest_repair_id=(w.jobs.get_run(run.run_id, include_history=True)
                                            .repair_history or [])[-1].id)

    # And the next run without them has the job's own values
    w.jobs.run_now_and_wait(job_id, timeout=timedelta(minutes=2))
    assert (tmp_path / "notebook.out").read_text() == "orders today"
    assert (tmp_path / "script.out").read_text() == "--all"


def test_what_headwater_would_ignore_is_refused_all_at_once(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    plain = write_job(w, tmp_path)
    declared = write_job(w, tmp_path, parameters=[{"name": "day", "default": "today"}])

    with pytest.raises(InvalidParameterValue) as raised:
        w.jobs.run_now(plain, jar_params=["x"], sql_params={"a": "b"})
    message = str(raised.value)
    assert "jar_params: headwater runs no JAR tasks" in message
    assert "sql_params: the job has no sql_task to take it" in message

    with pytest.raises(InvalidParameterValue, match="the job declares job parameters"):
        w.jobs.run_now(declared, notebook_params={"day": "2026-11-30"})
    assert list(w.jobs.list_runs()) == []


def test_headwater_run_takes_them_as_databricks_bundle_run_does(hw: Cli, tmp_path: Path
                                                                 ) -> None:
    (tmp_path / "report.py").write_text(SCRIPT.format(out=str(tmp_path / "script.out")))
    job = write_job_file(tmp_path / "job.json", [
        {"task_key": "report", "spark_python_task": {"python_file": "report.py",
                                                     "parameters": ["--all"]}}])

    result = hw("run", str(job), "--python-params", '--day,"2026-11-30, a Monday"')

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "script.out").read_text() == "--day 2026-11-30, a Monday"
    repaired = hw("runs", "repair", str(run_id_of(result.stdout)), "--task", "report",
                  "--python-params", "--day,2026-12-01")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert (tmp_path / "script.out").read_text() == "--day 2026-12-01"
    refused = hw("run", str(job), "--notebook-params", "day=1")
    assert refused.returncode == 1
    assert "notebook_params: the job has no notebook_task to take it" in refused.stderr
    malformed = hw("run", str(job), "--sql-params", "day")
    assert malformed.returncode == 2 and "'day' is not KEY=VALUE" in malformed.stderr
