"""Resolving dynamic value references (`{{job.run_id}}`, `{{tasks.t.values.v}}`, `{{input.id}}`)
against what is known about one run and one attempt.

Lakeflow's rules, which `resolve` follows:

- the result is always a string, and substitution is single-pass: a value that itself
  contains `{{...}}` (a job parameter, a task value, a for-each element) is inserted as it is
  and never expanded again;
- user identifiers may be wrapped in backticks: ``{{job.parameters.`run-date`}}``;
- a syntax error (a missing brace) or a namespace Lakeflow does not know stays literal text;
- a reference inside a known namespace that names nothing, or cannot be resolved now, raises
  `ReferenceError` naming the reference and saying why.

Values: a task value or a for-each element that is a JSON string resolves to the bare string;
numbers, booleans and null to their JSON text; objects and arrays to compact JSON.
`{{job.trigger.type}}` and `{{tasks.<key>.result_state}}` are lower case, like Databricks.
headwater choices: `{{tasks.<key>.error_code}}` is "" for a task without an error code, and
time arguments are formatted as `core/refs_time.py` documents (UTC, `iso_datetime` with
milliseconds and `Z`, unpadded components). Syntax and the catalogue of names live in
`core/refs_syntax.py` and are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.core.refs_syntax import (
    DEPRECATED,
    KNOWN_NAMESPACES,
    Reference,
    did_you_mean,
    find_references,
    iter_braces,
    malformed_references,
    shape_problem,
)
from headwater.core.refs_time import TIME_ARGUMENTS, format_time
from headwater.core.states import ResultState
from headwater.core.trigger_info import normal_table
from headwater.errors import HeadwaterError

__all__ = [
    "DEPRECATED",
    "KNOWN_NAMESPACES",
    "TIME_ARGUMENTS",
    "RefContext",
    "Reference",
    "ReferenceError",
    "TaskFacts",
    "find_references",
    "malformed_references",
    "resolve",
    "shape_problem",
]

NO_TASK = "there is no current task here: job parameter defaults are resolved before any task"


class ReferenceError(HeadwaterError):  # shadows the builtin on purpose: import it by name
    """Raised when a reference in a known namespace names nothing or cannot be resolved now."""

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, reference: str, reason: str) -> None:
        self.reference, self.reason = reference, reason
        super().__init__(f"{reference}: {reason}")


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """What `{{tasks.<key>...}}` can see of a task's latest attempt."""

    run_id: int
    result_state: str | None  # upper-case `ResultState` value; None while not terminal
    error_code: str | None
    execution_count: int
    values: Mapping[str, str]  # task values, each as its JSON text
    # A SQL task's `sql_output` (columns, rows as lists, truncated); None for other tasks
    sql_output: Mapping[str, Any] | None = None
    is_sql: bool = False


@dataclass(frozen=True, slots=True)
class RefContext:
    """Everything a reference may name, for one attempt (or for the run: `task_key` None)."""

    job_id: int
    job_name: str
    run_id: int
    repair_count: int
    start_time: datetime  # aware UTC
    trigger_type: str  # `TriggerType` value: ONE_TIME, PERIODIC, RUN_JOB_TASK, ...
    trigger_time: datetime | None
    file_arrival_location: str | None
    parameters: Mapping[str, str]  # job parameters
    tasks: Mapping[str, TaskFacts]
    task_key: str | None
    task_run_id: int | None
    execution_count: int  # runs of the current task, retries and repairs included; 1 at first
    retry_count: int  # 0 on the first attempt
    input: str | None  # JSON text of the current for-each element
    workspace_id: str
    workspace_url: str
    notebook_path: str | None
    backfill_time: datetime | None = None  # the time a backfill run replays
    table_update: Mapping[str, Any] | None = None  # `trigger_info.table_update` of its run


class _Unresolved(Exception):
    """Why a well-shaped reference has no value in this context."""


def resolve(text: str, context: RefContext) -> str:
    """`text` with every reference substituted once, from left to right.

    Args:
        text: a field value such as `"--day={{job.start_time.iso_date}}"`.
        context: what the run and the current attempt know.

    Returns:
        The text with known references replaced; unknown namespaces and syntax errors are
        left as written, and substituted values are never scanned again.

    Raises:
        ReferenceError: for the first reference in a known namespace that cannot be resolved.
    """
    if "{{" not in text:
        return text
    pieces: list[str] = []
    position = 0
    for match, reference in iter_braces(text):
        pieces.append(text[position : match.start()])
        pieces.append(match.group(0) if reference is None else _value(reference, context))
        position = match.end()
    pieces.append(text[position:])
    return "".join(pieces)


