"""The design document of a job, as data: `describe_job(settings, ...)` returns a `Design`.

It answers the Lab's written exercise from the spec itself: purpose, tasks (type, code, single
responsibility), dependencies and run_if conditions, the DAG, retry strategy and timeouts,
parameters per target, schedule, alerting rules and compute. Text fields are plain with `code`
spans in backticks; `design/markdown.py` and `design/html.py` render them. Pure: validated
settings in (one per target for the per-target sections), a `Design` out; the schedule lists
its next fire times only when the caller passes `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from headwater.core.admission import Limits
from headwater.core.plan import build_plan
from headwater.core.spec import JobSettings, RunIf, Task
from headwater.core.spec_common import PauseStatus
from headwater.core.triggers import trigger_views
from headwater.design.alerts import AlertRule, alert_notes, alert_rules
from headwater.design.compute import compute_lines
from headwater.design.schedule_words import next_fire_words
from headwater.design.words import (
    RUN_IF_WORDS,
    code_words,
    health_words,
    joined_keys,
    task_policy_words,
    timeout_words,
    timing_words,
    type_words,
)

__all__ = [
    "AlertRule",
    "Design",
    "Edge",
    "Graph",
    "Node",
    "ParameterTable",
    "TaskRow",
    "describe_job",
    "task_graph",
]

FAILURE_RUN_IFS = (RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED)


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One line of the task table."""

    key: str
    kind: str  # in words: `notebook`, `condition`, ...
    code: str
    responsibility: str  # the task's description ("" when it has none)
    disabled: bool


@dataclass(frozen=True, slots=True)
class Node:
    """A task in the DAG drawing; `kind` is the type in words, `run_if` "" for ALL_SUCCESS."""

    key: str
    kind: str
    condition: bool
    run_if: str = ""  # `at least one failed`, ...


@dataclass(frozen=True, slots=True)
class Edge:
    """`target` waits on `source`; `label` is a condition's branch; `failure`: drawn dashed."""

    source: str
    target: str
    label: str
    failure: bool


@dataclass(frozen=True, slots=True)
class Graph:
    """The DAG: nodes in run order, edges in declaration order."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class ParameterTable:
    """Job parameter values per column: one column per target, or one `default` column."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str | None, ...]], ...]  # (name, value per column)
    by_target: bool  # the columns are targets (else the one column of defaults)


@dataclass(frozen=True, slots=True)
class Design:
    """Everything the design document says, section by section."""

    title: str
    resource_name: str
    target: str | None
    purpose: str
    tasks: tuple[TaskRow, ...]
    dependencies: tuple[str, ...]
    graph: Graph
    policies: tuple[str, ...]  # retry strategy and timeouts, the job first
    parameters: ParameterTable
    schedules: tuple[tuple[str | None, str], ...]  # (target or None, words; next fire times)
    alerts: tuple[AlertRule, ...]
    alert_notes: tuple[str, ...]
    compute: tuple[str, ...]


def describe_job(
    settings: JobSettings,
    resource_name: str,
    target: str | None = None,
    per_target: Mapping[str, JobSettings] | None = None,
    now: datetime | None = None,
) -> Design:
    """The design document of one job.

    Args:
        settings: the job as loaded for `target`.
        resource_name: its bundle key (or JSON file stem).
        target: the bundle target `settings` were made for; None when no target applied.
        per_target: the same job loaded under each target of its file, in file order, for the
            parameters and schedule per target; empty or None when the file has no targets.
        now: an aware instant; when given, each cron schedule lists its next fire times after
            it. The document is then no longer the same from one day to the next.
    """
    targets = dict(per_target or {})
    order = build_plan(settings).order
    tasks = sorted(settings.tasks, key=lambda task: order.index(task.task_key))
    return Design(
        title=settings.name or resource_name,
        resource_name=resource_name,
        target=target,
        purpose=" ".join((settings.description or "").split()),
        tasks=tuple(_task_row(task) for task in tasks),
        dependencies=tuple(_dependency_sentences(tasks)),
        graph=task_graph(tasks),
        policies=tuple(_policies(settings, tasks)),
        parameters=_parameter_table(settings, targets),
        schedules=_schedules(settings, targets, now),
        alerts=tuple(alert_rules(settings)),
        alert_notes=tuple(alert_notes(settings)),
        compute=tuple(compute_lines(settings)),
    )


def _task_row(task: Task) -> TaskRow:
    return TaskRow(
        key=task.task_key,
        kind=type_words(task),
        code=code_words(task),
        responsibility=" ".join((task.description or "").split()),
        disabled=bool(task.disabled),
    )


