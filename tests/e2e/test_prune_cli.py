"""`headwater runs prune` through the real CLI: what it removes, what it prints, a dry run.

The run's end is moved back in the SQLite file (time is data: no waiting 30 days), then the
command prunes it from the store and its folder from the logs.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.conftest import Cli, shell, write_job


def age_run(home: Path, run_id: int, days: int) -> None:
    """Make run `run_id` look as if it ended `days` days ago."""
    ended = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    with sqlite3.connect(home / "headwater.db") as conn:
        conn.execute("UPDATE runs SET end_time = ? WHERE run_id = ?", (ended, run_id))


def test_runs_prune_removes_old_runs_and_their_logs_and_a_dry_run_nothing(
        hw: Cli, tmp_path: Path) -> None:
    # Given two finished runs, the first 40 days old (kept by the default 60-day retention)
    job = write_job(tmp_path / "job.json", [shell("hello", "echo hello")])
    hw("run", str(job), check=True)
    age_run(tmp_path / ".headwater", 1, days=40)
    hw("run", str(job), check=True)
    listed = hw("runs", "list", check=True).stdout
    assert listed.count("SUCCESS") == 2
    folder = tmp_path / ".headwater" / "logs" / "1"
    assert folder.is_dir()

    # When an operator asks first for a dry run of pruning what ended over 30 days ago
    dry = hw("runs", "prune", "--older-than-days", "30", "--dry-run", check=True).stdout

    # Then it says what would go and removes nothing
    assert dry.startswith("Would remove 1 run (1 task run) that ended before ")
    assert "and 1 folder of logs (" in dry and " bytes)" in dry
    assert hw("runs", "list", check=True).stdout.count("SUCCESS") == 2

    # When the operator prunes for real
    done = hw("runs", "prune", "--older-than-days", "30", check=True).stdout

    # Then the old run and its folder are gone, with a clear message when it is asked for
    assert done.startswith("Removed 1 run (1 task run) that ended before ")
    assert folder.exists() is False
    assert hw("runs", "list", check=True).stdout.count("SUCCESS") == 1
    gone = hw("runs", "get", "1")
    assert gone.returncode == 1
    assert "Run 1 does not exist" in gone.stderr and "Traceback" not in gone.stderr
    audit = hw("audit", "list", check=True).stdout
    assert "runs.pruned" in audit


def test_a_run_whose_logs_were_removed_reads_with_a_clear_message(hw: Cli,
                                                                  tmp_path: Path) -> None:
    # Given a run whose folder of logs was removed (by hand: pruning removes rows first)
    job = write_job(tmp_path / "job.json", [shell("hello", "echo hello")])
    hw("run", str(job), check=True)
    shutil.rmtree(tmp_path / ".headwater" / "logs" / "1")

    # When its logs and the run are read
    logs = hw("runs", "logs", "1", "hello", check=True)
    got = hw("runs", "get", "1", check=True)

    # Then the reader is told, with no traceback
    assert "its log was removed" in logs.stderr and "Traceback" not in logs.stderr
    assert "SUCCESS" in got.stdout


def test_runs_prune_refuses_less_than_a_day(hw: Cli) -> None:
    refused = hw("runs", "prune", "--older-than-days", "0")
    assert refused.returncode == 2  # click's usage error
    assert "--older-than-days" in refused.stderr and "Traceback" not in refused.stderr
