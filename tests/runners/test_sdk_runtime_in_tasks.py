"""`from databricks.sdk.runtime import dbutils` (and `import *`), the first line of many Python
files written for Databricks, in real attempts of every Python task type: a script, a
source-format notebook, an `.ipynb` notebook, a wheel (forked from a fork server under the
suite's default launch), and a script in a task environment of its own, which has no
databricks-sdk. Each gets headwater's `dbutils`: what it sets is the task's value."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from task_attempts import attempt_context, log_of, run_attempt, values_of
from tests.wheels import write_wheel

from headwater.core.spec import NotebookTask, PythonWheelTask, SparkPythonTask, Task
from headwater.runners import NotebookRunner, ScriptRunner, WheelRunner
from headwater.runners.environments import Environments

USES_THE_SDK_RUNTIME = """\
from databricks.sdk.runtime import dbutils
from databricks.sdk.runtime import *
dbutils.jobs.taskValues.set("dbutils", type(dbutils).__module__)
dbutils.jobs.taskValues.set("star", sorted(n for n in ("display", "getArgument", "spark")
                                           if n in globals()))
"""
EXPECTED = {"dbutils": "headwater.runtime.dbutils",
            "star": ["display", "getArgument", "spark"]}


def _notebook(path: Path) -> None:
    if path.suffix == ".py":
        path.write_text(f"# Databricks notebook source\n{USES_THE_SDK_RUNTIME}")
        return
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
        "id": "a", "cell_type": "code", "metadata": {}, "source": USES_THE_SDK_RUNTIME,
        "outputs": [], "execution_count": None}]}))


@pytest.mark.parametrize("name", ["script.py", "notebook.py", "notebook.ipynb"])
def test_a_script_or_notebook_gets_headwaters_dbutils_from_the_sdk_runtime(
        tmp_path: Path, name: str) -> None:
    context = attempt_context(tmp_path)
    if name == "script.py":
        (tmp_path / name).write_text(USES_THE_SDK_RUNTIME)
        task = Task(task_key="ingest", spark_python_task=SparkPythonTask(python_file=name))
        spec = ScriptRunner().launch_spec(task, context)
    else:
        _notebook(tmp_path / name)
        task = Task(task_key="ingest", notebook_task=NotebookTask(notebook_path=name))
        spec = NotebookRunner().launch_spec(task, context)

    exit_ = run_attempt(spec)

    assert exit_.exit_code == 0, log_of(context)
    assert values_of(context) == EXPECTED


def test_a_wheel_gets_headwaters_dbutils_from_the_sdk_runtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a wheel whose entry point imports dbutils from databricks.sdk.runtime, installed
    # where the task finds it
    module = ("def main():\n"
              "    from databricks.sdk.runtime import dbutils, display, getArgument, spark\n"
              "    dbutils.jobs.taskValues.set('dbutils', type(dbutils).__module__)\n")
    wheel = write_wheel(tmp_path / "dist", "hw-sdk-user", {"hw_sdk_user.py": module},
                        "[console_scripts]\nuse-sdk = hw_sdk_user:main\n")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(site), str(wheel)], check=True)
    monkeypatch.setenv("PYTHONPATH", str(site))
    context = attempt_context(tmp_path / "job")
    task = Task(task_key="ingest", python_wheel_task=PythonWheelTask(
        package_name="hw-sdk-user", entry_point="use-sdk"))

    exit_ = run_attempt(WheelRunner().launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert values_of(context)["dbutils"] == "headwater.runtime.dbutils"


def test_a_task_environment_without_the_sdk_gets_headwaters_dbutils_too(tmp_path: Path) -> None:
    # Given a script in a task environment of its own: a clean venv, which has no databricks-sdk
    context = attempt_context(tmp_path / "job")
    (tmp_path / "job" / "script.py").write_text(
        "import importlib.util\n"
        "assert importlib.util.find_spec('databricks') is None, 'the SDK is installed'\n"
        + USES_THE_SDK_RUNTIME)
    context = dataclasses.replace(context, environment={"dependencies": []})
    task = Task(task_key="ingest", environment_key="bare",
                spark_python_task=SparkPythonTask(python_file="script.py"))

    exit_ = run_attempt(ScriptRunner(environments=Environments(tmp_path / "home"))
                        .launch_spec(task, context), timeout=300)

    assert exit_.exit_code == 0, log_of(context)
    assert values_of(context) == EXPECTED
