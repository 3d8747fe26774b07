"""Helpers for the runner tests that run real attempts: a context.json written the way
`headwater.engine.launcher` writes it, a real `LocalExecutor`, and the attempt's files read back."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from tests.executors.attempt_processes import LAUNCH

from headwater.core.taskvalues import parse_task_values
from headwater.engine.attempts import OUTPUT_LOG, RESULT, VALUES, write_context
from headwater.executors import LocalExecutor
from headwater.ports import AttemptKey, LaunchSpec, TaskContext, TaskExit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tasks"


def copy_fixtures(workdir: Path) -> Path:
    """The task fixtures copied into a job directory of their own."""
    shutil.copytree(FIXTURES, workdir, dirs_exist_ok=True)
    return workdir


def attempt_context(workdir: Path, task_key: str = "ingest", *,
                    job_parameters: dict[str, str] | None = None,
                    task_parameters: dict[str, str] | None = None,
                    task_values: dict[str, dict[str, Any]] | None = None) -> TaskContext:
    """A TaskContext with its attempt directory and context.json, as the engine prepares them."""
    directory = workdir / ".headwater" / "logs" / "41" / task_key / "attempt-0"
    write_context(directory, {
        "job_id": 7, "job_name": "lakeflow", "run_id": 41, "task_run_id": 4102,
        "task_key": task_key, "attempt_number": 0, "iteration": None,
        "job_parameters": job_parameters or {}, "task_parameters": task_parameters or {},
        "task_values": task_values or {},
    })
    return TaskContext(run_id=41, task_run_id=4102, task_key=task_key, attempt_number=0,
                       job_id=7, job_name="lakeflow", workdir=workdir,
                       log_path=directory / OUTPUT_LOG, parameters=job_parameters or {},
                       attempt_dir=directory)


def run_attempt(spec: LaunchSpec, timeout: float = 120.0) -> TaskExit:
    """Launch the spec on a real LocalExecutor and wait for its exit."""
    with LocalExecutor(launch=LAUNCH) as executor:
        executor.launch(AttemptKey(41, 1), spec)
        exits: list[TaskExit] = []
        deadline = time.monotonic() + timeout
        while not exits:
            assert time.monotonic() < deadline, f"no exit after {timeout}s"
            exits = executor.wait(1)
    return exits[0]


def result_of(context: TaskContext) -> dict[str, Any]:
    assert context.attempt_dir is not None
    path = context.attempt_dir / RESULT
    return json.loads(path.read_text()) if path.exists() else {}


def values_of(context: TaskContext) -> dict[str, object]:
    """The task values as the engine parses them (a refusal fails the test)."""
    assert context.attempt_dir is not None
    path = context.attempt_dir / VALUES
    parsed = parse_task_values(path.read_text() if path.exists() else "")
    assert isinstance(parsed, dict), parsed
    return parsed


def log_of(context: TaskContext) -> str:
    return context.log_path.read_text() if context.log_path.exists() else ""
