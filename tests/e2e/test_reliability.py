"""Faults a user can cause by hand, through the real CLI: nothing reports success that was not
stored."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Cli, shell, write_job


def test_removing_the_state_folder_under_a_run_stops_it_saying_so(tmp_path: Path) -> None:
    started, gate = tmp_path / "started", tmp_path / "gate"
    job = write_job(tmp_path / "job.json", [
        shell("a", f"touch {started}; while [ ! -e {gate} ]; do sleep 0.05; done"),
        shell("b", "echo b", "a")], name="doomed")
    run = subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job)], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    shutil.rmtree(tmp_path / ".headwater")  # what `rm -rf .headwater` does under a run
    gate.touch()
    out, err = run.communicate(timeout=120)

    assert run.returncode == 1, out + err
    assert "ended SUCCESS" not in out
    assert "headwater.db was removed while this process used it" in err
    assert "Traceback" not in err


def start_gated_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """`headwater run` of a job whose first task waits for a gate file, once that task runs;
    a cleanup task (ALL_DONE) follows it. The process and the gate."""
    started, gate = tmp_path / "started", tmp_path / "gate"
    job = write_job(tmp_path / "job.json", [
        shell("wait", f"touch {started}; while [ ! -e {gate} ]; do sleep 0.05; done"),
        shell("cleanup", f"echo cleaned >> {tmp_path / 'cleanup.log'}", "wait",
              run_if="ALL_DONE")], name="gated")
    run = subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job)], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return run, gate


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_to_headwater_run_cancels_the_run_and_cleanup_runs(
        hw: Cli, tmp_path: Path, signum: int) -> None:
    run, _ = start_gated_run(tmp_path)

    run.send_signal(signum)
    out, err = run.communicate(timeout=120)
    got = hw("runs", "get", "1", check=True).stdout

    assert run.returncode == 1, out + err
    assert "cancelling run 1" in err
    assert "ended CANCELED" in out
    assert got.splitlines()[0] == "Run 1 of 'gated': TERMINATED CANCELED"
    assert (tmp_path / "cleanup.log").read_text() == "cleaned\n"


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler of its own for SIGTERM (Python installs none)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt"))
    return bool(int(caught, 16) >> (signal.SIGTERM - 1) & 1)


def test_resuming_a_queued_run_says_what_it_waits_for_and_sigterm_cancels_it(
        hw: Cli, tmp_path: Path) -> None:
    # Given a backfill of three runs, one at a time, that no engine drives: two wait in the
    # queue behind the first
    job = write_job(tmp_path / "job.json", [shell("a", "echo ran")], name="nightly")
    hw("jobs", "create", str(job), check=True)
    made = hw("jobs", "backfill", "1", "--from", "2026-03-01", "--to", "2026-03-03",
              check=True).stdout
    first, _, last = (line.split("\t")[0] for line in made.splitlines())

    # When the last is resumed, then stopped as a CI timeout stops a command
    resume = subprocess.Popen([sys.executable, "-m", "headwater", "runs", "resume", last],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 60
    while not catches_sigterm(resume.pid):  # following the run, ready to cancel it
        assert resume.poll() is None and time.monotonic() < deadline, resume.communicate()
        time.sleep(0.05)
    resume.send_signal(signal.SIGTERM)
    out, err = resume.communicate(timeout=60)

    # Then it said which runs it waited for and how to start them, and the run ended
    # CANCELED without running, the others left as they were
    assert f"is queued behind runs {first}, " not in out  # one run at a time: one ahead
    assert f"is queued behind run {first} (max_concurrent_runs)" in out, out + err
    assert f"`headwater runs resume {first}`" in out
    assert f"cancelling run {last}" in err
    assert f"Run {last} ended CANCELED" in out, out + err
    shown = hw("runs", "get", last, check=True).stdout
    assert shown.splitlines()[0] == f"Run {last} of 'nightly': TERMINATED CANCELED"
    assert "PENDING" in hw("runs", "get", first, check=True).stdout.splitlines()[0]


def test_a_second_signal_leaves_at_once_and_a_resume_ends_the_run_cancelled(
        hw: Cli, tmp_path: Path) -> None:
    started = tmp_path / "started"
    job = write_job(tmp_path / "job.json", [  # a task that ignores SIGTERM: the kill waits
        shell("stubborn", f"trap '' TERM; touch {started}; sleep 60")], name="stubborn")
    run = subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job)], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    run.send_signal(signal.SIGINT)  # cancel: the task gets SIGTERM, SIGKILL after 10 s
    time.sleep(1.0)
    run.send_signal(signal.SIGINT)  # leave now
    out, err = run.communicate(timeout=60)
    cancel = hw("runs", "cancel", "1")
    resumed = hw("runs", "resume", "1")

    assert run.returncode != 0 and "ended" not in out, out + err
    assert "no engine drives run 1 now" in cancel.stdout, cancel.stdout + cancel.stderr
    assert "ended CANCELED" in resumed.stdout, resumed.stdout + resumed.stderr


def test_a_fresh_store_on_a_used_home_runs_its_tasks_and_keeps_the_old_logs_aside(
        hw: Cli, tmp_path: Path) -> None:
    # Given run 1 of a job in this folder's home, then a fresh store (another --db: a new
    # or restored database numbers its runs from 1 again)
    job = write_job(tmp_path / "job.json", [shell("a", "echo ran >> ledger.txt; echo first")])
    hw("run", str(job), check=True)
    old_log = tmp_path / ".headwater" / "logs" / "1" / "a" / "attempt-0" / "output.log"
    assert old_log.read_text() == "first\n"

    # When the same job runs as run 1 of the fresh store
    write_job(job, [shell("a", "echo ran >> ledger.txt; echo second")])
    again = hw("run", str(job), "--db", str(tmp_path / "fresh.db"), check=True)

    # Then its task ran (not the old run's result taken for it), and the old logs are kept
    assert "Run 1 ended SUCCESS" in again.stdout + again.stderr
    assert (tmp_path / "ledger.txt").read_text() == "ran\nran\n"
    assert old_log.read_text() == "second\n"
    [stale] = (tmp_path / ".headwater" / "logs" / "stale").iterdir()
    assert stale.name.startswith("1-")
    assert (stale / "a" / "attempt-0" / "output.log").read_text() == "first\n"
    assert "moved it to" in again.stderr


STARTED = "touch started"  # what a task of `orphan_a_run` does first


def orphan_a_run(tmp_path: Path, task: dict[str, object], **job_fields: object) -> None:
    """Run 1: a job of `task`, whose `headwater run` is killed once the task has started and
    its start is stored (within 50 ms); the task lives on, and no engine drives the run."""
    job = write_job(tmp_path / "job.json", [task], name="orphaned", **job_fields)
    run = subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job)], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)
    time.sleep(0.5)
    run.kill()
    run.wait(timeout=30)


def wait_for_an_exit_record(tmp_path: Path) -> None:
    """Until the attempt's parent has recorded how the task ended."""
    deadline = time.monotonic() + 60
    while not list((tmp_path / ".headwater").rglob("exit.json")):
        assert time.monotonic() < deadline, "the task's exit was never recorded"
        time.sleep(0.05)


