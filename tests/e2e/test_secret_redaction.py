"""Databricks' Python conveniences for secrets, in real task processes: a script uses `dbutils`
without importing it (as Databricks' `job_read_secret` example does), and what a task prints,
logs, raises or reports of a secret it read shows `[REDACTED]`, in a script, a source notebook
and an `.ipynb` notebook, with the fork server on and off. Nothing under headwater's home but
the secret store holds the value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of

SECRET = "hunter2-9f3a"
SCRIPT = """\
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
token = dbutils.secrets.get(scope="warehouse", key="token")  # no import, as on Databricks
print("printed", token)
logging.getLogger("etl").info("logged %s", token)
sys.stderr.write(f"written {token}\\n")
print("a slice is not the value:", token[:3])
dbutils.jobs.taskValues.set("login", {"user": "etl", "token": token})
raise ValueError(f"login failed for {token}")
"""
SOURCE_NOTEBOOK = """\
# Databricks notebook source
token = dbutils.secrets.get("warehouse", "token")
print(f"notebook printed {token}")
dbutils.notebook.exit(f"exited with {token}")
"""
IPYNB_CELLS = [
    'token = dbutils.secrets.get("warehouse", "token")\nprint("cell printed", token)',
    "token",
    'from IPython.display import display\ndisplay({"shown": token})',
    'raise RuntimeError("cell failed with " + token)',
]


def _ipynb(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in IPYNB_CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


@pytest.mark.parametrize("launch", ["fork", "spawn"])
def test_what_a_task_shows_of_a_secret_it_read_is_redacted(
        hw: Cli, tmp_path: Path, launch: str) -> None:
    # Given a secret, a script that uses `dbutils` without importing it, and two notebooks
    hw("secrets", "put-secret", "warehouse", "token", "--string-value", SECRET, check=True)
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "source_notebook.py").write_text(SOURCE_NOTEBOOK)
    _ipynb(tmp_path / "cells.ipynb")
    job = write_job(tmp_path / "job.json", [
        {"task_key": "script", "spark_python_task": {"python_file": "script.py"}},
        {"task_key": "source", "notebook_task": {"notebook_path": "source_notebook.py"}},
        {"task_key": "cells", "notebook_task": {"notebook_path": "cells.ipynb"}},
    ])

    # When the job runs
    run = run_id_of(hw("run", str(job), extra_env={"HEADWATER_LAUNCH": launch}).stdout)

    # Then each task read the value and showed it redacted, wherever it went
    tasks = {t["task_key"]: t for t in run_document(hw, run)["tasks"]}

    def log(key: str) -> str:
        return hw("runs", "logs", str(run), key, check=True).stdout

    script = log("script")
    for line in ("printed [REDACTED]", "INFO:etl:logged [REDACTED]", "written [REDACTED]",
                 "a slice is not the value: hun", "ValueError: login failed for [REDACTED]"):
        assert line in script
    assert tasks["script"]["state"]["state_message"].endswith(
        "ValueError: login failed for [REDACTED]")
    # a task value, which whoever may view the run reads, holds it redacted, and says so
    assert tasks["script"]["task_values"] == {"login": {"user": "etl", "token": "[REDACTED]"}}
    assert "task value 'login' holds a secret this task read" in script
    assert "notebook printed [REDACTED]" in log("source")
    output = json.loads(hw("runs", "output", str(tasks["source"]["run_id"]), "--json",
                           check=True).stdout)
    assert output["notebook_output"]["result"] == "exited with [REDACTED]"
    cells = log("cells")
    for line in ("cell printed [REDACTED]", "'[REDACTED]'", "{'shown': '[REDACTED]'}",
                 "RuntimeError: cell failed with [REDACTED]"):
        assert line in cells
    assert tasks["cells"]["state"]["state_message"].endswith(
        "RuntimeError: cell failed with [REDACTED]")
    # And the value is in the secret store and nowhere else headwater keeps things
    home = tmp_path / ".headwater"
    holding = [path.relative_to(home) for path in home.rglob("*")
               if path.is_file() and SECRET.encode() in path.read_bytes()]
    assert holding == [Path("secrets/warehouse/token")]
