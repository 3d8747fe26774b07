"""A run as its page shows it: the run's state and times, each task's attempts (and a
for-each's iterations with their inputs), what each attempt left (the error and its trace,
task values, metrics), and the repair history.

Everything is read from the run's `Run` document (`runs/get`), its task runs' documents
(`iterations[]` of a for-each) and what each attempt left (`runs/get-output`'s sources): the
states are the documents', never derived again here. Pure: `RunDetails` in, view out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.api.documents import iterations_json
from headwater.core.dbt_results import status_tally
from headwater.core.git_source import source_words, used_commit
from headwater.core.runstate import TaskRun
from headwater.core.trigger_info import backfill_id, backfill_words, upstream_runs
from headwater.service import RunDetails
from headwater.web.views.states import Shown, shown_of

MESSAGE_CHARS = 300  # of a state message in the task table (the panel shows it whole)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a task, or of one iteration of a for-each."""

    task_run_id: int
    task_key: str
    attempt_number: int
    iteration: int | None
    repair: int  # 0 in the original run, n in the n-th repair
    shown: Shown
    queued_at: int  # epoch ms it became ready (0: never), for the timeline
    start: int  # epoch ms, 0 when it has not started
    end: int  # epoch ms, 0 while it runs
    duration: int  # ms
    message: str
    exit_code: int | None
    error: str
    trace: str
    values: Mapping[str, Any]
    metrics: Mapping[str, float]
    dbt: Sequence[DbtCommand] = ()  # a dbt task's commands, as far as they ran
    commit: str = ""  # the Git commit its code came from (`git_snapshot.used_commit`)


@dataclass(frozen=True, slots=True)
class DbtCommand:
    """One command of a dbt task's attempt and what it did to each node (`dbt_output`)."""

    command: str
    success: bool
    seconds: float
    nodes: Sequence[Mapping[str, Any]]
    truncated: bool

    @property
    def tally(self) -> str:
        """`1 fail, 3 success`: how many nodes ended in each status."""
        return status_tally(self.nodes, self.command)


def _dbt_commands(output: Mapping[str, Any]) -> tuple[DbtCommand, ...]:
    dbt = output.get("dbt_output")
    commands = dbt.get("commands") if isinstance(dbt, Mapping) else None
    return tuple(
        DbtCommand(command=str(each.get("command", "")), success=bool(each.get("success")),
                   seconds=float(each.get("seconds") or 0),
                   nodes=[node for node in each.get("nodes") or () if isinstance(node, Mapping)],
                   truncated=bool(each.get("nodes_truncated")))
        for each in commands or () if isinstance(each, Mapping))


@dataclass(frozen=True, slots=True)
class Iteration:
    """One iteration of a for-each: its input and its attempts."""

    index: int
    input: str
    attempts: Sequence[Attempt]

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task of the run: every attempt, the latest first in what the table shows."""

    task_key: str
    kind: str  # the task-type field: notebook_task, for_each_task, ...
    depends_on: Sequence[Mapping[str, Any]]
    run_if: str
    attempts: Sequence[Attempt]
    outcome: str | None  # a condition task's: "true"/"false"
    loop_stats: Mapping[str, int] | None  # a for-each's task_run_stats
    iterations: Sequence[Iteration] = field(default_factory=list)

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    @property
    def short_message(self) -> str:
        text = self.latest.error or self.latest.message
        return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class RunView:
    """The run page's content (the graph and the timeline are drawn from it)."""

    run_id: int
    job_id: int
    job_name: str
    job_version: int
    shown: Shown
    message: str
    start: int
    end: int
    duration: int
    trigger: str
    creator: str
    run_as: str
    parameters: Sequence[Mapping[str, Any]]
    tasks: Sequence[TaskView]
    repairs: Sequence[Mapping[str, Any]]
    version: int
    focus: str | None  # the task whose panel is open
    code: str = ""  # where the run's code came from: "branch main of <url> at <commit>"
    upstream: Sequence[tuple[str, str]] = ()  # (job id, run id) whose ends fired this run
    backfill: str = ""  # "run 2 of 7 of backfill 12, for <time>"
    backfill_id: int | None = None  # the backfill it belongs to
    only: Sequence[str] | None = None  # a partial run's tasks
    task_parameters: Mapping[str, Any] | None = None  # run-now's legacy notebook_params, ...
    job_deleted: bool = False  # its runs stay readable; it cannot run again

    @property
    def active(self) -> bool:
        return self.shown.active

    @property
    def failed_keys(self) -> list[str]:
        """The tasks "repair all failed" reruns: the latest attempt did not succeed."""
        return [task.task_key for task in self.tasks
                if task.latest.shown.tone in ("bad", "stopped")
                or task.latest.shown.state in ("UPSTREAM_FAILED", "UPSTREAM_CANCELED")]

    def task(self, key: str) -> TaskView | None:
        return next((task for task in self.tasks if task.task_key == key), None)

    @property
    def latest_repair_id(self) -> int | None:
        """The id of the run's latest repair (None: never repaired), which a repair asked
        from this page must name: one made meanwhile by someone else is not repeated."""
        ids = [int(entry["id"]) for entry in self.repairs if entry.get("type") == "REPAIR"]
        return ids[-1] if ids else None

    def attempt_count(self) -> int:
        """Every attempt of the run: of its tasks and of their iterations (its page's size)."""
        return sum(len(task.attempts) + sum(len(it.attempts) for it in task.iterations)
                   for task in self.tasks)

    def counts(self) -> dict[str, int]:
        """How many tasks are in each tone (succeeded, failed, running, ...)."""
        found: dict[str, int] = {}
        for task in self.tasks:
            found[task.latest.shown.tone] = found.get(task.latest.shown.tone, 0) + 1
        return found