@pytest.mark.parametrize(("ends", "result"), [("after", "CANCELED"), ("before", "SUCCESS")])
def test_a_cancel_asked_while_no_engine_drives_the_run_is_ordered_with_the_task_s_end(
        hw: Cli, tmp_path: Path, ends: str, result: str) -> None:
    # Given a run whose engine was killed while its one task waits for a file (the task lives
    # on)
    go = tmp_path / "go"
    orphan_a_run(tmp_path, shell("wait", f"{STARTED}; while [ ! -e {go} ]; do sleep 0.05; done"))

    # When the cancel is asked while the task still runs and the task ends afterwards, or the
    # task ends first (its exit recorded by its parent) and the cancel comes afterwards
    if ends == "before":
        go.touch()
        wait_for_an_exit_record(tmp_path)
    cancel = hw("runs", "cancel", "1")
    if ends == "after":
        go.touch()
        time.sleep(0.5)  # the task ends while no engine drives the run
    resumed = hw("runs", "resume", "1")

    # Then the engine that takes the run applies the two in the order they happened, as an
    # engine there all along would have: a cancel asked while the run was under way ends it
    # CANCELED; one asked after its last task had ended finds an ended run
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert f"ended {result}" in resumed.stdout, resumed.stdout + resumed.stderr


def test_a_task_s_timeout_holds_while_no_engine_drives_the_run(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run whose engine was killed while its task, with a 1 s timeout, runs on
    orphan_a_run(tmp_path, shell("slow", f"{STARTED}; sleep 30; echo finished",
                                 timeout_seconds=1))

    # When its timeout passes with no engine to stop it, and then an engine takes the run
    wait_for_an_exit_record(tmp_path)
    resumed = hw("runs", "resume", "1")

    # Then its own parent stopped it at its timeout (not after its 30 s: the log says), and
    # the run shows the attempt TIMEDOUT
    assert "slow [attempt 0] TERMINATED TIMEDOUT - Task timed out after 1 seconds." in \
        resumed.stdout, resumed.stdout
    assert "Run 1 ended FAILED" in resumed.stdout, resumed.stdout
    assert "finished" not in hw("runs", "logs", "1", "slow", check=True).stdout


SLOW = {"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 1}]}


def test_a_duration_threshold_crossed_while_no_engine_drives_the_run_is_warned_of(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run, over 1 s a warning for it and its task, whose engine was killed while
    # its task runs on for 3 s
    warned = {"on_duration_warning_threshold_exceeded": ["oncall@example.com"]}
    orphan_a_run(tmp_path, shell("slow", f"{STARTED}; sleep 3", health=SLOW,
                                 email_notifications=warned),
                 health=SLOW, email_notifications=warned)

    # When both thresholds pass, and the task ends, with no engine; then one takes the run
    wait_for_an_exit_record(tmp_path)
    resumed = hw("runs", "resume", "1")

    # Then both warnings are queued, as an engine there all along would have queued them
    assert "Run 1 ended SUCCESS" in resumed.stdout, resumed.stdout + resumed.stderr
    listed = hw("notifications", "list", "--run", "1", check=True).stdout
    warnings = [line for line in listed.splitlines()
                if "on_duration_warning_threshold_exceeded" in line]
    assert len(warnings) == 2, listed  # the run's and the task's
