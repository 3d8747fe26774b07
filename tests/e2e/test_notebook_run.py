"""`dbutils.notebook.run` through the CLI, with real processes: a notebook task runs other
notebooks (Databricks source and .ipynb), gets their exit values, catches their failures,
times them out, and runs them concurrently from threads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of

SOURCE = "# Databricks notebook source\n"
CELL = "\n# COMMAND ----------\n"


def write_source(path: Path, *cells: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SOURCE + CELL.join(cells))


def write_ipynb(path: Path, *cells: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]  # type: ignore[no-untyped-call]
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]


def notebook_task(key: str, path: str, **fields: Any) -> dict[str, Any]:
    return {"task_key": key, "notebook_task": {"notebook_path": path,
                                               "base_parameters": fields.pop("parameters", {})},
            **fields}


def task_outputs(hw: Cli, run_id: int) -> dict[str, dict[str, Any]]:
    """Each task's document, with its `runs output` under "output" and its log under "log"."""
    tasks = {t["task_key"]: t for t in run_document(hw, run_id)["tasks"]}
    for key, task in tasks.items():
        found = hw("runs", "output", str(task["run_id"]), "--json", check=True)
        task["output"] = json.loads(found.stdout)
        task["log"] = hw("runs", "logs", str(run_id), key, check=True).stdout
    return tasks


def test_a_notebook_runs_another_with_arguments_and_gets_its_exit_value(
        hw: Cli, tmp_path: Path) -> None:
    # Given a notebook that runs an .ipynb (path without its suffix, relative to the caller's
    # folder), which runs a source notebook beside it in turn
    write_source(tmp_path / "parent.py",
                 'greeting = dbutils.notebook.run("children/greet", 120, {"name": "ada"})\n'
                 'print(f"parent got {greeting}")\n'
                 "dbutils.notebook.exit(greeting)")
    write_ipynb(tmp_path / "children" / "greet.ipynb",
                "widgets = dbutils.widgets.getAll()\n"
                'dbutils.jobs.taskValues.set("leaked", True)\n'
                'print("greeting", dbutils.widgets.get("name"))',
                'loud = dbutils.notebook.run("shout", 60, {"text": widgets["name"]})\n'
                'dbutils.notebook.exit(f"hello {loud}, widgets {sorted(widgets)}")')
    write_source(tmp_path / "children" / "shout.py",
                 'print("shouting")\n'
                 'dbutils.notebook.exit(dbutils.widgets.get("text").upper())')
    job = write_job(tmp_path / "job.json", [notebook_task(
        "orchestrate", "parent", parameters={"name": "from the task", "other": "x"})])

    # When the job runs
    result = hw("run", str(job))

    # Then the caller got the child's exit value, built from the arguments alone (not the
    # task's parameters), the child's task value stayed its own, and the log shows its output
    assert result.returncode == 0, result.stdout + result.stderr
    task = task_outputs(hw, run_id_of(result.stdout))["orchestrate"]
    assert task["output"]["notebook_output"]["result"] == "hello ADA, widgets ['name']"
    assert not task.get("task_values")
    logs = task["log"]
    assert "parent got hello ADA" in logs
    assert "] greeting ada" in logs
    assert "] shouting" in logs
    shown = hw("runs", "output", str(task["run_id"]), check=True).stdout
    assert "notebook result: hello ADA, widgets ['name']" in shown


def test_runs_output_of_a_notebook_without_an_exit_value_shows_no_result(
        hw: Cli, tmp_path: Path) -> None:
    write_source(tmp_path / "quiet.py", 'print("no exit value")')
    result = hw("run", str(write_job(tmp_path / "job.json", [notebook_task("quiet", "quiet")])))

    assert result.returncode == 0, result.stdout + result.stderr
    task = task_outputs(hw, run_id_of(result.stdout))["quiet"]
    assert task["output"]["notebook_output"] == {}
    shown = hw("runs", "output", str(task["run_id"]), check=True).stdout
    assert "notebook result" not in shown


def test_a_long_exit_value_is_cut_in_the_run_s_summary_and_whole_in_its_output(
        hw: Cli, tmp_path: Path) -> None:
    write_source(tmp_path / "big.py", 'dbutils.notebook.exit("x" * 100_000)')
    result = hw("run", str(write_job(tmp_path / "job.json", [notebook_task("big", "big")])))

    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    [line] = [line for line in result.stdout.splitlines() if line.startswith("big: ")]
    assert line == (f"big: {'x' * 200}... (100,000 characters in all: `headwater runs output` "
                    f"of its task run, in `headwater runs get {run_id}`, shows them)")
    task = task_outputs(hw, run_id)["big"]
    assert task["output"]["notebook_output"]["result"] == "x" * 100_000


