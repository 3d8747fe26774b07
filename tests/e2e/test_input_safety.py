"""What tasks and stores hand to the operator is safe to show and to open, through the real CLI:
escape sequences stay inert, a read-only store is read and never migrated, logs stream."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Cli, shell, write_job

# Retitles the window, clears the screen, and (C1 CSI) moves the cursor: all must stay inert.
HOSTILE = r"printf 'title\033]0;pwned\007 clear\033[2J csi\302\233H cr\rend\n'"


def test_escape_sequences_from_a_task_reach_the_terminal_as_text(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json",
                    [shell("noisy", HOSTILE + r"; printf 'bad\033[31m\n' >&2; exit 3")])

    ran = hw("run", str(job))
    logs = hw("runs", "logs", "1", "noisy", check=True).stdout
    raw = hw("runs", "logs", "1", "noisy", "--raw", check=True).stdout
    shown = hw("runs", "get", "1", check=True).stdout

    assert ran.returncode != 0
    for text in (ran.stdout + ran.stderr, logs, shown):
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert logs == "title^[]0;pwned^G clear^[[2J csi\\x9bH cr^Mend\nbad^[[31m\n"
    assert "\x1b]0;pwned\x07" in raw  # --raw keeps the bytes as written


def test_a_log_is_streamed_whole_by_runs_logs(hw: Cli, tmp_path: Path) -> None:
    # 3 MB of numbered lines: all of them come back, in order (read a chunk at a time)
    job = write_job(tmp_path / "job.json", [shell("chatty", "seq 1 400000")])
    hw("run", str(job), check=True)

    logs = hw("runs", "logs", "1", "chatty", check=True).stdout

    assert logs.splitlines() == [str(n) for n in range(1, 400001)]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user may enter (pytest's own tmp folder is its owner's only)."""
    directory = Path(tempfile.mkdtemp(prefix="hw-readonly-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def as_reader(store: Path) -> list[str]:
    """Make `store` read-only for the CLI: as root, by running it as `nobody`; else by mode."""
    if os.geteuid() == 0:
        store.chmod(0o755)
        for file in store.iterdir():
            file.chmod(0o755 if file.is_dir() else 0o644)
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    for file in store.iterdir():
        file.chmod(0o444) if file.is_file() else None
    store.chmod(0o555)
    return []


def test_a_read_only_store_is_read_and_never_written(hw: Cli, shared_dir: Path) -> None:
    job = write_job(shared_dir / "job.json", [shell("a", "echo hello")], name="ro")
    hw("run", str(job), check=True, cwd=shared_dir)
    store = shared_dir / ".headwater"
    database = store / "headwater.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    prefix = as_reader(store)

    def reader(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(shared_dir), "LANG": "C.UTF-8"}
        return subprocess.run([*prefix, sys.executable, "-m", "headwater", *args],
                              cwd=shared_dir, env=env, capture_output=True, text=True,
                              timeout=120)

    listed, got, ran = reader("runs", "list"), reader("runs", "get", "1"), reader("run", "job.json")

    assert listed.returncode == 0 and "ro" in listed.stdout, listed.stderr
    assert got.returncode == 0 and "TERMINATED SUCCESS" in got.stdout, got.stderr
    assert ran.returncode != 0
    assert f"the state store {database} is read-only for this user" in ran.stderr
    assert "Traceback" not in ran.stderr + listed.stderr
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in store.iterdir()) == ["audit-anchor.jsonl", "headwater.db", "logs"]


def test_a_task_that_prints_without_end_keeps_only_its_latest_output(
        hw: Cli, tmp_path: Path) -> None:
    # Given a 64 KiB cap, and a task printing 4 MB over a few seconds (caps are checked at
    # each lease renewal: a third of HEADWATER_LEASE_SECONDS)
    (tmp_path / "headwater.yml").write_text("logs: {max_bytes_per_attempt: 65536}\n")
    job = write_job(tmp_path / "job.json", [shell(
        "flood", "for i in $(seq 1 20); do seq -f \"$i-%g\" 1 30000; sleep 0.3; done; echo last")])

    hw("run", str(job), check=True, extra_env={"HEADWATER_LEASE_SECONDS": "3"})

    # Then what is kept on disk is bounded, it ends with the last line, and says what it dropped
    attempt = tmp_path / ".headwater" / "logs" / "1" / "flood" / "attempt-0"
    kept = sum(f.stat().st_size for f in attempt.glob("output.log*"))
    logs = hw("runs", "logs", "1", "flood", check=True).stdout
    assert kept < 1024 * 1024
    assert logs.startswith("[headwater: earlier output of this attempt was dropped")
    assert logs.endswith("20-30000\nlast\n")
