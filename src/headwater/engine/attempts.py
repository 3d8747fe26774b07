"""The files of one attempt: the channel between an attempt's process and the engine.

Each attempt gets its own directory, handed to the process as `HEADWATER_ATTEMPT_DIR`:

    output.log      stdout and stderr, appended, never rewritten
    context.json    written by the engine before the start: ids, parameters, upstream values
    values.jsonl    task values the task sets: one {"key": ..., "value": ...} per line
    metrics.jsonl   figures the task records: one {"name": ..., "value": ...} per line
    result.json     a notebook's exit value, an error and its trace, a SQL result (by type)

Nothing global: two attempts never share a file, so a retry can never read a stale value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from headwater.core.runstate import TaskRun

OUTPUT_LOG = "output.log"
CONTEXT = "context.json"
VALUES = "values.jsonl"
METRICS = "metrics.jsonl"
RESULT = "result.json"


def attempt_dir(logs_dir: Path, run_id: int, run: TaskRun) -> Path:
    """`<logs>/<run>/<task>/[iteration-<i>/][repair-<r>-]attempt-<n>/`."""
    task_dir = logs_dir / str(run_id) / run.task_key
    if run.iteration is not None:
        task_dir = task_dir / f"iteration-{run.iteration}"
    repair = f"repair-{run.repair}-" if run.repair else ""
    return task_dir / f"{repair}attempt-{run.attempt_number}"


def log_path(logs_dir: Path, run_id: int, run: TaskRun) -> Path:
    """Where an attempt's stdout and stderr go."""
    return attempt_dir(logs_dir, run_id, run) / OUTPUT_LOG


def write_context(directory: Path, context: Mapping[str, object]) -> None:
    """Write context.json atomically (the task may start reading it at once)."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{CONTEXT}.tmp"
    temporary.write_text(json.dumps(context), encoding="utf-8")
    os.replace(temporary, directory / CONTEXT)


def read_text(directory: Path, name: str) -> str | None:
    """A file the attempt wrote, or None if it wrote none."""
    try:
        return (directory / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