def test_a_failing_notebook_raises_in_its_caller_which_may_catch_it(
        hw: Cli, tmp_path: Path) -> None:
    # Given a notebook that fails with its argument in the message, an .ipynb that catches
    # the failure, and a source notebook that does not
    write_source(tmp_path / "fails.py",
                 'raise ValueError(f"bad row {dbutils.widgets.get(\'row\')}")')
    write_ipynb(tmp_path / "catches.ipynb",
                "try:\n"
                '    dbutils.notebook.run("fails", 60, {"row": "7"})\n'
                "except Exception as error:  # the usual pattern: log it, or retry\n"
                "    caught = error\n"
                'print(f"caught: {caught}")',
                'dbutils.notebook.exit(f"{type(caught).__name__}: {caught.error}")')
    write_source(tmp_path / "propagates.py", 'dbutils.notebook.run("./fails.py", 60, {"row": "8"})')
    job = write_job(tmp_path / "job.json", [notebook_task("catches", "catches.ipynb"),
                                            notebook_task("propagates", "propagates.py")])

    # When the job runs
    result = hw("run", str(job))

    # Then the catching notebook succeeds with the child's error, the other fails with it
    assert result.returncode == 1, result.stdout + result.stderr
    tasks = task_outputs(hw, run_id_of(result.stdout))
    catches = tasks["catches"]
    assert catches["state"]["result_state"] == "SUCCESS"
    assert catches["output"]["notebook_output"]["result"] == (
        "NotebookRunFailed: ValueError: bad row 7")
    assert "caught: dbutils.notebook.run('fails'): fails.py failed: ValueError: bad row 7" in \
        catches["log"]
    propagates = tasks["propagates"]
    assert propagates["state"]["result_state"] == "FAILED"
    assert "ValueError: bad row 8" in propagates["output"]["error"]
    assert "Error in cell 1 of fails.py" in propagates["log"]


LEFTOVERS = """\
import os

def leftovers():
    \"\"\"The processes still running with the environment of a run of `slow`.\"\"\"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environment = open(f"/proc/{pid}/environ", "rb").read()  # empty for a zombie
        except OSError:
            continue
        if b"/notebook_runs/slow-" in environment:
            found.append(int(pid))
    return found
"""


def test_a_notebook_past_its_timeout_is_killed_with_what_it_started(
        hw: Cli, tmp_path: Path) -> None:
    # Given an .ipynb (a kernel in a session of its own) that starts a process and sleeps,
    # run with a timeout far shorter than its sleep
    write_ipynb(tmp_path / "slow.ipynb",
                "import subprocess, time\n"
                'subprocess.Popen(["sleep", "300"])\n'
                'print("started")',
                "time.sleep(300)")
    write_source(tmp_path / "caller.py", LEFTOVERS,
                 "from headwater.runtime import NotebookRunTimedOut\n"
                 "try:\n"
                 '    dbutils.notebook.run("slow", 5)\n'
                 "except NotebookRunTimedOut as error:\n"
                 '    print(f"timed out: {error}")\n'
                 'dbutils.notebook.exit(f"left running: {leftovers()}")')
    job = write_job(tmp_path / "job.json", [notebook_task("caller", "caller.py",
                                                          timeout_seconds=240)])

    # When the job runs
    result = hw("run", str(job))

    # Then the caller went on after the timeout, with nothing of the child left running
    assert result.returncode == 0, result.stdout + result.stderr
    task = task_outputs(hw, run_id_of(result.stdout))["caller"]
    assert task["output"]["notebook_output"]["result"] == "left running: []"
    assert "ran past timeout_seconds=5 and was killed" in task["log"]


def test_notebooks_run_concurrently_from_threads(hw: Cli, tmp_path: Path) -> None:
    # Given a notebook that waits until its sibling has started: two runs of it end only if
    # they run at the same time (else the first one's timeout fails the caller)
    write_source(tmp_path / "sibling.py",
                 "import os, time\n"
                 'me, other = dbutils.widgets.get("me"), dbutils.widgets.get("other")\n'
                 'open(f"started-{me}", "w").close()\n'
                 'while not os.path.exists(f"started-{other}"):\n'
                 "    time.sleep(0.05)\n"
                 'dbutils.notebook.exit(f"{me} saw {other}")')
    write_source(tmp_path / "fan_out.py",
                 "from concurrent.futures import ThreadPoolExecutor\n"
                 "pairs = [('a', 'b'), ('b', 'a')]\n"
                 "with ThreadPoolExecutor(2) as pool:\n"
                 "    results = list(pool.map(lambda pair: dbutils.notebook.run(\n"
                 '        "sibling", 120, {"me": pair[0], "other": pair[1]}), pairs))\n'
                 'dbutils.notebook.exit(" / ".join(results))')
    job = write_job(tmp_path / "job.json", [notebook_task("fan_out", "fan_out.py")])

    # When the job runs
    result = hw("run", str(job))

    # Then both runs ended, each with its own value
    assert result.returncode == 0, result.stdout + result.stderr
    task = task_outputs(hw, run_id_of(result.stdout))["fan_out"]
    assert task["output"]["notebook_output"]["result"] == "a saw b / b saw a"
