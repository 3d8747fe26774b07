"""What a Databricks notebook reads about itself, through the CLI with real processes: its
widgets by the legacy `getArgument`, its job, run and task from the notebook context
(`dbutils.notebook.entry_point.getDbutils().notebook().getContext()`), and what an import of
pyspark says where there is none."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli, write_job
from .test_notebook_run import notebook_task, task_outputs, write_ipynb, write_source
from .test_run import run_document, run_id_of

# As a Databricks notebook reads its context (each line seen in notebooks of public repos).
READS_ITS_CONTEXT = """\
import json
ctx = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
document = json.loads(ctx.toJson())
dbutils.notebook.exit(json.dumps({
    "table": getArgument("table"),
    "fallback": getArgument("not_set", "fallback"),
    "current_run": ctx.currentRunId().get().id(),
    "printed_run": ctx.currentRunId().toString(),
    "job": ctx.tags().apply("jobId"),
    "job_too": ctx.jobId().get(),
    "job_run": ctx.tags().get("multitaskParentRunId").get(),
    "task": ctx.tags().get("taskKey").getOrElse(None),
    "json_tags": document["tags"],
    "json_run": document["currentRunId"],
    "notebook": ctx.notebookPath().get(),
    "user": ctx.userName().get(),
    "scala_form": dbutils.notebook.getContext().currentRunId().get().id(),
}))"""


def test_a_notebook_reads_its_widgets_by_get_argument_and_its_ids_from_the_context(
        hw: Cli, tmp_path: Path) -> None:
    # Given a source notebook and an .ipynb that read widgets with `getArgument` and their ids
    # from the notebook context, as notebooks written for Databricks do
    write_source(tmp_path / "etl" / "source_nb.py", READS_ITS_CONTEXT)
    write_ipynb(tmp_path / "etl" / "kernel_nb.ipynb", READS_ITS_CONTEXT)
    # and a notebook that runs the first with `dbutils.notebook.run`
    write_source(tmp_path / "caller.py", 'dbutils.notebook.exit(dbutils.notebook.run('
                                         '"etl/source_nb", 60, {"table": "from caller"}))')
    job = write_job(tmp_path / "job.json", [
        notebook_task("source", "etl/source_nb", parameters={"table": "orders"}),
        notebook_task("kernel", "etl/kernel_nb.ipynb", parameters={"table": "orders"}),
        notebook_task("caller", "caller")],
        name="context")

    # When the job runs
    result = hw("run", str(job))

    # Then each notebook got its widget, the default for a missing one, and the ids of its job,
    # its run and its own task run, as the run's document gives them
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    document = run_document(hw, run_id)
    outputs = task_outputs(hw, run_id)
    # (the notebook the caller ran is part of the caller's task run, and says so)
    for key, notebook, table in (("source", "source_nb", "orders"),
                                 ("kernel", "kernel_nb", "orders"),
                                 ("caller", "source_nb", "from caller")):
        task_run_id = outputs[key]["run_id"]
        seen = json.loads(outputs[key]["output"]["notebook_output"]["result"])
        assert seen == {
            "table": table, "fallback": "fallback",
            "current_run": task_run_id, "printed_run": f"Some(RunId({task_run_id}))",
            "job": str(document["job_id"]), "job_too": str(document["job_id"]),
            "job_run": str(run_id), "task": key,
            "json_tags": {"jobId": str(document["job_id"]), "jobName": "context",
                          "multitaskParentRunId": str(run_id),
                          "idInJob": str(task_run_id), "taskKey": key,
                          "user": document["creator_user_name"]},
            "json_run": {"id": task_run_id},
            "notebook": str(tmp_path / "etl" / notebook),
            "user": document["creator_user_name"],  # no run_as: the job's creator
            "scala_form": task_run_id,
        }, key


def test_importing_pyspark_fails_saying_headwater_runs_without_spark(
        hw: Cli, tmp_path: Path) -> None:
    # Given a Python file and notebooks that start as Databricks code often does, and a file
    # that probes for pyspark as libraries do for an optional dependency
    spark_import = "from pyspark.sql import functions as F\nprint('never')"
    (tmp_path / "transform.py").write_text(spark_import)
    write_source(tmp_path / "notebook.py", "print('first cell')", spark_import)
    write_ipynb(tmp_path / "kernel.ipynb", spark_import)
    (tmp_path / "probe.py").write_text(
        "import importlib.util\n"
        "try:\n"
        "    import pyspark\n"
        "except ImportError:\n"
        "    pyspark = None\n"
        "print('probed', importlib.util.find_spec('pyspark'), pyspark)\n")
    job = write_job(tmp_path / "job.json", [
        {"task_key": "file", "spark_python_task": {"python_file": "transform.py"}},
        notebook_task("notebook", "notebook"),
        notebook_task("kernel", "kernel.ipynb"),
        {"task_key": "probe", "spark_python_task": {"python_file": "probe.py"}}])

    # When the job runs
    result = hw("run", str(job))

    # Then both imports fail saying why and what to use, as the notebooks' `spark` does, and
    # the probe finds no pyspark without an error
    assert result.returncode == 1, result.stdout + result.stderr
    tasks = task_outputs(hw, run_id_of(result.stdout))
    explained = ("ModuleNotFoundError: No module named 'pyspark': headwater runs notebooks "
                 "without Spark; use a %sql cell (DuckDB by default) or a Python library "
                 "instead")
    assert explained in tasks["file"]["log"]
    assert tasks["notebook"]["output"]["error"] == explained
    assert tasks["kernel"]["output"]["error"] == explained
    assert "Error in cell 2 of notebook.py, line 4" in tasks["notebook"]["log"]
    assert tasks["probe"]["state"]["result_state"] == "SUCCESS"
    assert "probed None None" in tasks["probe"]["log"]


def test_a_python_file_imports_get_argument_and_the_context_from_the_sdk_runtime(
        hw: Cli, tmp_path: Path) -> None:
    # Given a file written for Databricks: its notebook globals from `databricks.sdk.runtime`
    (tmp_path / "load.py").write_text(
        "from databricks.sdk.runtime import dbutils, getArgument\n"
        "ctx = dbutils.notebook.entry_point.getDbutils().notebook().getContext()\n"
        "print('argument', getArgument('missing', 'fallback'))\n"
        "print('task', ctx.tags().apply('taskKey'), 'user', ctx.userName().get())\n")
    job = write_job(tmp_path / "job.json", [
        {"task_key": "load", "spark_python_task": {"python_file": "load.py"}}])

    # When the job runs
    result = hw("run", str(job))

    # Then both came from headwater's runtime
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    log = task_outputs(hw, run_id)["load"]["log"]
    user = run_document(hw, run_id)["creator_user_name"]
    assert log == f"argument fallback\ntask load user {user}\n"


def test_a_notebook_task_reads_its_own_path_by_the_task_notebook_path_reference(
        hw: Cli, tmp_path: Path) -> None:
    # Given a notebook task whose parameter is {{task.notebook_path}}
    write_source(tmp_path / "etl" / "where.py",
                 'dbutils.notebook.exit(dbutils.widgets.get("path"))')
    job = write_job(tmp_path / "job.json", [
        notebook_task("where", "etl/where", parameters={"path": "{{task.notebook_path}}"})],
        name="where")
    # When the job runs
    result = hw("run", str(job))
    # Then the parameter is the path the task names
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = task_outputs(hw, run_id_of(result.stdout))
    assert outputs["where"]["output"]["notebook_output"]["result"] == "etl/where"
