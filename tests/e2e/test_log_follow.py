"""`headwater runs logs --follow` prints a task's log as it grows, through its retries, and
ends with the task: the real CLI, a real run in another process."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from tests.child_env import child_env
from tests.servers import wait_for

from .conftest import write_job

# Prints a line, waits for the test's gate file, prints another; fails on its first attempt.
GATED = """\
import os, sys, time
attempt = "second" if os.path.exists("tried") else "first"
open("tried", "w").close()
print(f"{attempt} attempt begins", flush=True)
while not os.path.exists(f"gate-{attempt}"):
    time.sleep(0.05)
print(f"{attempt} attempt ends", flush=True)
sys.exit(1 if attempt == "first" else 0)
"""


def headwater(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "headwater", *args], cwd=tmp_path,
                            env=child_env("DATABRICKS_"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_follow_prints_the_log_as_it_grows_through_a_retry_and_ends_with_the_task(
        tmp_path: Path) -> None:
    (tmp_path / "gated.py").write_text(GATED)
    job = write_job(tmp_path / "job.json", [{
        "task_key": "gated", "max_retries": 1,
        "spark_python_task": {"python_file": str(tmp_path / "gated.py")}}])
    run = headwater(tmp_path, "run", str(job))
    wait_for(lambda: (tmp_path / "tried").exists(), what="the first attempt to start")

    follower = headwater(tmp_path, "runs", "logs", "1", "gated", "--follow")
    lines: list[str] = []
    assert follower.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout or []), daemon=True)
    reader.start()
    try:
        wait_for(lambda: "first attempt begins\n" in lines, what="the first line, followed")
        assert follower.poll() is None  # the task goes on: so does following it
        (tmp_path / "gate-first").touch()
        wait_for(lambda: "second attempt begins\n" in lines, what="the retry, followed")
        (tmp_path / "gate-second").touch()
        assert follower.wait(timeout=60) == 0
        reader.join(timeout=10)
    finally:
        for process in (follower, run):
            if process.poll() is None:
                process.kill()
    assert run.wait(timeout=60) == 0
    assert lines == ["first attempt begins\n", "first attempt ends\n",
                     "--- attempt 0 ended FAILED: The task's process exited with code 1; its "
                     "last output line: first attempt ends ---\n", "--- attempt 1 ---\n",
                     "second attempt begins\n", "second attempt ends\n",
                     "--- attempt 1 ended SUCCESS ---\n"]
