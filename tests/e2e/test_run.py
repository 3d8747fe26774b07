"""`headwater run` with real processes and a real SQLite store, through the CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.child_env import child_env

from .conftest import Cli, shell, write_job

REPO = Path(__file__).resolve().parents[2]


def run_document(hw: Cli, run_id: int) -> dict:  # type: ignore[type-arg]
    return json.loads(hw("runs", "get", str(run_id), "--json", check=True).stdout)


def run_id_of(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("Run ") and " started" in line:
            return int(line.split()[1])
    raise AssertionError(f"no run id in:\n{output}")


def test_the_example_pipeline_succeeds(hw: Cli) -> None:
    result = hw("run", str(REPO / "examples/lf_job_etl_pipeline/databricks.yml"),
                "--target", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ended SUCCESS" in result.stdout
    document = run_document(hw, run_id_of(result.stdout))
    states = {t["task_key"]: t["state"].get("result_state") for t in document["tasks"]}
    assert states["report"] == "SUCCESS"
    assert states["alert_on_failure"] == "EXCLUDED"
    report = REPO / "examples/lf_job_etl_pipeline/output/reports" / \
        f"report-run-{document['run_id']}.html"
    assert "revenue report (dev)" in report.read_text()  # where the README says it is


def test_200_parallel_tasks_never_exceed_max_parallel(hw: Cli, tmp_path: Path) -> None:
    # Given one root, 200 parallel shell tasks and a join
    middle = [shell(f"t{i}", "sleep 0.05", "root") for i in range(200)]
    job = write_job(tmp_path / "fan.json",
                    [shell("root", "true"), *middle,
                     shell("join", "true", *(f"t{i}" for i in range(200)))])
    # When it runs with --max-parallel 8
    result = hw("run", str(job), "--max-parallel", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    document = run_document(hw, run_id_of(result.stdout))
    tasks = document["tasks"]
    # Then every task shows its times and attempt number
    assert len(tasks) == 202
    assert all(t["attempt_number"] == 0 and t["start_time"] > 0 and t["end_time"] >= t["start_time"]
               for t in tasks)
    # And never more than 8 ran at once, by the stored start and end times
    edges = sorted([(t["start_time"], 1) for t in tasks] + [(t["end_time"], -1) for t in tasks],
                   key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    assert 1 < peak <= 8


def test_a_failing_task_is_retried_and_every_attempt_has_its_log(hw: Cli, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    command = (f'n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; '
               f'echo "attempt $n"; [ $n -ge 3 ]')
    job = write_job(tmp_path / "retry.json",
                    [shell("flaky", command, max_retries=3, min_retry_interval_millis=1000)])
    result = hw("run", str(job))
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    tasks = run_document(hw, run_id)["tasks"]
    assert [t["attempt_number"] for t in tasks] == [0, 1, 2]
    assert [t["state"]["result_state"] for t in tasks] == ["FAILED", "FAILED", "SUCCESS"]
    assert tasks[1]["start_time"] - tasks[0]["start_time"] >= 1000  # from the failed start
    assert all(t["original_attempt_run_id"] == tasks[0]["run_id"] for t in tasks)
    for attempt in range(3):
        log = hw("runs", "logs", str(run_id), "flaky", "--attempt", str(attempt), check=True)
        assert log.stdout.strip() == f"attempt {attempt + 1}"


def test_a_failed_run_exits_1_and_names_the_task(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "fail.json", [shell("boom", "exit 3"), shell("after", "true", "boom")])
    result = hw("run", str(job))
    assert result.returncode == 1
    document = run_document(hw, run_id_of(result.stdout))
    assert document["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert document["state"]["result_state"] == "FAILED"
    assert document["state"]["state_message"].startswith("Task boom failed with message:")
    assert "exited with code 3" in document["state"]["state_message"]
    assert document["status"]["termination_details"]["code"] == "RUN_EXECUTION_ERROR"
    assert [t["state"]["result_state"] for t in document["tasks"]] == ["FAILED", "UPSTREAM_FAILED"]


def test_a_failure_without_a_traceback_says_the_exit_code_first(hw: Cli, tmp_path: Path) -> None:
    # Given a script and a shell command that print a line of success, then exit non-zero,
    # and a script that dies of an exception
    (tmp_path / "quiet.py").write_text("import sys\nprint('Loaded 500 rows')\nsys.exit(3)\n")
    (tmp_path / "loud.py").write_text("print('starting')\nraise ValueError('bad row')\n")
    job = write_job(tmp_path / "exits.json", [
        {"task_key": "quiet", "spark_python_task": {"python_file": "quiet.py"}},
        {"task_key": "loud", "spark_python_task": {"python_file": "loud.py"}},
        shell("sh", "echo 'all good'; exit 2")])

    # When they run
    result = hw("run", str(job))

    # Then the exit code is the reason and the last line its context; a traceback stays the
    # reason by itself; `runs output` says the same
    messages = {t["task_key"]: (t["state"]["state_message"], t["run_id"])
                for t in run_document(hw, run_id_of(result.stdout))["tasks"]}
    assert messages["quiet"][0] == ("The task's process exited with code 3; "
                                    "its last output line: Loaded 500 rows")
    assert messages["sh"][0] == ("The task's process exited with code 2; "
                                 "its last output line: all good")
    assert messages["loud"][0] == "ValueError: bad row"
    output = hw("runs", "output", str(messages["quiet"][1]), check=True).stdout
    assert "error: The task's process exited with code 3; its last output line" in output


def test_an_environment_that_cannot_be_built_is_the_failure_message(
        hw: Cli, tmp_path: Path) -> None:
    # Given a script whose environment names a wheel that is not there (pip fails offline)
    (tmp_path / "t.py").write_text("print('never runs')\n")
    job = write_job(tmp_path / "env.json", [
        {"task_key": "t", "environment_key": "default", "spark_python_task": {"python_file": "t.py"}}],
        environments=[{"environment_key": "default",
                       "spec": {"client": "1", "dependencies": ["./gone/pkg-1.0-py3-none-any.whl"]}}])

    # When it runs
    result = hw("run", str(job))

    # Then the reason is the environment's, not the script's exit code and "last output line"
    (task,) = run_document(hw, run_id_of(result.stdout))["tasks"]
    assert task["state"]["state_message"].startswith(
        "environment 'default' could not be built: ERROR: "), task["state"]
    assert "pkg-1.0-py3-none-any.whl" in task["state"]["state_message"]


def test_kill_9_mid_run_leaves_a_consistent_store(tmp_path: Path) -> None:
    # Given a run of 40 short tasks in a chain, driven by `headwater run`
    tasks = [shell(f"t{i}", "sleep 0.05", *([f"t{i - 1}"] if i else [])) for i in range(40)]
    job = write_job(tmp_path / "chain.json", tasks)
    env = child_env()
    proc = subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    db = tmp_path / ".headwater" / "headwater.db"
    # When it is killed with SIGKILL once some tasks have finished
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and _count(db, "SELECT COUNT(*) FROM task_runs WHERE result='SUCCESS'") >= 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Then the store is intact and its snapshot is exactly what the stored events produce
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    from headwater.core.plan import build_plan
    from headwater.core.spec import JobSettings
    from headwater.store import open_store
    from headwater.testing import replay

    store = open_store(f"sqlite:///{db}")
    try:
        record = store.load_run(1)
        plan = build_plan(JobSettings.model_validate(record.job.settings))
        assert replay(plan, store.events(1)).task_runs == record.state.task_runs
        assert not record.state.is_terminal
    finally:
        store.close()


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0
