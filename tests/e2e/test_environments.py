"""Job environments through the CLI: each task in its own venv, built once, then reused."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of

PRINT_SIX = """\
import six, sys
from headwater.runtime import dbutils
dbutils.jobs.taskValues.set("six", six.__version__)
print(f"six {six.__version__} from {sys.prefix}")
"""
BUILDING = "headwater: building environment"


def test_tasks_run_in_their_environments_and_reuse_them(hw: Cli, tmp_path: Path) -> None:
    # Given a job whose two tasks pin different versions of six in their environments
    (tmp_path / "print_six.py").write_text(PRINT_SIX)
    script = {"python_file": "print_six.py"}
    job = write_job(tmp_path / "job.json", [
        {"task_key": "new", "environment_key": "new_six", "spark_python_task": script},
        {"task_key": "old", "environment_key": "old_six", "spark_python_task": script},
    ], environments=[
        {"environment_key": "new_six", "spec": {"client": "1", "dependencies": ["six==1.16.0"]}},
        {"environment_key": "old_six", "spec": {"client": "1", "dependencies": ["six==1.15.0"]}},
    ])

    # When the job runs twice
    runs = []
    for _ in range(2):
        result = hw("run", str(job))
        assert result.returncode == 0, result.stdout + result.stderr
        runs.append(run_id_of(result.stdout))

    # Then each task imported its own version, from a venv under .headwater/envs
    envs = str(tmp_path / ".headwater" / "envs")
    logs = {(run, key): hw("runs", "logs", str(run), key, check=True).stdout
            for run in runs for key in ("new", "old")}
    for run in runs:
        assert f"six 1.16.0 from {envs}" in logs[run, "new"]
        assert f"six 1.15.0 from {envs}" in logs[run, "old"]
        tasks = {t["task_key"]: t for t in run_document(hw, run)["tasks"]}
        assert tasks["new"]["task_values"] == {"six": "1.16.0"}
        assert tasks["old"]["task_values"] == {"six": "1.15.0"}
    # And the first run built the two environments, the second reused them
    assert all(BUILDING in logs[runs[0], key] for key in ("new", "old"))
    assert not any(BUILDING in logs[runs[1], key] for key in ("new", "old"))
    assert len(list((tmp_path / ".headwater" / "envs").glob("*/bin/python"))) == 2
    # And the set-up time is reported: building costs seconds, reusing far less
    first, second = (run_document(hw, run) for run in runs)
    assert first["setup_duration"] >= 1000
    assert 0 < second["setup_duration"] < first["setup_duration"]
    assert all(t["setup_duration"] > 0 for t in first["tasks"])
