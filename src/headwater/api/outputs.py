"""`RunOutput` of a task run (Jobs API `runs/get-output`), from what its attempt left.

The notebook's exit value (first 5 MB), the error and its trace, a SQL result (all from the
attempt's stored output), and for script, wheel and operator tasks the last 5 MB of the
attempt's stdout and stderr (read by the caller, which knows where logs live).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.api.documents import task_run_json
from headwater.errors import InvalidRequest
from headwater.ports import RunRecord

LOG_LIMIT = 5 * 1024 * 1024
NO_LOGS = frozenset({"notebook_task", "condition_task", "for_each_task"})
OUTPUT_KEYS = ("notebook_output", "error", "error_trace", "sql_output", "operator_output",
               "run_job_output")


def setup_durations(outputs: Mapping[int, Mapping[str, Any]]) -> dict[int, int]:
    """Milliseconds each attempt spent building its environment (`setup_seconds`), by seq."""
    found: dict[int, int] = {}
    for seq, output in outputs.items():
        seconds = output.get("setup_seconds")
        if isinstance(seconds, int | float) and seconds > 0:
            found[seq] = int(seconds * 1000)
    return found


def output_seq(record: RunRecord, seq: int | None) -> int:
    """The task run whose output a `get-output` of `seq` (None: the job run) answers.

    Raises:
        InvalidRequest: for the job run of a multi-task job, as the Jobs API answers.
    """
    if seq is not None:
        return seq
    if len(record.state.latest) != 1:
        raise InvalidRequest(
            "Retrieving the output of runs with multiple tasks is not supported. Please "
            "retrieve the output of each individual task run instead.")
    return next(iter(record.state.latest.values()))


def wants_logs(record: RunRecord, seq: int) -> bool:
    """Whether the `RunOutput` of this task run carries its log (not for notebooks)."""
    run = record.state.task_runs[seq]
    return record.state.task_of(run).kind not in NO_LOGS


def run_output(record: RunRecord, seq: int, output: Mapping[str, Any],
               logs: tuple[str, bool] | None) -> dict[str, Any]:
    """The `RunOutput` document of one task run; `logs` is (text, truncated) when it has any."""
    run = record.state.task_runs[seq]
    body: dict[str, Any] = {"metadata": task_run_json(record, run)}
    for key in OUTPUT_KEYS:
        if key in output:
            body[key] = output[key]
    if logs is not None:
        body["logs"], body["logs_truncated"] = logs
    if run.result is not None and not run.result.is_success and "error" not in body:
        body["error"] = run.message
    return body
