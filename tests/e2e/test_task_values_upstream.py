"""`dbutils.jobs.taskValues.get` in a real run reads only the tasks upstream of the reader: a
misspelt task key, or a sibling that is not upstream, is a ValueError naming the upstream
tasks, even with a default; a missing key of an upstream task gives the default."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli
from .test_run import run_id_of

JOB = {"name": "values", "tasks": [
    {"task_key": "bronze", "spark_python_task": {"python_file": "setter.py"}},
    {"task_key": "side", "spark_python_task": {"python_file": "setter.py"}},
    {"task_key": "silver", "depends_on": [{"task_key": "bronze"}],
     "spark_python_task": {"python_file": "reader.py"}},
]}
SETTER = "dbutils.jobs.taskValues.set('rows', 42)\n"
READER = """
print("rows", dbutils.jobs.taskValues.get(taskKey="bronze", key="rows"))
print("missing", dbutils.jobs.taskValues.get(taskKey="bronze", key="nope", default=-1))
for key in ("brnze", "side"):
    try:
        dbutils.jobs.taskValues.get(taskKey=key, key="rows", default=0)
    except ValueError as error:
        print("refused", key, "-", error)
"""


def test_task_values_are_read_from_upstream_tasks_only(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps(JOB))
    (tmp_path / "setter.py").write_text(SETTER)
    (tmp_path / "reader.py").write_text(READER)

    result = hw("run", "job.json")

    assert result.returncode == 0, result.stdout + result.stderr
    log = hw("runs", "logs", str(run_id_of(result.stdout)), "silver", check=True).stdout
    assert "rows 42" in log and "missing -1" in log
    assert "refused brnze - cannot find task 'brnze' among the tasks upstream of 'silver' " \
           "(bronze)" in log and "did you mean 'bronze'?" in log
    assert "refused side - cannot find task 'side'" in log
