"""Run semantics end to end through the CLI with real processes: timeouts, cancel, repair,
resume and for-each."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.child_env import child_env

from .conftest import Cli, shell, write_job
from .test_run import run_document, run_id_of


def start_background(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = child_env()
    return subprocess.Popen([sys.executable, "-m", "headwater", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def test_a_timeout_kills_a_task_that_traps_sigterm_and_its_child(hw: Cli, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    command = (f"trap '' TERM; sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; "
               "while true; do sleep 1; done")
    job = write_job(tmp_path / "timeout.json", [shell("stubborn", command, timeout_seconds=2)])
    result = hw("run", str(job))
    assert result.returncode == 1
    task = run_document(hw, run_id_of(result.stdout))["tasks"][0]
    assert task["state"]["result_state"] == "TIMEDOUT"
    assert "timed out after 2 seconds" in task["state"]["state_message"]
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 2
    survivors = [p for p in recorded if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert survivors == []


def test_a_cancelled_run_still_runs_its_all_done_cleanup(hw: Cli, tmp_path: Path) -> None:
    started = tmp_path / "started"
    cleaned = tmp_path / "cleaned"
    job = write_job(tmp_path / "cancel.json", [
        shell("long", f"touch {started}; sleep 120"),
        shell("next", "true", "long"),
        shell("cleanup", f"touch {cleaned}", "long", run_if="ALL_DONE"),
    ])
    proc = start_background(tmp_path, "run", str(job))
    wait_for(started)
    cancel = hw("runs", "cancel", "1")
    assert cancel.returncode == 0, cancel.stderr
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, output
    document = run_document(hw, 1)
    results = {t["task_key"]: t["state"]["result_state"] for t in document["tasks"]}
    assert results == {"long": "CANCELED", "next": "UPSTREAM_CANCELED", "cleanup": "SUCCESS"}
    assert document["state"]["result_state"] == "CANCELED"
    assert cleaned.exists()


def fails_then_is_repaired(hw: Cli, job: Path, flag: Path, *run_options: str) -> int:
    """Run `job`, which fails until `flag` exists, make `flag`, then repair the run's failed
    tasks, checking that the run failed and the repair succeeded; the run's id."""
    first = hw("run", str(job), *run_options)
    assert first.returncode == 1, first.stdout + first.stderr
    run_id = run_id_of(first.stdout)
    flag.touch()
    repaired = hw("runs", "repair", str(run_id), "--all-failed")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    return run_id


