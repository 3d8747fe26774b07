"""An .ipynb notebook task's kernel through the CLI, with real processes: a timeout kills the
kernel (and what it started) with the task."""

from __future__ import annotations

from pathlib import Path

import nbformat
import psutil

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of

STUCK = [
    "import os, subprocess, time\n"
    "child = subprocess.Popen(['sleep', '300'])\n"
    "open('pids', 'w').write(f'{os.getpid()} {child.pid}')",
    "time.sleep(300)",
]


def test_a_timeout_kills_an_ipynb_task_and_its_kernel(hw: Cli, tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in STUCK]  # type: ignore[no-untyped-call]
    nbformat.write(notebook, tmp_path / "stuck.ipynb")  # type: ignore[no-untyped-call]
    job = write_job(tmp_path / "timeout.json", [
        {"task_key": "stuck", "timeout_seconds": 5,
         "notebook_task": {"notebook_path": "stuck.ipynb"}}])

    result = hw("run", str(job))

    assert result.returncode == 1, result.stdout + result.stderr
    task = run_document(hw, run_id_of(result.stdout))["tasks"][0]
    assert task["state"]["result_state"] == "TIMEDOUT"
    recorded = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
    assert len(recorded) == 2  # the kernel, and the process it started
    survivors = [pid for pid in recorded if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
