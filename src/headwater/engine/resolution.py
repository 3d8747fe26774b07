"""Resolving an attempt's parameters: job parameters pushed down, references substituted.

Lakeflow's rules: job parameters are pushed down to the key/value-parameter tasks (notebook
`base_parameters`, wheel `named_parameters`, SQL `parameters`, run-job `job_parameters`) and
beat a task parameter of the same name; a wheel task with positional `parameters` takes its
arguments as a JSON array, so it gets none (it reads `{{job.parameters.<name>}}` instead, as a
script does); every parameter field may hold dynamic value
references, substituted once (single pass). A shell command is never substituted: its values
arrive as environment variables. The resolved fields are kept on the task run, the shape of
the Jobs API's `resolved_values`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from headwater.core.checks_refs import REFERENCE_FIELDS
from headwater.core.refs import RefContext, resolve
from headwater.core.refs_facts import SqlOutputs, execution_count, task_facts
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import Task
from headwater.core.trigger_info import backfill_time
from headwater.ports import RunRecord

Resolve = Callable[[str], str]

# Task type -> its key/value parameter field that job parameters are pushed down into.
PUSHED_DOWN = {
    "notebook_task": "base_parameters",
    "python_wheel_task": "named_parameters",
    "sql_task": "parameters",
    "run_job_task": "job_parameters",
}

def ref_context(record: RunRecord, state: RunState, ids: Mapping[int, int],
                run: TaskRun | None, parameters: Mapping[str, str],
                input_json: str | None = None,
                sql_outputs: SqlOutputs | None = None) -> RefContext:
    """Everything a reference may name, for one attempt (or for the run when `run` is None);
    `sql_outputs` reads what SQL tasks returned, for `{{tasks.<key>.output...}}`."""
    start = state.start_time
    assert start is not None
    host = socket.gethostname()
    return RefContext(
        job_id=record.job.job_id,
        job_name=record.job.name,
        run_id=record.run_id,
        repair_count=state.repair_count,
        start_time=start,
        trigger_type=record.trigger,
        trigger_time=_trigger_time(record),
        file_arrival_location=_file_arrival_location(record),
        parameters=parameters,
        tasks=task_facts(state, ids, sql_outputs),
        task_key=run.task_key if run else None,
        task_run_id=ids.get(run.seq) if run else None,
        execution_count=execution_count(state, run) if run else 0,
        retry_count=run.attempt_number if run else 0,
        input=input_json,
        workspace_id=host,
        workspace_url=f"headwater://{host}",
        notebook_path=_notebook_path(state, run),
        backfill_time=backfill_time(record.trigger_info),
        table_update=(record.trigger_info or {}).get("table_update"),
    )


def _notebook_path(state: RunState, run: TaskRun | None) -> str | None:
    """`{{task.notebook_path}}`: the path a notebook task names, as written; None for any
    other task (its reference is refused then, as validation refuses it)."""
    notebook = state.task_of(run).spec.notebook_task if run is not None else None
    return notebook.notebook_path if notebook is not None else None


def _trigger_time(record: RunRecord) -> datetime | None:
    """The logical time a schedule or periodic trigger fired the run at; for a backfill run,
    the time it replays (so a job written for its schedule backfills unchanged)."""
    info = record.trigger_info or {}
    if info.get("type") != "PERIODIC" or not info.get("time"):
        return backfill_time(info)
    return datetime.fromisoformat(str(info["time"]))


def _file_arrival_location(record: RunRecord) -> str | None:
    arrival = (record.trigger_info or {}).get("file_arrival")
    return str(arrival["location"]) if isinstance(arrival, dict) else None


def job_parameters(record: RunRecord, state: RunState, ids: Mapping[int, int]) -> dict[str, str]:
    """The run's job parameters with their own references resolved (once)."""
    raw = dict(record.parameters)
    if not raw:
        return raw
    context = ref_context(record, state, ids, None, raw)
    return {name: resolve(value, context) for name, value in raw.items()}


def resolve_task(task: Task, context: RefContext) -> tuple[Task, dict[str, Any]]:
    """The task with job parameters pushed down and references resolved, and what changed.

    Raises:
        ReferenceError: naming a reference that cannot be resolved.
    """
    kind = task.task_type
    payload = getattr(task, kind).model_dump(mode="json", exclude_none=True)
    pushed = PUSHED_DOWN.get(kind)
    if pushed is not None and not _positional_wheel(kind, payload):
        payload[pushed] = {**payload.get(pushed, {}), **context.parameters}
    resolved: dict[str, Any] = {}
    for name, shape in REFERENCE_FIELDS.get(kind, {}).items():
        if name in payload:
            payload[name] = _resolve_field(payload[name], shape, lambda t: resolve(t, context))
            resolved[name] = payload[name]
    new_task = task.model_copy(update={kind: type(getattr(task, kind)).model_validate(payload)})
    return new_task, ({kind: resolved} if resolved else {})


def _positional_wheel(kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether the task is a wheel task given positional `parameters` (keyword args only get
    job parameters)."""
    return kind == "python_wheel_task" and bool(payload.get("parameters"))


def _resolve_field(value: Any, shape: str, substitute: Resolve) -> Any:
    if shape == "map":
        return {k: substitute(str(v)) for k, v in value.items()}
    if shape == "list":
        return [substitute(str(v)) for v in value]
    if shape == "named":
        return [{**item, "value": substitute(str(item.get("value", "")))} for item in value]
    return substitute(str(value))


def task_parameters(task: Task) -> dict[str, str]:
    """The key/value parameters of a resolved task (a notebook's widgets, named parameters)."""
    kind = task.task_type
    field = PUSHED_DOWN.get(kind) or ("named_parameters" if kind == "python_wheel_task" else None)
    payload = getattr(task, kind).model_dump(mode="json", exclude_none=True)
    if kind == "python_operator_task":
        return {p["name"]: p.get("value", "") for p in payload.get("parameters", [])}
    return dict(payload.get(field, {})) if field else {}