def test_a_failed_run_repaired_with_all_failed_ends_success(hw: Cli, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    ledger = tmp_path / "ledger"
    job = write_job(tmp_path / "repair.json", [
        shell("extract", f"echo extract >> {ledger}"),
        shell("load", f"echo load >> {ledger}; test -e {flag}", "extract"),
        shell("report", f"echo report >> {ledger}", "load"),
    ])
    run_id = fails_then_is_repaired(hw, job, flag)
    document = run_document(hw, run_id)
    assert document["state"]["result_state"] == "SUCCESS"
    history = document["repair_history"]
    assert [entry["type"] for entry in history] == ["ORIGINAL", "REPAIR"]
    assert history[0]["state"]["result_state"] == "FAILED"
    assert history[1]["state"]["result_state"] == "SUCCESS"
    # The succeeded task was not rerun; the failed one and the one it skipped were.
    assert ledger.read_text().split() == ["extract", "load", "load", "report"]


def test_resume_after_kill_9_finishes_without_rerunning_finished_tasks(tmp_path: Path,
                                                                        hw: Cli) -> None:
    ledger = tmp_path / "ledger"
    # A lost attempt counts as a failed attempt (docs/semantics.md): one retry covers it.
    tasks = [shell(f"t{i}", f"echo t{i} >> {ledger}; sleep 0.3", *([f"t{i - 1}"] if i else []),
                   max_retries=1)
             for i in range(12)]
    job = write_job(tmp_path / "chain.json", tasks)
    proc = start_background(tmp_path, "run", str(job))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ledger.exists() and len(ledger.read_text().split()) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = hw("runs", "resume", "1")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    document = run_document(hw, 1)
    assert document["state"]["result_state"] == "SUCCESS"
    executions = ledger.read_text().split()
    # The kill may fall while a task runs (its attempt is lost, then retried) or between two
    # tasks (nothing is lost): at most one attempt is lost, and it failed.
    lost = [t for t in document["tasks"] if "lost" in t["state"]["state_message"]]
    assert len(lost) <= 1 and all(t["state"]["result_state"] == "FAILED" for t in lost)
    for i in range(12):
        attempts = [t for t in document["tasks"] if t["task_key"] == f"t{i}"]
        # A task that succeeded ran exactly once; a lost one ran twice (lost, then retried).
        assert executions.count(f"t{i}") == len(attempts), (i, executions)
        assert len(attempts) == (2 if any(t["task_key"] == f"t{i}" for t in lost) else 1)


def test_a_for_each_over_5000_items_completes(hw: Cli, tmp_path: Path) -> None:
    items = json.dumps(list(range(5000)))
    loop = {"task_key": "loop", "for_each_task": {
        "inputs": items, "concurrency": 50,
        "task": {"task_key": "item", "shell_command_task": {"command": "true"}}}}
    job = write_job(tmp_path / "loop.json", [loop])
    result = hw("run", str(job), "--max-parallel", "50", timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    document = run_document(hw, run_id_of(result.stdout))
    stats = document["tasks"][0]["for_each_task"]["stats"]["task_run_stats"]
    assert stats == {"total_iterations": 5000, "scheduled_iterations": 5000,
                     "active_iterations": 0, "completed_iterations": 5000,
                     "succeeded_iterations": 5000, "failed_iterations": 0}


def test_a_repair_can_change_a_parameter_and_logs_reach_iterations(hw: Cli, tmp_path: Path) -> None:
    # Given a run that failed because of a parameter (the Lab's simulated failure)
    loop = {"task_key": "loop", "depends_on": [{"task_key": "ingest"}], "for_each_task": {
        "inputs": '["a", "b"]', "task": {"task_key": "item", "shell_command_task": {
            "command": 'echo "item $ITEM"', "env": {"ITEM": "{{input}}"}}}}}
    job = write_job(tmp_path / "job.json", [
        shell("ingest", '[ "$HEADWATER_PARAM_SIMULATE_FAILURE" != true ]'), loop],
        parameters=[{"name": "simulate_failure", "default": "false"}])
    first = hw("run", str(job), "--param", "simulate_failure=true")
    assert first.returncode == 1
    run_id = run_id_of(first.stdout)
    # When it is repaired with the parameter switched off
    repaired = hw("runs", "repair", str(run_id), "--all-failed", "--param",
                  "simulate_failure=false")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"Repair 1 of run {run_id} ended SUCCESS" in repaired.stdout
    document = run_document(hw, run_id)
    assert {p["name"]: p["value"] for p in document["job_parameters"]} == {
        "simulate_failure": "false"}
    # Then each iteration's log can be read
    for index, item in enumerate(["a", "b"]):
        log = hw("runs", "logs", str(run_id), "loop", "--iteration", str(index), check=True)
        assert log.stdout.strip() == f"item {item}"
    text = hw("runs", "get", str(run_id), check=True).stdout
    assert re.search(r"repair 1 +attempt 0", text) and "[2/2 iterations succeeded]" in text


def test_cancelling_one_task_run_by_its_id_leaves_the_others_running(hw: Cli,
                                                                     tmp_path: Path) -> None:
    started = tmp_path / "started"
    job = write_job(tmp_path / "job.json", [
        shell("slow", f"touch {started}; sleep 60"),
        shell("quick", "sleep 1"),
    ])
    proc = start_background(tmp_path, "run", str(job))
    wait_for(started)
    slow = next(t for t in run_document(hw, 1)["tasks"] if t["task_key"] == "slow")
    assert hw("runs", "cancel", str(slow["run_id"])).returncode == 0
    proc.communicate(timeout=60)
    results = {t["task_key"]: t["state"]["result_state"] for t in run_document(hw, 1)["tasks"]}
    assert results == {"slow": "CANCELED", "quick": "SUCCESS"}


def test_a_repair_keeps_the_run_s_parameter_values_unless_given_others(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run started with an override, that failed for another reason (a missing file)
    flag = tmp_path / "ready"
    job = write_job(tmp_path / "job.json", [
        shell("load", f'[ "$HEADWATER_PARAM_TABLE" = orders ] && test -e {flag}')],
        parameters=[{"name": "table", "default": "customers"}])
    # When it is repaired without parameters
    run_id = fails_then_is_repaired(hw, job, flag, "--param", "table=orders")

    # Then the repair ran with the run's value, not the default
    document = run_document(hw, run_id)
    assert {p["name"]: p["value"] for p in document["job_parameters"]} == {"table": "orders"}