def _value(reference: Reference, context: RefContext) -> str:
    if not reference.is_known:
        return reference.raw
    problem = shape_problem(reference)
    if problem is None:
        namespace = reference.namespace
        try:
            if namespace in _DEPRECATED:
                return _DEPRECATED[namespace](context)
            return _RESOLVERS[namespace](reference.parts, context)
        except _Unresolved as unresolved:
            problem = str(unresolved)
    raise ReferenceError(reference.raw, problem)


def _need(value: str | int | None, why: str) -> str:
    if value is None:
        raise _Unresolved(why)
    return str(value)


def _json_text(text: str) -> str:
    """A JSON string as the bare string; anything else as compact JSON."""
    return _render(_parse(text))


def _parse(text: str) -> object:
    """The JSON value of `text`; text that is not JSON is taken as a plain string."""
    try:
        value: object = json.loads(text)
    except ValueError:
        return text
    return value


def _render(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _job(parts: tuple[str, ...], context: RefContext) -> str:
    head = parts[0]
    if head == "start_time":
        return format_time(context.start_time, parts[1])
    if head == "trigger":
        return _trigger(parts[1:], context)
    if head == "parameters":
        name = parts[1]
        if name not in context.parameters:
            raise _Unresolved(f"no job parameter {name!r}{did_you_mean(name, context.parameters)}")
        return context.parameters[name]
    fixed = {
        "id": context.job_id,
        "name": context.job_name,
        "run_id": context.run_id,
        "repair_count": context.repair_count,
    }
    return str(fixed[head])


def _trigger(parts: tuple[str, ...], context: RefContext) -> str:
    if parts[0] == "type":
        return context.trigger_type.lower()
    if parts[0] == "time":
        time = context.trigger_time
        if time is None:
            raise _Unresolved(
                f"this run has no trigger time (trigger: {context.trigger_type.lower()}); only "
                "runs fired by a schedule or a periodic trigger have one; use "
                "{{job.start_time.<arg>}} instead"
            )
        return format_time(time, parts[1])
    if parts[0] == "table_update":
        return _table_update(parts[1:], context)
    return _need(context.file_arrival_location, "this run was not started by a file arrival")


def _table_update(parts: tuple[str, ...], context: RefContext) -> str:
    """`updated_tables` (a JSON list), `<table>.version`, `<table>.commit_timestamp.<arg>`:
    the table's name may have dots in it, as in `main.bronze.orders`."""
    update = context.table_update
    if update is None:
        raise _Unresolved("this run was not started by a table update")
    if parts == ("updated_tables",):
        return _render(list(update.get("updated_tables", [])))
    field_at = -1 if parts[-1] == "version" else -2
    name = normal_table(".".join(parts[:field_at]))
    table = (update.get("tables") or {}).get(name)
    if table is None:
        updated = ", ".join(update.get("updated_tables", []))
        raise _Unresolved(f"table {name!r} is not among the tables whose update started this "
                          f"run ({updated})")
    if field_at == -1:
        return str(table["version"])
    stamp = table.get("commit_timestamp")
    if stamp is None:
        raise _Unresolved(f"the commit log has no time for table {name!r}")
    return format_time(datetime.fromisoformat(stamp), parts[-1])


def _backfill(parts: tuple[str, ...], context: RefContext) -> str:
    time = context.backfill_time
    if time is None:
        raise _Unresolved("this run is not part of a backfill; start one with `headwater jobs "
                          "backfill`, or use {{job.start_time.<arg>}}")
    return format_time(time, parts[0])


def _task(parts: tuple[str, ...], context: RefContext) -> str:
    key = _need(context.task_key, NO_TASK)
    field = parts[0]
    if field == "name":
        return key
    if field == "run_id":
        return _need(context.task_run_id, f"task {key!r} has no run id yet")
    if field == "execution_count":
        return str(context.execution_count)
    return _need(context.notebook_path, f"task {key!r} is not a notebook_task")


def _tasks(parts: tuple[str, ...], context: RefContext) -> str:
    key, field = parts[0], parts[1]
    facts = context.tasks.get(key)
    if facts is None:
        raise _Unresolved(
            f"task {key!r} has not run in this job run{did_you_mean(key, context.tasks)}; "
            "a task can read only tasks it depends on (depends_on)"
        )
    if field == "values":
        name = parts[2]
        if name not in facts.values and _never_ran(facts):
            fix = ("; depend on the condition outcome that runs it too, so that this task is "
                   "excluded with it") if facts.result_state == ResultState.EXCLUDED else ""
            raise _Unresolved(f"task {key!r} ended {facts.result_state} without running, so "
                              f"it set no values{fix}")
        if name not in facts.values:
            hint = did_you_mean(name, facts.values)
            raise _Unresolved(f"task {key!r} has not set a value named {name!r}{hint}")
        return _json_text(facts.values[name])
    if field == "result_state":
        state = _need(facts.result_state, f"task {key!r} has not finished")
        return state.lower()
    if field == "error_code":
        return facts.error_code or ""
    if field == "output":
        return _sql_output(key, parts[2:], facts)
    return str(facts.run_id if field == "run_id" else facts.execution_count)


def _never_ran(facts: TaskFacts) -> bool:
    """The task ended without running (excluded, upstream failed, disabled)."""
    return facts.result_state is not None and not ResultState(facts.result_state).ran


def _sql_output(key: str, parts: tuple[str, ...], facts: TaskFacts) -> str:
    """`rows` (a JSON array of objects, one per row), `first_row` (an object) or
    `first_row.<column>`, from what the SQL task's query returned (at most 1000 rows)."""
    if not facts.is_sql:
        raise _Unresolved(f"task {key!r} is not a sql_task: only a SQL task has an output; "
                          "have the task set a task value and read {{tasks.<key>.values.<name>}}")
    output = facts.sql_output
    if output is None:
        raise _Unresolved(f"task {key!r} left no output: it has not succeeded, or its "
                          "statement returned no result set")
    columns = list(output.get("columns", []))
    rows = [dict(zip(columns, row, strict=False)) for row in output.get("rows", [])]
    if parts[0] == "rows":
        return _render(rows)
    if not rows:
        raise _Unresolved(f"the query of task {key!r} returned no rows, so it has no first_row")
    if len(parts) == 1:
        return _render(rows[0])
    column = parts[1]
    if column not in rows[0]:
        raise _Unresolved(f"the query of task {key!r} has no column {column!r}"
                          f"{did_you_mean(column, columns)}; its columns: {', '.join(columns)}")
    return _render(rows[0][column])


def _input(parts: tuple[str, ...], context: RefContext) -> str:
    text = _need(context.input, "only the nested task of a for_each_task has an input")
    element = _parse(text)
    for depth, field in enumerate(parts):
        where = "the element" if depth == 0 else f"input.{'.'.join(parts[:depth])}"
        if not isinstance(element, dict):
            raise _Unresolved(f"{where} is not a JSON object, so it has no field {field!r}: "
                              f"{_shorten(_render(element))}")
        if field not in element:
            raise _Unresolved(f"{where} has no field {field!r}{did_you_mean(field, element)}")
        element = element[field]
    return _render(element)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _workspace(parts: tuple[str, ...], context: RefContext) -> str:
    return context.workspace_id if parts[0] == "id" else context.workspace_url


def _task_retry_count(context: RefContext) -> str:
    _need(context.task_key, NO_TASK)
    return str(context.retry_count)


_DEPRECATED: dict[str, Callable[[RefContext], str]] = {
    "job_id": lambda context: str(context.job_id),
    "run_id": lambda context: _need(context.task_run_id, NO_TASK),  # the TASK run id
    "parent_run_id": lambda context: str(context.run_id),
    "start_date": lambda context: format_time(context.start_time, "iso_date"),
    "start_time": lambda context: format_time(context.start_time, "timestamp_ms"),
    "task_retry_count": _task_retry_count,
    "task_key": lambda context: _need(context.task_key, NO_TASK),
}
_RESOLVERS: dict[str, Callable[[tuple[str, ...], RefContext], str]] = {
    "job": _job,
    "task": _task,
    "tasks": _tasks,
    "input": _input,
    "workspace": _workspace,
    "backfill": _backfill,
}
