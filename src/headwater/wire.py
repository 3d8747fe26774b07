"""The Jobs API 2.2 wire shapes of runs, derived from a stored run.

`runs get --json` prints `run_json(record)`; the REST API will return the same document.
Times are epoch milliseconds, durations milliseconds, as in the Jobs API. A run that is not
over reports `end_time: 0`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from headwater.core.runstate import TaskRun
from headwater.core.states import LifeCycleState, ResultState, status_of
from headwater.ports import RunRecord


def epoch_ms(instant: datetime | None) -> int:
    return 0 if instant is None else int(instant.timestamp() * 1000)


def duration_ms(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, int((end - start).total_seconds() * 1000))


def state_json(life: LifeCycleState, result: ResultState | None, message: str) -> dict[str, Any]:
    """The legacy `state` object; `result_state` only once terminal."""
    body: dict[str, Any] = {"life_cycle_state": str(life), "state_message": message}
    if result is not None and life.is_terminal:
        body["result_state"] = str(result)
        body["user_cancelled_or_timedout"] = result in (ResultState.CANCELED,
                                                        ResultState.TIMEDOUT)
    return body


def status_json(life: LifeCycleState, result: ResultState | None, message: str) -> dict[str, Any]:
    """The newer `status` object."""
    status = status_of(life, result, message)
    body: dict[str, Any] = {"state": str(status.state)}
    if status.code is not None:
        body["termination_details"] = {
            "code": str(status.code),
            "type": str(status.type),
            "message": status.message,
        }
    return body


def task_run_json(record: RunRecord, run: TaskRun) -> dict[str, Any]:
    """One entry of `tasks[]`: one attempt of one task."""
    task = record.state.plan.tasks[run.task_key]
    ids = record.task_run_ids
    body: dict[str, Any] = {
        "run_id": ids.get(run.seq, 0),
        "task_key": run.task_key,
        "attempt_number": run.attempt_number,
        "original_attempt_run_id": ids.get(run.original_attempt_seq, 0),
        "job_run_id": record.run_id,
        "state": state_json(run.life_cycle, run.result, run.message),
        "status": status_json(run.life_cycle, run.result, run.message),
        "start_time": epoch_ms(run.start_time),
        "end_time": epoch_ms(run.end_time),
        "setup_duration": 0,
        "execution_duration": duration_ms(run.start_time, run.end_time),
        "cleanup_duration": 0,
        "run_duration": duration_ms(run.start_time, run.end_time),
        "queue_duration": duration_ms(run.pending_since, run.start_time),
        "run_if": str(task.run_if),
        "depends_on": [
            {"task_key": d.task_key, **({"outcome": d.outcome} if d.outcome else {})}
            for d in sorted(task.depends_on, key=lambda d: d.task_key)
        ],
    }
    type_body = task.spec.model_dump(mode="json", exclude_none=True).get(task.kind, {})
    if run.condition_outcome is not None:
        type_body = {**type_body, "outcome": run.condition_outcome}
    body[task.kind] = type_body
    if run.exit_code is not None:
        body["exit_code"] = run.exit_code
    if task.spec.description:
        body["description"] = task.spec.description
    return body


def run_json(record: RunRecord) -> dict[str, Any]:
    """The `Run` document of `runs/get`: the run, then every attempt of every task."""
    state = record.state
    attempts = sorted((r for r in state.task_runs.values() if r.iteration is None),
                      key=lambda r: (state.plan.order.index(r.task_key), r.attempt_number))
    parameters = record.parameters
    defaults = {p.get("name"): p.get("default") for p in _declared(record)}
    return {
        "job_id": record.job.job_id,
        "run_id": record.run_id,
        "number_in_job": record.run_id,
        "run_name": record.job.name,
        "creator_user_name": record.creator,
        "run_type": "JOB_RUN",
        "trigger": record.trigger,
        "format": "MULTI_TASK",
        "state": state_json(state.life_cycle, state.result, state.message),
        "status": status_json(state.life_cycle, state.result, state.message),
        "start_time": epoch_ms(state.start_time),
        "end_time": epoch_ms(state.end_time),
        "setup_duration": 0,
        "execution_duration": 0,
        "cleanup_duration": 0,
        "run_duration": duration_ms(state.start_time, state.end_time),
        "tasks": [task_run_json(record, run) for run in attempts],
        "job_clusters": [],
        "job_parameters": [
            {"name": name, "default": defaults.get(name), "value": value}
            for name, value in parameters.items()
        ],
        "repair_history": [],
        "headwater": {"job_version": record.job.version, "workdir": record.workdir},
    }


def _declared(record: RunRecord) -> list[dict[str, Any]]:
    declared = record.job.settings.get("parameters") or []
    return [p for p in declared if isinstance(p, dict)]  # type: ignore[attr-defined]
