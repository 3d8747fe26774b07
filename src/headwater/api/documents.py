"""The Jobs API 2.2 wire shapes of runs, derived from a stored run.

`runs get --json` prints `run_json(record)`; the REST API will return the same document.
Times are epoch milliseconds, durations milliseconds, as in the Jobs API. A run that is not
over reports `end_time: 0`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.core.outcome import run_outcome
from headwater.core.plan import PlannedTask
from headwater.core.runstate import TaskRun, planned_task_of
from headwater.core.states import LifeCycleState, ResultState, TerminationCode, status_of
from headwater.core.waiting import waiting_message
from headwater.ports import JobRecord, RunRecord

# A for-each's `error_message_stats` (Lakeflow's: "sample of 3 most common error messages").
_SHOWN_ERRORS = 3
_FAILED_ITERATION = frozenset({ResultState.FAILED, ResultState.TIMEDOUT})


def epoch_ms(instant: datetime | None) -> int:
    return 0 if instant is None else int(instant.timestamp() * 1000)


def duration_ms(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, int((end - start).total_seconds() * 1000))


# Why a queued run waits: headwater queues a run for one reason only (core/admission.py).
QUEUE_CODE = "MAX_CONCURRENT_RUNS_REACHED"
QUEUE_REASON = "The job has as many active runs as max_concurrent_runs allows."

# The task's own settings that each entry of a run's `tasks[]` repeats, as Lakeflow's does.
TASK_SETTINGS = ("description", "timeout_seconds", "max_retries", "min_retry_interval_millis",
                 "retry_on_timeout", "disabled", "environment_key", "environment_variables_key",
                 "job_cluster_key", "existing_cluster_id", "new_cluster", "libraries", "compute",
                 "disable_auto_optimization", "email_notifications", "webhook_notifications",
                 "notification_settings")


def state_json(life: LifeCycleState, result: ResultState | None, message: str) -> dict[str, Any]:
    """The legacy `state` object; `result_state` only once terminal."""
    body: dict[str, Any] = {"life_cycle_state": str(life), "state_message": message}
    if life is LifeCycleState.QUEUED:
        body["queue_reason"] = QUEUE_REASON
    if result is not None and life.is_terminal:
        body["result_state"] = str(result)
        body["user_cancelled_or_timedout"] = result in (ResultState.CANCELED,
                                                        ResultState.TIMEDOUT)
    return body


def status_json(life: LifeCycleState, result: ResultState | None, message: str,
                termination_code: TerminationCode | None = None) -> dict[str, Any]:
    """The newer `status` object (a queued job run says why it waits)."""
    status = status_of(life, result, message, termination_code)
    body: dict[str, Any] = {"state": str(status.state)}
    if life is LifeCycleState.QUEUED:
        body["queue_details"] = {"code": QUEUE_CODE, "message": QUEUE_REASON}
    if status.code is not None:
        body["termination_details"] = {
            "code": str(status.code),
            "type": str(status.type),
            "message": status.message,
        }
    return body


def loop_stats(run: TaskRun, runs: Mapping[int, TaskRun]) -> dict[str, Any]:
    """`for_each_task.stats` of a for-each task run (`runs`: every task run of its job run):
    its iteration counts, and the three errors its iterations' latest attempts failed with
    most, with how often."""
    loop = run.loop
    if loop is None:
        return {}
    stats: dict[str, Any] = {"task_run_stats": {
        "total_iterations": loop.total,
        "scheduled_iterations": loop.started,
        "active_iterations": loop.active,
        "completed_iterations": loop.done,
        "succeeded_iterations": loop.done - loop.failed,
        "failed_iterations": loop.failed,
    }}
    if errors := _iteration_errors(run.seq, runs):
        stats["error_message_stats"] = errors
    return stats


def _iteration_errors(loop_seq: int, runs: Mapping[int, TaskRun]) -> list[dict[str, Any]]:
    """The most common failures of a for-each's iterations, latest attempts only."""
    latest: dict[int, TaskRun] = {}
    for run in runs.values():
        if run.parent_seq == loop_seq and run.iteration is not None and (
                run.iteration not in latest or run.seq > latest[run.iteration].seq):
            latest[run.iteration] = run
    counts: Counter[tuple[str, str]] = Counter()
    for run in latest.values():
        if run.result in _FAILED_ITERATION:
            code = status_of(run.life_cycle, run.result, run.message).code
            counts[run.message, str(code)] += 1
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:_SHOWN_ERRORS]
    return [{"error_message": message, "count": count, "termination_category": category}
            for (message, category), count in top]


