"""A job created through the Jobs API may name its code by workspace path, as on Databricks:
`/Workspace/...` is the file in the server's folder standing for the workspace (where deploys
copy bundles and the Workspace API imports). A real server, the databricks-sdk, real tasks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from databricks.sdk.errors import OperationFailed
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from tests.servers import Server

from .conftest import sdk_client

NOTEBOOK = """\
# Databricks notebook source
dbutils.notebook.exit(dbutils.fs.head("file:/Workspace/Shared/etl/greeting.txt"))
"""


def test_a_job_names_its_script_and_notebook_by_workspace_path_and_reads_files_there(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    etl = server.workdir / ".headwater" / "workspace" / "Shared" / "etl"
    etl.mkdir(parents=True)
    (etl / "load.py").write_text("import os, sys\nprint('load in', os.getcwd(), sys.argv[1:])\n")
    (etl / "report.py").write_text(NOTEBOOK)
    (etl / "greeting.txt").write_text("report from the workspace")  # read via dbutils.fs
    job = w.jobs.create(name="from the workspace", tasks=[
        jobs.Task(task_key="load", spark_python_task=jobs.SparkPythonTask(
            python_file="/Workspace/Shared/etl/load.py", parameters=["x"])),
        jobs.Task(task_key="report", depends_on=[jobs.TaskDependency(task_key="load")],
                  notebook_task=jobs.NotebookTask(notebook_path="/Workspace/Shared/etl/report")),
    ])
    assert job.job_id is not None

    run = w.jobs.run_now_and_wait(job.job_id, timeout=timedelta(minutes=2))

    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS
    by_key = {task.task_key: task.run_id for task in run.tasks or []}
    assert by_key["report"] is not None
    output = w.jobs.get_run_output(by_key["report"])
    assert output.notebook_output is not None
    assert output.notebook_output.result == "report from the workspace"
    exported = w.jobs.export_run(by_key["report"])  # the notebook found as the task found it
    assert exported.views is not None
    assert "greeting.txt" in (exported.views[0].content or "")
    logs = server.call("GET", f"/api/2.2/jobs/runs/get-output?run_id={by_key['load']}",
                       token=server.token("ann")).body
    assert logs["logs"] == f"load in {etl} ['x']\n"


def test_a_workspace_path_that_names_no_file_says_how_to_put_one_there(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    job = w.jobs.create(name="missing", tasks=[jobs.Task(
        task_key="load", spark_python_task=jobs.SparkPythonTask(
            python_file="/Workspace/Users/ann/etl/load.py"))])
    assert job.job_id is not None

    with pytest.raises(OperationFailed) as failed:
        w.jobs.run_now_and_wait(job.job_id, timeout=timedelta(minutes=2))

    message = str(failed.value)
    folder = Path(server.workdir / ".headwater" / "workspace" / "Users" / "ann" / "etl")
    assert f"python_file '/Workspace/Users/ann/etl/load.py' not found (looked for " \
           f"'{folder / 'load.py'}')" in message
    assert "put it there (on a server: `databricks workspace import`" in message


def test_a_notebook_named_as_databricks_names_it_runs_from_the_workspace_and_exports(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    w.workspace.mkdirs("/Users/ann/etl")
    w.workspace.upload("/Users/ann/etl/greet", b"# Databricks notebook source\n"
                       b"dbutils.notebook.exit('hello from /Users')\n",
                       format=ImportFormat.SOURCE, language=Language.PYTHON)
    job = w.jobs.create(name="greet", tasks=[jobs.Task(
        task_key="greet", notebook_task=jobs.NotebookTask(notebook_path="/Users/ann/etl/greet"))])
    assert job.job_id is not None

    run = w.jobs.run_now_and_wait(job.job_id, timeout=timedelta(minutes=2))

    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS
    task_run = (run.tasks or [])[0].run_id
    assert task_run is not None
    output = w.jobs.get_run_output(task_run)
    assert output.notebook_output is not None
    assert output.notebook_output.result == "hello from /Users"
    exported = w.jobs.export_run(task_run)
    assert exported.views is not None
    assert "hello from /Users" in (exported.views[0].content or "")
