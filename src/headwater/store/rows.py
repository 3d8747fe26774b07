"""Conversions between table rows and the core's types: `TaskRun`, `RunState`, `JobRecord`.

Pure functions over mappings: the only place that knows how a column maps to a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headwater.core.plan import Plan
from headwater.core.run_scope import RunScope
from headwater.core.runstate import LoopProgress, Repair, RunState, TaskRun
from headwater.core.states import LifeCycleState, ResultState, TerminationCode
from headwater.ports import JobRecord
from headwater.store.tables import dumps_instant, loads_instant

# A row read with `.mappings()`: SQLAlchemy's RowMapping is keyed by names or columns.
Row = Mapping[Any, Any]

# TaskRun fields stored as columns of the same name in `task_runs`, in table order.
TASK_RUN_FIELDS = (
    "seq", "task_key", "attempt_number", "life_cycle", "result", "message",
    "original_attempt_seq", "pending_since", "start_time", "end_time", "handle", "exit_code",
    "stop_reason", "condition_outcome", "iteration", "parent_seq", "repair", "resolved",
    "inputs",
)
# `TaskRun.values` is the column `task_values`; `TaskRun.loop` is the four `loop_*` columns.
LOOP_COLUMNS = ("loop_total", "loop_started", "loop_done", "loop_failed")
_NO_LOOP = dict.fromkeys(LOOP_COLUMNS)


def task_run_values(task_run: TaskRun) -> dict[str, Any]:
    """The `task_runs` columns of a task run (without `task_run_id` and `run_id`)."""
    values = {name: getattr(task_run, name) for name in TASK_RUN_FIELDS}
    for name in ("life_cycle", "result", "stop_reason"):
        if values[name] is not None:
            values[name] = str(values[name])
    values["task_values"] = task_run.values
    loop = task_run.loop
    if loop is None:
        values.update(_NO_LOOP)
    else:
        values.update(loop_total=loop.total, loop_started=loop.started, loop_done=loop.done,
                      loop_failed=loop.failed)
    return values


def task_run_from_row(row: Row) -> TaskRun:
    """The `TaskRun` stored in a `task_runs` row."""
    values = {name: row[name] for name in TASK_RUN_FIELDS}
    values["life_cycle"] = LifeCycleState(values["life_cycle"])
    values["result"] = _result_or_none(values["result"])
    values["stop_reason"] = _result_or_none(values["stop_reason"])
    values["values"] = row["task_values"]
    if row["loop_total"] is not None:
        values["loop"] = LoopProgress(
            total=row["loop_total"], started=row["loop_started"], done=row["loop_done"],
            failed=row["loop_failed"],
        )
    return TaskRun(**values)


def run_state_values(state: RunState) -> dict[str, Any]:
    """The `runs` columns that mirror a run's snapshot."""
    return {
        "life_cycle": str(state.life_cycle),
        "result": None if state.result is None else str(state.result),
        "message": state.message,
        "start_time": state.start_time,
        "end_time": state.end_time,
        "cancel_requested": state.cancel_requested,
        "timed_out": state.timed_out,
        "next_seq": state.next_seq,
        "repairs": [repair_to_dict(repair) for repair in state.repairs],
        "original_end_time": state.original_end_time,
        "termination_code": None if state.termination_code is None else
        str(state.termination_code),
    }


# RunScope's facts -> the `runs` columns that hold them (`only` is a reserved word in SQL).
SCOPE_COLUMNS = {"only": "only_tasks", "task_parameters": "task_parameters",
                 "timeout_seconds": "timeout_seconds"}


def scope_values(scope: RunScope) -> dict[str, Any]:
    """The `runs` columns of what a run changes of its job; none for a run of the whole job."""
    return {SCOPE_COLUMNS[name]: value for name, value in scope.facts().items()}


def scope_of(run: Row) -> RunScope:
    """What a stored run changes of its job."""
    only = run["only_tasks"]
    return RunScope(None if only is None else tuple(only), run["task_parameters"] or None,
                    run["timeout_seconds"])


def repair_to_dict(repair: Repair) -> dict[str, Any]:
    """A repair as a JSON object of the `runs.repairs` list, instants as UTC text."""
    return {
        "number": repair.number,
        "repair_id": repair.repair_id,
        "start_time": dumps_instant(repair.start_time),
        "end_time": None if repair.end_time is None else dumps_instant(repair.end_time),
        "result": None if repair.result is None else str(repair.result),
        "task_keys": list(repair.task_keys),
        **({} if repair.previous_version is None else
           {"previous_version": repair.previous_version}),
    }


def repair_from_dict(body: Mapping[str, Any]) -> Repair:
    """The `Repair` of one JSON object of `runs.repairs`."""
    end_time = body["end_time"]
    return Repair(
        number=body["number"],
        repair_id=body["repair_id"],
        start_time=loads_instant(body["start_time"]),
        end_time=None if end_time is None else loads_instant(end_time),
        result=_result_or_none(body["result"]),
        task_keys=tuple(body["task_keys"]),
        previous_version=body.get("previous_version"),
    )


def run_state_from_rows(
    plan: Plan, run: Row, task_rows: Iterable[Row]
) -> RunState:
    """Rebuild a snapshot: the run row, every task run, and the newest attempt per task."""
    task_runs = {row["seq"]: task_run_from_row(row) for row in task_rows}
    return RunState(
        plan=plan,
        life_cycle=LifeCycleState(run["life_cycle"]),
        result=_result_or_none(run["result"]),
        message=run["message"],
        start_time=run["start_time"],
        end_time=run["end_time"],
        task_runs=task_runs,
        latest=latest_attempts(task_runs.values()),
        next_seq=run["next_seq"],
        cancel_requested=bool(run["cancel_requested"]),
        timed_out=bool(run["timed_out"]),
        repairs=tuple(repair_from_dict(body) for body in run["repairs"]),
        original_end_time=run["original_end_time"],
        termination_code=None if run["termination_code"] is None else
        TerminationCode(run["termination_code"]),
    )


def latest_attempts(task_runs: Iterable[TaskRun]) -> dict[str, int]:
    """task key -> seq of its newest attempt, over task runs that are not for-each iterations."""
    latest: dict[str, TaskRun] = {}
    for run in task_runs:
        if run.iteration is not None:
            continue
        best = latest.get(run.task_key)
        if best is None or (run.attempt_number, run.seq) > (best.attempt_number, best.seq):
            latest[run.task_key] = run
    return {key: run.seq for key, run in latest.items()}


def job_record_from_row(row: Row) -> JobRecord:
    """A `JobRecord` from a row joining `jobs` (name) and `job_versions` (the rest)."""
    settings = row["settings"]
    return JobRecord(
        job_id=row["job_id"],
        version=row["version"],
        name=str(settings.get("name") or row["name"]),  # the name this version had
        settings=row["settings"],
        source=row["source"],
        created_time=row["created_time"],
        creator=row["creator"],
        deployment_key=row["deployment_key"],
        hidden=bool(row["hidden"]),
    )


def _result_or_none(value: str | None) -> ResultState | None:
    return None if value is None else ResultState(value)