def planned_task(record: RunRecord, run: TaskRun) -> PlannedTask:
    """The task as the attempt `run` ran it: an attempt from before a repair that changed
    the job's settings ran its own version of them, not the repair's."""
    plan = record.earlier_plans.get(run.repair, record.state.plan)
    return planned_task_of(plan, record.state.task_runs, run)


def task_run_json(record: RunRecord, run: TaskRun, include_resolved_values: bool = False,
                  setup_ms: Mapping[int, int] | None = None,
                  fields: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """One entry of `tasks[]`: one attempt of one task, with the settings it ran (`fields`:
    what the attempts' outputs add, by seq: see `api/outputs.attempt_fields`)."""
    task = planned_task(record, run)
    ids = record.task_run_ids
    body: dict[str, Any] = {
        "run_id": ids.get(run.seq, 0),
        "task_key": run.task_key,
        "attempt_number": run.attempt_number,
        "original_attempt_run_id": ids.get(run.original_attempt_seq, 0),
        "job_run_id": record.run_id,
        "state": state_json(run.life_cycle, run.result, waiting_message(record.state, run)),
        "status": status_json(run.life_cycle, run.result, run.message),
        "start_time": epoch_ms(run.start_time),
        "end_time": epoch_ms(run.end_time),
        "setup_duration": (setup := (setup_ms or {}).get(run.seq, 0)),
        "execution_duration": max(0, duration_ms(run.start_time, run.end_time) - setup),
        "cleanup_duration": 0,
        "run_duration": duration_ms(run.start_time, run.end_time),
        "queue_duration": duration_ms(run.pending_since, run.start_time),
        "run_if": str(task.run_if),
        "depends_on": [
            {"task_key": d.task_key, **({"outcome": d.outcome} if d.outcome else {})}
            for d in sorted(task.depends_on, key=lambda d: d.task_key)
        ],
    }
    settings = _run_job_trimmed(task.spec.model_dump(mode="json", exclude_none=True))
    body.update((name, settings[name]) for name in TASK_SETTINGS if settings.get(name) not in
                (None, [], ""))
    body.setdefault("timeout_seconds", 0)  # no timeout, written out as jobs/get does
    type_body = settings.get(task.kind, {})
    if run.condition_outcome is not None:
        type_body = {**type_body, "outcome": run.condition_outcome}
    if run.loop is not None:
        type_body = {**type_body, "stats": loop_stats(run, record.state.task_runs)}
    body[task.kind] = type_body
    if run.iteration is not None:
        body["iteration"] = run.iteration
        body["parent_run_id"] = ids.get(run.parent_seq or 0, 0)
    if run.repair:
        body["repair_number"] = run.repair
    if run.exit_code is not None:
        body["exit_code"] = run.exit_code
    if run.values:
        body["task_values"] = json.loads(run.values)
    if include_resolved_values and run.resolved:
        body["resolved_values"] = json.loads(run.resolved)
    body.update((fields or {}).get(run.seq, {}))
    return body


def iterations_json(record: RunRecord, parent: TaskRun, include_resolved_values: bool = False,
                    setup_ms: Mapping[int, int] | None = None,
                    fields: Mapping[int, Mapping[str, Any]] | None = None,
                    ) -> list[dict[str, Any]]:
    """`iterations[]` of a for-each task run: every attempt of every iteration."""
    return [task_run_json(record, run, include_resolved_values, setup_ms, fields)
            for run in record.state.iterations(parent.seq)]


@dataclass(frozen=True, slots=True)
class PhaseEnd:
    """How a run stood when its original run, or one of its repairs, ended: what the run's
    own `state` said then."""

    life_cycle: LifeCycleState
    result: ResultState | None
    message: str
    termination_code: TerminationCode | None = None


def repair_history_json(record: RunRecord, ends: Sequence[PhaseEnd] = ()
                        ) -> list[dict[str, Any]]:
    """`repair_history[]`: the original run, then one entry per repair, each with the state
    the run had at its end (the latest one: the run's own state, ended or not).

    `ends` are how the original run and each repair but the latest ended, as recorded then
    (the audit log's `run.ended` entries). Without one for each, they are derived from their
    task runs: that cannot tell a cancel or a timeout of the whole run from a task's own.
    """
    state = record.state
    if not state.repairs:
        return []
    known = (list(ends) if len(ends) == len(state.repairs)
             else [_derived_end(record, number) for number in range(len(state.repairs))])
    latest = PhaseEnd(state.life_cycle, state.result, state.message, state.termination_code)
    phases = [("ORIGINAL", record.run_id, state.start_time, state.original_end_time),
              *(("REPAIR", repair.repair_id, repair.start_time, repair.end_time)
                for repair in state.repairs)]
    return [_repair_entry(kind, entry_id, start, end, outcome, _phase_task_run_ids(record, number))
            for number, ((kind, entry_id, start, end), outcome)
            in enumerate(zip(phases, [*known, latest], strict=True))]


def _phase_task_run_ids(record: RunRecord, number: int) -> list[int]:
    """The ids of the task runs the original run (0) or repair `number` made."""
    return sorted(record.task_run_ids.get(run.seq, 0) for run in record.state.task_runs.values()
                  if run.repair == number and run.parent_seq is None)


def _derived_end(record: RunRecord, number: int) -> PhaseEnd:
    """How the original run (0) or repair `number` ended, from the task runs it left: each
    task's latest attempt by then, judged by the plan that phase ran."""
    state = record.state
    final: dict[str, TaskRun] = {}
    for run in sorted(state.task_runs.values(), key=lambda r: r.seq):
        if run.repair <= number and run.parent_seq is None:
            final[run.task_key] = run
    plan = record.earlier_plans.get(number, state.plan)
    result, life, message = run_outcome(plan, final, canceled=False, timed_out=False)
    return PhaseEnd(life, result, message)


def _repair_entry(kind: str, entry_id: int, start: datetime | None, end: datetime | None,
                  outcome: PhaseEnd, task_run_ids: list[int]) -> dict[str, Any]:
    life, result, message = outcome.life_cycle, outcome.result, outcome.message
    return {
        "type": kind,
        "id": entry_id,
        "start_time": epoch_ms(start),
        "end_time": epoch_ms(end),
        "state": state_json(life, result, message),
        "status": status_json(life, result, message, outcome.termination_code),
        "task_run_ids": task_run_ids,
    }


def run_json(record: RunRecord, include_resolved_values: bool = False,
             setup_ms: Mapping[int, int] | None = None,
             fields: Mapping[int, Mapping[str, Any]] | None = None,
             repair_history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The `Run` document of `runs/get`: the run, then every attempt of every task, and its
    `repair_history` when given (`repair_history_json`; `runs/get` gives it when asked with
    `include_history`).

    `setup_ms` is each attempt's set-up time (waiting for its cluster to start, building its
    environment), by seq; the run's `setup_duration` is their sum (a choice: the Jobs API
    reports 0 for multi-task runs). `fields` is what the attempts' outputs add to their
    entries, by seq (`api/outputs.attempt_fields`). A job with a `git_source` has it on the
    run too, with the `git_snapshot` of its latest attempt that read from Git.
    """
    state = record.state
    position = state.plan.position
    attempts = sorted((r for r in state.task_runs.values()
                       if r.parent_seq is None and r.task_key in position),
                      key=lambda r: (position[r.task_key], r.seq))
    parameters = record.parameters
    defaults = {p.get("name"): p.get("default") for p in _declared(record)}
    return {
        "job_id": record.job.job_id,
        "run_id": record.run_id,
        "number_in_job": record.run_id,
        "run_name": record.job.name,
        "creator_user_name": record.creator,
        "run_type": record.run_type,
        "trigger": record.trigger,
        "format": "MULTI_TASK",
        "state": state_json(state.life_cycle, state.result, state.message),
        "status": status_json(state.life_cycle, state.result, state.message,
                              state.termination_code),
        "start_time": epoch_ms(state.start_time),
        "end_time": epoch_ms(state.end_time),
        "queue_duration": duration_ms(record.created_time, record.queued_until),
        "setup_duration": sum((setup_ms or {}).values()),
        "execution_duration": 0,
        "cleanup_duration": 0,
        "run_duration": duration_ms(state.start_time, state.end_time),
        "tasks": [task_run_json(record, run, include_resolved_values, setup_ms, fields)
                  for run in attempts],
        "job_clusters": _job_clusters(record),
        "job_parameters": [
            {"name": name, "default": defaults.get(name), "value": value}
            for name, value in parameters.items()
        ],
        **({"repair_history": repair_history} if repair_history is not None else {}),
        **({"overriding_parameters": dict(record.scope.task_parameters)}
           if record.scope.task_parameters else {}),
        **_trigger_info(record),
        **_git_source(record, fields or {}),
        "headwater": {"job_version": record.job.version, "workdir": record.workdir,
                      "run_as": record.run_as or record.job.creator,
                      **({"only": list(record.scope.only)}
                         if record.scope.only is not None else {})},
    }


def _job_clusters(record: RunRecord) -> list[Any]:
    clusters = record.job.settings.get("job_clusters")
    return list(clusters) if isinstance(clusters, list) else []


def _trigger_info(record: RunRecord) -> dict[str, Any]:
    """`trigger_info`, what fired the run; and for a run the cron `schedule` fired, that
    schedule (the scheduler keeps it in the run's trigger info: `core/triggers.clock_due`)."""
    info = dict(record.trigger_info or {})
    schedule = info.pop("schedule", None)
    return {**({"trigger_info": info} if info else {}),
            **({"schedule": with_pause_status(schedule)} if schedule else {})}


def _git_source(record: RunRecord, fields: Mapping[int, Mapping[str, Any]],
                ) -> dict[str, Any]:
    source = record.job.settings.get("git_source")
    if not isinstance(source, Mapping):
        return {}
    used = [fields[seq]["git_source"] for seq in sorted(fields) if "git_source" in fields[seq]]
    return {"git_source": used[-1] if used else dict(source)}


def _declared(record: RunRecord) -> list[dict[str, Any]]:
    declared = record.job.settings.get("parameters") or []
    return [p for p in declared if isinstance(p, dict)]  # type: ignore[attr-defined]


def task_run_document(record: RunRecord, seq: int, include_resolved_values: bool = False,
                      setup_ms: Mapping[int, int] | None = None,
                      fields: Mapping[int, Mapping[str, Any]] | None = None
                      ) -> dict[str, Any]:
    """`runs/get` for a task run id: the attempt, naming its job run as a `Run` does, with
    `iterations[]` for a for-each."""
    run = record.state.task_runs[seq]
    task_run = task_run_json(record, run, include_resolved_values, setup_ms, fields)
    body = {**task_run, **task_run_identity(record, task_run["run_id"])}
    if run.loop is not None:
        body["iterations"] = iterations_json(record, run, include_resolved_values, setup_ms,
                                             fields)
    return body


def task_run_identity(record: RunRecord, task_run_id: int) -> dict[str, Any]:
    """What a `Run` says of itself besides its task's fields, for a task run's id: its job,
    name, type and creator, as its job run's document has them."""
    return {"job_id": record.job.job_id, "run_name": record.job.name,
            "run_type": record.run_type, "creator_user_name": record.creator,
            "number_in_job": task_run_id}


def job_json(record: JobRecord, with_settings: bool = True,
             next_fire: datetime | None = None, owner: str | None = None) -> dict[str, Any]:
    """The `Job` of `jobs/get` (and, without tasks and clusters, an entry of `jobs/list`);
    `next_fire` is when its schedule fires next, if known; `owner` its owner, who runs it
    when it names no `run_as` (else its creator does)."""
    # Who may do what is the permissions API's to say (as on Databricks), not the settings'.
    settings = {k: v for k, v in record.settings.items()
                if k not in ("access_control_list", "permissions")}
    if not with_settings:
        settings = {k: v for k, v in settings.items() if k not in ("tasks", "job_clusters")}
    return {
        "job_id": record.job_id,
        "creator_user_name": record.creator,
        "run_as_user_name": _run_as_user(settings) or owner or record.creator,
        "created_time": epoch_ms(record.created_time),
        "settings": {**as_returned(settings), "format": "MULTI_TASK"},
        "headwater": {"version": record.version, "source": record.source,
                      "deployment_key": record.deployment_key,
                      **({"next_fire_time": epoch_ms(next_fire)} if next_fire else {})},
    }


# The parts of a job's settings that carry a `pause_status`, UNPAUSED unless it says PAUSED.
PAUSABLE = ("schedule", "trigger", "continuous")


def as_returned(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Job settings as Lakeflow's GET returns them: with the defaults it fills in written out
    (the name `Untitled`, `max_concurrent_runs` 1, no timeout as 0, each task's `run_if`
    ALL_SUCCESS, the `pause_status` UNPAUSED of a schedule, trigger or continuous, and of
    each entry of `triggers`) and each task's `depends_on` sorted by task key, so a client
    reads what the job does; a `run_job_task` leaves out the parameters it does not give.
    The stored settings keep what was given."""
    returned = {"name": "Untitled", "max_concurrent_runs": 1, "timeout_seconds": 0,
                **settings}
    for name in PAUSABLE:
        if name in settings:
            returned[name] = with_pause_status(settings[name])
    if isinstance(settings.get("triggers"), list):
        returned["triggers"] = [with_pause_status(entry) for entry in settings["triggers"]]
    if isinstance(settings.get("tasks"), list):
        returned["tasks"] = [_task_as_returned(task) for task in settings["tasks"]]
    return returned


def with_pause_status(part: Any) -> Any:
    """A schedule, trigger or continuous section with its effective `pause_status` written
    out (UNPAUSED, Lakeflow's default, when it names none); anything else as it is."""
    if not isinstance(part, dict) or part.get("pause_status") is not None:
        return part
    return {**part, "pause_status": "UNPAUSED"}


def _task_as_returned(task: Any) -> Any:
    if not isinstance(task, dict):
        return task
    returned = {"run_if": "ALL_SUCCESS", "timeout_seconds": 0, **task}
    if isinstance(task.get("depends_on"), list):
        returned["depends_on"] = sorted(task["depends_on"],
                                        key=lambda dependency: str(dependency.get("task_key")))
    return _run_job_trimmed(returned)


def _run_job_trimmed(task: dict[str, Any]) -> dict[str, Any]:
    """A task (as its settings or a task run's entry write it) whose `run_job_task` leaves
    out the parameters it does not give, as the Jobs API's documents do: the stored settings
    hold every one of them, empty."""
    return _with_run_jobs_changed(task, lambda run_job: {
        name: value for name, value in run_job.items() if value not in ({}, [])})


def _with_run_jobs_changed(task: dict[str, Any],
                           change: Callable[[dict[str, Any]], dict[str, Any]]
                           ) -> dict[str, Any]:
    """`task` with `change` made to its `run_job_task`, and to its for-each's nested
    task's."""
    changed = dict(task)
    if isinstance(task.get("run_job_task"), dict):
        changed["run_job_task"] = change(task["run_job_task"])
    loop = task.get("for_each_task")
    if isinstance(loop, dict) and isinstance(loop.get("task"), dict):
        changed["for_each_task"] = {**loop, "task": _with_run_jobs_changed(loop["task"], change)}
    return changed


def _run_jobs(task: object) -> Iterator[Mapping[str, Any]]:
    """A task's `run_job_task`, and its for-each's nested task's."""
    if not isinstance(task, dict):
        return
    if isinstance(task.get("run_job_task"), dict):
        yield task["run_job_task"]
    loop = task.get("for_each_task")
    if isinstance(loop, dict):
        yield from _run_jobs(loop.get("task"))


def _tasks_in(document: Mapping[str, Any]) -> Iterator[Any]:
    """The tasks of a `Job` (its settings' `tasks`) or a `Run` (`tasks`, a for-each task
    run's `iterations`), or the task run a task run's document is."""
    settings = document.get("settings")
    yield document
    for tasks in (document.get("tasks"), document.get("iterations"),
                  settings.get("tasks") if isinstance(settings, Mapping) else None):
        yield from tasks if isinstance(tasks, list) else ()


def child_job_names(document: Mapping[str, Any]) -> set[str]:
    """The names of the jobs a `Job` or `Run` document's Run Job tasks name by `job_name`
    (a bundle's `${resources.jobs.<key>.id}`), not by id."""
    return {run_job["job_name"] for task in _tasks_in(document) for run_job in _run_jobs(task)
            if run_job.get("job_id") is None and isinstance(run_job.get("job_name"), str)}


def with_child_job_ids(document: Mapping[str, Any], ids: Mapping[str, int]
                       ) -> dict[str, Any]:
    """A `Job` or `Run` document whose Run Job tasks name their job by `job_id`, as the Jobs
    API's do, where `ids` (by `job_name`) has it: the id the task would run now. Any other
    keeps its `job_name` alone (no job has that name yet, or several do)."""
    def by_id(run_job: dict[str, Any]) -> dict[str, Any]:
        name = run_job.get("job_name")
        if not isinstance(name, str) or name not in ids:
            return run_job
        return {"job_id": ids[name], **{k: v for k, v in run_job.items() if k != "job_name"}}

    def changed(tasks: Any) -> Any:
        return [_with_run_jobs_changed(task, by_id) if isinstance(task, dict) else task
                for task in tasks] if isinstance(tasks, list) else tasks

    body = _with_run_jobs_changed(dict(document), by_id)
    body.update((name, changed(body[name])) for name in ("tasks", "iterations") if name in body)
    if isinstance(settings := body.get("settings"), Mapping) and "tasks" in settings:
        body["settings"] = {**settings, "tasks": changed(settings["tasks"])}
    return body


def _run_as_user(settings: Mapping[str, Any]) -> str | None:
    run_as = settings.get("run_as")
    if not isinstance(run_as, dict):
        return None
    return run_as.get("user_name") or run_as.get("service_principal_name")


def with_page_urls(document: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A `Run` (or task run) document with the `run_page_url` of the run and of each task
    run and iteration in it: the web UI's page, `<base_url>/runs/<run id>`."""
    body = {**document, "run_page_url": f"{base_url}/runs/{document['run_id']}"}
    for name in ("tasks", "iterations"):
        if name in body:
            body[name] = [{**task, "run_page_url": f"{base_url}/runs/{task['run_id']}"}
                          for task in body[name]]
    return body


def repair_pending(document: Mapping[str, Any], repair_id: object) -> dict[str, Any]:
    """An ended run whose repair waits for an engine reads as PENDING again, as a repaired
    run does on Databricks the moment the repair is accepted (the SDK's repair waiter would
    otherwise stop at the run's old end)."""
    message = f"Repair {repair_id} waits for an engine to rerun its tasks."
    return {**document,
            "state": state_json(LifeCycleState.PENDING, None, message),
            "status": status_json(LifeCycleState.PENDING, None, message),
            "end_time": 0}
