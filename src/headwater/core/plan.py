"""The plan of a job: its tasks as a graph, checked, ordered, with the leaves marked.

Built once per run from validated `JobSettings`; frozen, so the state machine can share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from headwater.core.graph import find_cycle
from headwater.core.spec import JobSettings, RunIf, Task
from headwater.errors import PlanError


@dataclass(frozen=True, slots=True)
class Dependency:
    """An edge: this task waits on `task_key`; `outcome` gates on a condition's branch."""

    task_key: str
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_retries` (-1: forever), the minimum interval, and whether timeouts retry."""

    max_retries: int = 0
    min_interval: timedelta = timedelta(0)
    retry_on_timeout: bool = False


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task of the plan with the settings the state machine acts on."""

    key: str
    kind: str  # the task type field: "shell_command_task", "condition_task", ...
    depends_on: tuple[Dependency, ...]
    run_if: RunIf
    retry: RetryPolicy
    timeout: timedelta | None
    disabled: bool
    spec: Task = field(compare=False, repr=False)
    nested: PlannedTask | None = None  # a for-each's task, run once per input
    concurrency: int = 1  # a for-each's iterations at once


@dataclass(frozen=True, slots=True)
class Plan:
    """Tasks by key, a topological order, who depends on whom, and the leaf tasks."""

    tasks: Mapping[str, PlannedTask]
    order: tuple[str, ...]
    dependants: Mapping[str, tuple[str, ...]]
    leaves: frozenset[str]
    timeout: timedelta | None = None
    name: str = ""
    position: Mapping[str, int] = field(default_factory=dict)  # index in `order`

    def upstream_closure(self, key: str) -> set[str]:
        """Every task `key` depends on, directly or not."""
        seen: set[str] = set()
        stack = [d.task_key for d in self.tasks[key].depends_on]
        while stack:
            up = stack.pop()
            if up not in seen:
                seen.add(up)
                stack.extend(d.task_key for d in self.tasks[up].depends_on)
        return seen

    def downstream_closure(self, keys: set[str]) -> set[str]:
        """Every task that depends on one of `keys`, directly or not (without `keys`)."""
        seen: set[str] = set()
        stack = [below for key in keys for below in self.dependants.get(key, ())]
        while stack:
            below = stack.pop()
            if below not in seen:
                seen.add(below)
                stack.extend(self.dependants.get(below, ()))
        return seen - keys


def planned_task(task: Task) -> PlannedTask:
    """The state machine's view of one task spec."""
    loop = task.for_each_task
    return PlannedTask(
        key=task.task_key,
        kind=task.task_type,
        depends_on=tuple(Dependency(d.task_key, d.outcome) for d in task.depends_on),
        run_if=task.run_if or RunIf.ALL_SUCCESS,
        retry=RetryPolicy(
            max_retries=task.max_retries or 0,
            min_interval=timedelta(milliseconds=task.min_retry_interval_millis or 0),
            retry_on_timeout=bool(task.retry_on_timeout),
        ),
        timeout=timedelta(seconds=task.timeout_seconds) if task.timeout_seconds else None,
        disabled=bool(task.disabled),
        spec=task,
        nested=planned_task(loop.task) if loop is not None else None,
        concurrency=(loop.concurrency or 1) if loop is not None else 1,
    )


def for_each_running(plan: Plan, key: str) -> PlannedTask | None:
    """The for-each task whose iterations run the task `key` (not a task of the plan), if
    any: where a user who names it should look instead."""
    return next((task for task in plan.tasks.values()
                 if task.nested is not None and task.nested.key == key), None)


def build_plan(settings: JobSettings) -> Plan:
    """Check the graph (unknown dependencies, cycles) and order it.

    Raises:
        PlanError: naming the unknown dependency or the tasks on a cycle.
    """
    tasks = {t.task_key: planned_task(t) for t in settings.tasks}
    dependants: dict[str, list[str]] = {key: [] for key in tasks}
    for task in tasks.values():
        for dep in task.depends_on:
            if dep.task_key not in tasks:
                raise PlanError(f"task {task.key!r} depends on unknown task {dep.task_key!r}")
            dependants[dep.task_key].append(task.key)
    order = topological_order(tasks, dependants)
    leaves = frozenset(key for key, below in dependants.items() if not below)
    timeout = timedelta(seconds=settings.timeout_seconds) if settings.timeout_seconds else None
    return Plan(
        tasks=tasks,
        order=order,
        dependants={k: tuple(v) for k, v in dependants.items()},
        leaves=leaves,
        timeout=timeout,
        name=settings.name or "",
        position={key: index for index, key in enumerate(order)},
    )


def topological_order(
    tasks: Mapping[str, PlannedTask], dependants: Mapping[str, list[str]]
) -> tuple[str, ...]:
    """Kahn's algorithm in declaration order; raises `PlanError` naming a cycle."""
    waiting = {key: len({d.task_key for d in t.depends_on}) for key, t in tasks.items()}
    ready = [key for key, count in waiting.items() if count == 0]
    order: list[str] = []
    while ready:
        key = ready.pop(0)
        order.append(key)
        for below in dict.fromkeys(dependants[key]):
            waiting[below] -= 1
            if waiting[below] == 0:
                ready.append(below)
    if len(order) < len(tasks):
        upstream = {key: [d.task_key for d in t.depends_on] for key, t in tasks.items()}
        raise PlanError(f"the tasks form a cycle: {' -> '.join(find_cycle(upstream))}")
    return tuple(order)
