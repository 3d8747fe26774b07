"""The code files a job names, checked as the job file loads: every one that is not there is a
problem of the same report as the file's other problems, at the line that names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.core.bundle_model import BundleContext
from headwater.core.load import load_bundle, load_files
from headwater.errors import Problem, SpecError

from .test_bundle_cli import write

BUNDLE = """
    bundle: {name: shop}
    resources:
      jobs:
        etl:
          tasks:
            - task_key: load
              spark_python_task: {python_file: src/load.py}
            - task_key: clean
              max_retries: many
              notebook_task: {notebook_path: src/clean}
            - task_key: report
              sql_task: {file: {path: src/report.sql}, warehouse_id: local}
            - task_key: models
              dbt_task: {project_directory: dbt, commands: [dbt build]}
    targets:
      dev: {default: true}
      prod:
        resources:
          jobs:
            etl:
              tasks:
                - task_key: load
                  spark_python_task: {python_file: src/prod_load.py}
    """


def problems(paths: list[Path], target: str | None = None,
             context: BundleContext | None = None) -> list[Problem]:
    with pytest.raises(SpecError) as raised:
        load_bundle(paths, target, None, context)
    return raised.value.problems


def test_missing_files_are_reported_with_the_other_problems_each_at_its_line(
        tmp_path: Path) -> None:
    # Given a job with a mistyped field, whose notebook is there (by its .py) but whose
    # script, SQL file and dbt project are not
    root = write(tmp_path, "databricks.yml", BUNDLE)
    write(tmp_path, "src/clean.py", "# Databricks notebook source\n")

    found = problems([root])

    # Then one report names the mistake and each missing file, where it is written
    assert [(p.where, p.path, p.message) for p in found] == [
        (f"{root}:7:44", "tasks[0].spark_python_task.python_file",
         f"no such file: {tmp_path}/src/load.py; put it there or correct the path"),
        (f"{root}:9:24", "tasks[1].max_retries", "must be an integer (got 'many')"),
        (f"{root}:12:35", "tasks[2].sql_task.file.path",
         f"no such file: {tmp_path}/src/report.sql; put it there or correct the path"),
        (f"{root}:14:41", "tasks[3].dbt_task.project_directory",
         f"no such folder: {tmp_path}/dbt; put it there or correct the path"),
    ]


def test_a_file_a_target_names_is_looked_for_and_reported_in_the_target(
        tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", BUNDLE.replace("max_retries: many", "max_retries: 1"))
    for name in ("src/load.py", "src/clean.py", "src/report.sql", "dbt/dbt_project.yml"):
        write(tmp_path, name, "")

    assert load_bundle([root]).jobs  # dev: every file is there

    (problem,) = problems([root], "prod")
    assert (problem.where, problem.path) == (f"{root}:23:48",
                                             "tasks[0].spark_python_task.python_file")
    assert problem.message.startswith(f"no such file: {tmp_path}/src/prod_load.py;")


def test_a_json_job_s_missing_notebook_is_named_by_its_json_path(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"name": "j", "tasks": [
        {"task_key": "a", "notebook_task": {"notebook_path": "nb"}},
        {"task_key": "b", "notebook_task": {"notebook_path": "here"}}]}))
    (tmp_path / "here.ipynb").write_text("{}")

    (problem,) = problems([job])

    assert str(problem) == (f"{job}: $.tasks[0].notebook_task.notebook_path: no such file: "
                            f"{tmp_path}/nb (nor with .py, .sql or .ipynb); put it there or "
                            "correct the path")


def test_a_path_that_cannot_be_right_is_reported_once(tmp_path: Path) -> None:
    # A path leaving the job's folder, and one that is no text at all, are not looked for;
    # a plain missing file beside them is
    job = tmp_path / "jobs" / "job.json"
    job.parent.mkdir()
    job.write_text(json.dumps({"name": "j", "tasks": [
        {"task_key": "a", "spark_python_task": {"python_file": "../x.py"}},
        {"task_key": "b", "spark_python_task": {"python_file": ["x.py"]}},
        {"task_key": "c", "spark_python_task": {"python_file": "c.py"}}]}))

    found = {p.path: p.message for p in problems([job])}

    assert sorted(found) == [f"tasks[{i}].spark_python_task.python_file" for i in range(3)]
    assert [path for path, message in found.items() if "no such file" in message] == [
        "tasks[2].spark_python_task.python_file"]


def test_a_bundle_for_a_server_is_checked_against_the_files_here_that_it_copies(
        tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        bundle: {name: shop}
        resources:
          jobs:
            etl:
              tasks:
                - task_key: load
                  spark_python_task: {python_file: src/load.py}
        """)
    server = BundleContext(user="ana", workspace_dir=str(tmp_path / "server_workspace"))

    (problem,) = problems([root], context=server)
    assert problem.message.startswith(f"no such file: {tmp_path}/src/load.py;")

    write(tmp_path, "src/load.py", "")
    (job,) = load_bundle([root], None, None, server).jobs
    python = job.settings.tasks[0].spark_python_task
    assert python is not None and python.python_file.startswith(f"{tmp_path}/server_workspace/")


def test_a_job_s_design_reads_without_its_files(tmp_path: Path) -> None:
    # `load_files` reads the job's design (simulate, headwater.testing): its code need not be
    # written yet
    root = write(tmp_path, "databricks.yml", BUNDLE.replace("max_retries: many", "max_retries: 1"))

    (job,) = load_files([root])

    assert len(problems([root])) == 4  # what deploys or runs it needs them all
    assert [task.task_key for task in job.settings.tasks] == ["load", "clean", "report", "models"]
