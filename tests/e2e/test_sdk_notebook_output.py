"""What the real databricks-sdk reads of a notebook task's output from a real `headwater
server`: `notebook_output` is there for every notebook task run, empty for a notebook that did
not call `dbutils.notebook.exit`, so that the common `get_run_output(...).notebook_output.result`
is None rather than an AttributeError; other task types have none."""

from __future__ import annotations

from pathlib import Path

import pytest
from databricks.sdk.service import jobs

from tests.servers import Server

from .conftest import sdk_client

QUIET = "# Databricks notebook source\nprint('no exit value')\n"
EXITS = "# Databricks notebook source\ndbutils.notebook.exit('done')\n"


def test_a_notebook_without_an_exit_value_has_an_empty_notebook_output(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a notebook that ends without dbutils.notebook.exit, one that exits, and a script
    for name, text in (("quiet.py", QUIET), ("exits.py", EXITS), ("script.py", "print(1)\n")):
        (tmp_path / name).write_text(text)
    token = server.token("ann")
    w = sdk_client(server, token, monkeypatch)

    # When they run
    run = w.jobs.submit_and_wait(run_name="outputs", tasks=[
        jobs.SubmitTask(task_key="quiet", notebook_task=jobs.NotebookTask(
            notebook_path=str(tmp_path / "quiet.py"))),
        jobs.SubmitTask(task_key="exits", notebook_task=jobs.NotebookTask(
            notebook_path=str(tmp_path / "exits.py"))),
        jobs.SubmitTask(task_key="script", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "script.py")))])
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    task_runs = {task.task_key: task.run_id for task in run.tasks}
    outputs = {key: w.jobs.get_run_output(run_id) for key, run_id in task_runs.items()}

    # Then the quiet notebook's output is empty, not missing; the others are as before
    assert outputs["quiet"].notebook_output is not None
    assert outputs["quiet"].notebook_output.result is None
    assert outputs["exits"].notebook_output.result == "done"
    assert outputs["script"].notebook_output is None
    raw = server.call("GET", f"/api/2.2/jobs/runs/get-output?run_id={task_runs['quiet']}",
                      token=token)
    assert raw.body["notebook_output"] == {}
