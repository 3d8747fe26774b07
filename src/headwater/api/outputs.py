"""`RunOutput` of a task run (Jobs API `runs/get-output`), assembled from its attempt files.

The notebook's exit value (first 5 MB), the error and its trace, a SQL result, and for script,
wheel and operator tasks the last 5 MB of the attempt's stdout and stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from headwater.api.documents import task_run_json
from headwater.engine.attempts import OUTPUT_LOG, RESULT, attempt_dir, read_text
from headwater.errors import InvalidRequest
from headwater.ports import RunRecord

LOG_LIMIT = 5 * 1024 * 1024
NO_LOGS = frozenset({"notebook_task", "condition_task", "for_each_task"})


def read_result(directory: Path) -> dict[str, Any]:
    """The attempt's result.json, or {} when it wrote none (or wrote garbage)."""
    try:
        text = read_text(directory, RESULT)
        data = json.loads(text) if text else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def setup_durations(record: RunRecord, logs_dir: Path) -> dict[int, int]:
    """Milliseconds each attempt spent building its environment (`setup_seconds`), by seq."""
    found: dict[int, int] = {}
    for run in record.state.task_runs.values():
        if run.start_time is None:
            continue
        seconds = read_result(attempt_dir(logs_dir, record.run_id, run)).get("setup_seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            found[run.seq] = int(seconds * 1000)
    return found


def tail(path: Path, limit: int = LOG_LIMIT) -> tuple[str, bool]:
    """The last `limit` bytes of a log (decoded leniently) and whether it was cut."""
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            size = log.tell()
            log.seek(max(0, size - limit))
            data = log.read()
    except FileNotFoundError:
        return "", False
    return data.decode("utf-8", errors="replace"), size > limit


def run_output(record: RunRecord, seq: int | None, logs_dir: Path) -> dict[str, Any]:
    """The `RunOutput` document of one task run.

    Raises:
        InvalidRequest: for the job run of a multi-task job, as the Jobs API answers.
    """
    state = record.state
    if seq is None:
        if len(state.latest) != 1:
            raise InvalidRequest(
                "Retrieving the output of runs with multiple tasks is not supported. Please "
                "retrieve the output of each individual task run instead.")
        seq = next(iter(state.latest.values()))
    run = state.task_runs[seq]
    directory = attempt_dir(logs_dir, record.run_id, run)
    result = read_result(directory)
    body: dict[str, Any] = {"metadata": task_run_json(record, run)}
    for key in ("notebook_output", "error", "error_trace", "sql_output", "operator_output",
                "run_job_output"):
        if key in result:
            body[key] = result[key]
    if state.task_of(run).kind not in NO_LOGS:
        body["logs"], body["logs_truncated"] = tail(directory / OUTPUT_LOG)
    if run.result is not None and not run.result.is_success and "error" not in body:
        body["error"] = run.message
    return body