def run_view(details: RunDetails, focus: str | None = None) -> RunView:
    """The view of a run; `focus` opens a task's panel (by default the task run the page's id
    named, if it named one)."""
    record, document = details.record, details.document
    seq_of = {task_run_id: seq for seq, task_run_id in record.task_run_ids.items()}

    def attempt(task: Mapping[str, Any]) -> Attempt:
        seq = seq_of.get(task["run_id"], -1)
        return _attempt(task, details.outputs.get(seq, {}), details.metrics.get(seq, {}))

    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for task in document.get("tasks", []):
        grouped.setdefault(task["task_key"], []).append(task)
    tasks = []
    for key, attempts in grouped.items():
        latest = attempts[-1]
        kind = _kind(latest)
        body = latest.get(kind) or {}
        iterations: list[Iteration] = []
        if kind == "for_each_task":
            parent = record.state.task_runs.get(seq_of.get(latest["run_id"], -1))
            if parent is not None:
                iterations = _iterations(details, parent, attempt)
        tasks.append(TaskView(key, kind, latest.get("depends_on", []), latest.get("run_if", ""),
                              [attempt(a) for a in attempts], body.get("outcome"),
                              (body.get("stats") or {}).get("task_run_stats"), iterations))
    if focus is None and details.focus is not None:
        focused = record.state.task_runs[details.focus]
        focus = _top_key(record.state.task_runs, focused)
    extra = document.get("headwater", {})
    return RunView(
        run_id=document["run_id"], job_id=document["job_id"], job_name=document["run_name"],
        job_version=extra.get("job_version", 0), shown=shown_of(document),
        message=document["state"].get("state_message", ""),
        start=document["start_time"], end=document["end_time"],
        duration=document["run_duration"], trigger=document.get("trigger", ""),
        creator=document.get("creator_user_name", ""), run_as=extra.get("run_as", ""),
        parameters=document.get("job_parameters", []), tasks=tasks,
        repairs=document.get("repair_history", []), version=details.version, focus=focus,
        code=source_words(document.get("git_source")),
        upstream=upstream_runs(document.get("trigger_info")),
        backfill=backfill_words(document.get("trigger_info")),
        backfill_id=backfill_id(document.get("trigger_info")), only=extra.get("only"),
        job_deleted=details.job_deleted,
        task_parameters=document.get("overriding_parameters"))


def _top_key(runs: Mapping[int, TaskRun], run: TaskRun) -> str:
    """The task key of the job's task a task run belongs to (a for-each's, for iterations)."""
    if run.parent_seq is not None and run.parent_seq in runs:
        return runs[run.parent_seq].task_key
    return run.task_key


def _kind(task: Mapping[str, Any]) -> str:
    return next((key for key in task if key.endswith("_task") and isinstance(task[key], dict)),
                "")


def _iterations(details: RunDetails, parent: TaskRun, attempt: Any) -> list[Iteration]:
    inputs = _inputs(parent.inputs)
    by_index: dict[int, list[Attempt]] = {}
    for task in iterations_json(details.record, parent):
        by_index.setdefault(task["iteration"], []).append(attempt(task))
    return [Iteration(index, inputs[index] if index < len(inputs) else "", attempts)
            for index, attempts in sorted(by_index.items())]


def _inputs(text: str | None) -> list[str]:
    """A for-each's resolved inputs, each as shown (strings as they are, others as JSON)."""
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        return []
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


def _attempt(task: Mapping[str, Any], output: Mapping[str, Any],
             metrics: Mapping[str, float]) -> Attempt:
    shown = shown_of(task)
    start = int(task.get("start_time") or 0)
    queued = start - int(task.get("queue_duration") or 0) if start else 0
    error = output.get("error") or ""
    if not error and shown.tone == "bad":
        error = task["state"].get("state_message", "")
    return Attempt(
        task_run_id=task["run_id"], task_key=task["task_key"],
        attempt_number=task["attempt_number"], iteration=task.get("iteration"),
        repair=task.get("repair_number", 0), shown=shown, queued_at=queued, start=start,
        end=int(task.get("end_time") or 0), duration=int(task.get("run_duration") or 0),
        message=task["state"].get("state_message", ""), exit_code=task.get("exit_code"),
        error=str(error), trace=str(output.get("error_trace") or ""),
        values=_as_json_text(task.get("task_values") or {}), metrics=metrics,
        dbt=_dbt_commands(output),
        commit=used_commit(task.get("git_source")))


def _as_json_text(values: Mapping[str, Any]) -> dict[str, str]:
    """Task values as their JSON (`true`, `{"a": 1}`), not Python's words for them; a text
    value as itself."""
    return {name: value if isinstance(value, str) else json.dumps(value)
            for name, value in values.items()}


__all__ = ["Attempt", "DbtCommand", "Iteration", "RunView", "TaskView", "run_view"]
