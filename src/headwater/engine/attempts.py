"""Where the files of one attempt live: the channel between an attempt's process and the engine.

Each attempt gets its own directory, handed to the process as `HEADWATER_ATTEMPT_DIR`:

    output.log      stdout and stderr, appended, never rewritten
    context.json    travels with the launch: ids, parameters, upstream values
    values.jsonl    task values the task sets: one {"key": ..., "value": ...} per line
    metrics.jsonl   figures the task records: one {"name": ..., "value": ...} per line
    result.json     a notebook's exit value, an error and its trace, a SQL result (by type)

and the executor's own records (see `headwater.executors`). The engine never reads them: what
the attempt left comes back with its exit. The names are the task side's
(`headwater.runtime.channel`), so both sides agree by construction.

Nothing global: two attempts never share a file, so a retry can never read a stale value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from headwater.core.runstate import TaskRun
from headwater.runtime.channel import CONTEXT, METRICS, RESULT, VALUES

OUTPUT_LOG = "output.log"
__all__ = ["CONTEXT", "METRICS", "OUTPUT_LOG", "RESULT", "VALUES", "attempt_dir", "log_path",
           "write_context"]


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