def _dependency_sentences(tasks: Sequence[Task]) -> list[str]:
    sentences = []
    for task in tasks:
        run_if = task.run_if or RunIf.ALL_SUCCESS
        if not task.depends_on:
            sentence = f"`{task.task_key}` starts the run"
        else:
            upstream = [f"`{d.task_key}`" + (f" (branch {d.outcome})" if d.outcome else "")
                        for d in task.depends_on]
            listed = upstream[0] if len(upstream) == 1 else (
                f"{', '.join(upstream[:-1])} and {upstream[-1]}")
            sentence = (f"`{task.task_key}` runs after {listed} "
                        f"if {RUN_IF_WORDS[run_if]} (`{run_if.value}`)")
        if task.disabled:
            sentence += "; it is disabled and skipped in every run"
        sentences.append(sentence + ".")
        if task.condition_task is not None:
            sentences.append(_condition_sentence(task, tasks))
    return sentences


def _condition_sentence(condition: Task, tasks: Sequence[Task]) -> str:
    branches = []
    for outcome in ("true", "false"):
        keys = [t.task_key for t in tasks
                if any(d.task_key == condition.task_key and d.outcome == outcome
                       for d in t.depends_on)]
        branches.append(f"{outcome} → {joined_keys(keys) if keys else 'nothing'}")
    return (f"`{condition.task_key}` is a condition: {code_words(condition)}; "
            f"{'; '.join(branches)}.")


def task_graph(tasks: Sequence[Task]) -> Graph:
    """The DAG of `tasks`: a node per task, an edge per dependency (run_if and branches on it)."""
    nodes, edges = [], []
    for task in tasks:
        run_if = task.run_if or RunIf.ALL_SUCCESS
        label = "" if run_if == RunIf.ALL_SUCCESS else f"if {RUN_IF_WORDS[run_if]}"
        nodes.append(Node(task.task_key, type_words(task), task.condition_task is not None, label))
        edges += [Edge(d.task_key, task.task_key, d.outcome or "", run_if in FAILURE_RUN_IFS)
                  for d in task.depends_on]
    return Graph(tuple(nodes), tuple(edges))


def _policies(settings: JobSettings, tasks: Sequence[Task]) -> list[str]:
    job = [timeout_words(settings.timeout_seconds), health_words(settings.health)]
    job.append(concurrency_words(settings))
    lines = [f"the job: {'; '.join(part for part in job if part)}"]
    lines += [f"`{task.task_key}`: {task_policy_words(task)}" for task in tasks]
    return lines


def concurrency_words(settings: JobSettings) -> str:
    """What the engine does with a run started while others of the job run."""
    runs = settings.max_concurrent_runs
    limits = Limits.of(settings.model_dump(mode="json", exclude_none=True))
    if limits.max_concurrent_runs == 0:
        return "every run is skipped (max_concurrent_runs 0)"
    count = limits.max_concurrent_runs
    words = f"at most {count} run{'' if count == 1 else 's'} at a time"
    if runs is None:
        words += " (the default)"
    return words + ("; more wait in the queue, first in first out" if limits.queue_enabled
                    else "; more are skipped (the queue is off)")


def _parameter_table(settings: JobSettings, targets: Mapping[str, JobSettings]) -> ParameterTable:
    columns = dict(targets) if targets else {"default": settings}
    names = list(dict.fromkeys(p.name for job in columns.values() for p in job.parameters))
    rows = []
    for name in names:
        values = tuple(next((p.default for p in job.parameters if p.name == name), None)
                       for job in columns.values())
        rows.append((name, values))
    return ParameterTable(tuple(columns), tuple(rows), by_target=bool(targets))


def _schedules(
    settings: JobSettings, targets: Mapping[str, JobSettings], now: datetime | None
) -> tuple[tuple[str | None, str], ...]:
    if not targets:
        return ((None, _schedule_words(settings, now)),)
    return tuple((name, _schedule_words(job, now)) for name, job in targets.items())


def _schedule_words(settings: JobSettings, now: datetime | None) -> str:
    """When the job runs, and for an unpaused cron schedule the next fire times after `now`
    (for each one among its `triggers`)."""
    if settings.triggers:
        return " or ".join(_schedule_words(view, now) for view in trigger_views(settings))
    words, schedule = timing_words(settings), settings.schedule
    if now is None or schedule is None or schedule.pause_status == PauseStatus.PAUSED:
        return words
    upcoming = next_fire_words(schedule.quartz_cron_expression, schedule.timezone_id, now)
    return f"{words}; {upcoming}" if upcoming else words
