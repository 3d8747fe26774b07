"""`RunOutput` of a task run (Jobs API `runs/get-output`), from what its attempt left.

The notebook's exit value (first 5 MB; `{}` for a notebook that did not call
`dbutils.notebook.exit`, so that the SDK's `notebook_output.result` is None), the error and its
trace, a SQL result (all from the attempt's stored output), and for script, wheel and operator
tasks the last 5 MB of the attempt's stdout and stderr (read by the caller, which knows where
logs live). The rows of a SQL task and an operator's result are headwater's own: they go under
the `headwater` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.api.documents import planned_task, task_run_json
from headwater.core.spec_tasks import SqlTask
from headwater.errors import InvalidRequest
from headwater.ports import RunRecord

LOG_LIMIT = 5 * 1024 * 1024
NO_LOGS = frozenset({"notebook_task", "condition_task", "for_each_task"})
OUTPUT_KEYS = ("notebook_output", "error", "error_trace", "run_job_output")
# What only headwater has: under the `headwater` key, never in place of a Databricks field.
EXTENSION_KEYS = ("sql_output", "operator_output", "dbt_output")


def setup_durations(outputs: Mapping[int, Mapping[str, Any]]) -> dict[int, int]:
    """Milliseconds each attempt spent getting ready, by seq: waiting for its cluster to
    start (`cluster_setup_seconds`) and building its environment (`setup_seconds`)."""
    found: dict[int, int] = {}
    for seq, output in outputs.items():
        seconds = sum(value for name in ("cluster_setup_seconds", "setup_seconds")
                      if isinstance(value := output.get(name), int | float) and value > 0)
        if seconds > 0:
            found[seq] = int(seconds * 1000)
    return found


# What an attempt's output adds to its entry in `tasks[]`: `cluster_instance` for one that
# ran on a cluster (the cluster, and the worker that ran it as `spark_context_id`, with its
# address, pid and host), `git_source` for one that read its code from Git (the source as it
# read it, with the commit it used as `git_snapshot`).
ATTEMPT_FIELDS = ("cluster_instance", "git_source")


def attempt_fields(outputs: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """The `ATTEMPT_FIELDS` of each attempt's output, by seq."""
    found: dict[int, dict[str, Any]] = {}
    for seq, output in outputs.items():
        fields = {name: dict(value) for name in ATTEMPT_FIELDS
                  if isinstance(value := output.get(name), dict)}
        if fields:
            found[seq] = fields
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
    return planned_task(record, run).kind not in NO_LOGS


def run_output(record: RunRecord, seq: int, output: Mapping[str, Any],
               logs: tuple[str, bool] | None) -> dict[str, Any]:
    """The `RunOutput` document of one task run; `logs` is (text, truncated) when it has any."""
    run = record.state.task_runs[seq]
    task = planned_task(record, run)
    body: dict[str, Any] = {"metadata": output_metadata(record, task_run_json(record, run))}
    for key in OUTPUT_KEYS:
        if key in output:
            body[key] = output[key]
    if task.kind == "notebook_task" and "notebook_output" not in body:
        body["notebook_output"] = {}  # no exit value (yet): `result` is absent, not the field
    extension = {key: output[key] for key in EXTENSION_KEYS if key in output}
    if extension:
        body["headwater"] = extension
    if "sql_output" in output:
        body["sql_output"] = sql_output(task.spec.sql_task)
    if logs is not None:
        body["logs"], body["logs_truncated"] = logs
    if run.result is not None and not run.result.is_success and "error" not in body:
        body["error"] = run.message
    return body


def output_metadata(record: RunRecord, task_run: Mapping[str, Any]) -> dict[str, Any]:
    """`RunOutput.metadata`: a `Run` (the SDK reads it as one) of the task run, naming its job
    and holding the task run as its only task."""
    return {**task_run, "job_id": record.job.job_id, "run_name": record.job.name,
            "run_type": record.run_type, "creator_user_name": record.creator,
            "number_in_job": task_run["run_id"], "tasks": [dict(task_run)]}


def sql_output(task: SqlTask | None) -> dict[str, Any]:
    """`sql_output` in the Jobs API's shape: the query that ran and on which warehouse (the
    rows it returned are headwater's: `headwater.sql_output`)."""
    query: dict[str, Any] = {"sql_statements": []}
    if task is not None and task.query is not None and task.query.query_text:
        query["query_text"] = task.query.query_text
    if task is not None and task.file is not None:
        query["query_text"] = f"-- {task.file.path}"
    if task is not None and task.warehouse_id:
        query["warehouse_id"] = task.warehouse_id
    return {"query_output": query}
