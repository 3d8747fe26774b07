"""Partial runs: `run-now`'s `only`, the tasks of a job that one run runs.

Each entry of `only` names a task: `key` runs that task, `+key` also everything upstream of
it, `key+` everything downstream, `+key+` both (Lakeflow's syntax, as `databricks bundle run
--only` sends it). The run is planned from the job restricted to those tasks (`restrict`): a
task outside the selection is not part of the run at all, and a selected task's dependency on
one is dropped, so that the selection starts where it begins (docs/semantics.md).

A selected task that reads a value of a task left out (`{{tasks.<key>.values...}}`) could
only fail, so `select` refuses it up front and says which task to add.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from headwater.core.checks_refs import task_fields
from headwater.core.plan import build_plan
from headwater.core.refs_syntax import did_you_mean, find_references
from headwater.core.spec import JobSettings, Task
from headwater.errors import InvalidRequest


def split_keys(texts: Iterable[str]) -> list[str]:
    """The entries of comma-separated texts (`--only a,b+ --only +c`, a form's field)."""
    return [key.strip() for text in texts for key in text.split(",") if key.strip()]


def select(settings: JobSettings, only: Sequence[str] | None) -> tuple[str, ...] | None:
    """The task keys a run with `only` runs, in the job's order; None (every task) when
    `only` is absent or empty, as Lakeflow reads an empty list.

    Raises:
        InvalidRequest: every problem in one report, each naming its `only[i]`: an entry that
            names no task of the job, or a selected task reading a value of a task left out.
        PlanError: when the job cannot be planned.
    """
    if not only:
        return None
    keys = [task.task_key for task in settings.tasks]
    plan = build_plan(settings)
    chosen: set[str] = set()
    problems: list[str] = []
    for index, entry in enumerate(only):
        key = entry.removeprefix("+").removesuffix("+") if len(entry) > 1 else entry
        if key not in plan.tasks:
            problems.append(f"only[{index}]: no task {key!r} in this job"
                            f"{did_you_mean(key, keys)}; write a task key, '+key' to add what "
                            "runs before it, 'key+' to add what runs after it")
            continue
        chosen.add(key)
        if entry.startswith("+") and entry != key:
            chosen |= plan.upstream_closure(key)
        if entry.endswith("+") and entry != key:
            chosen |= plan.downstream_closure({key})
    problems += _values_left_out(settings, chosen, only)
    if problems:
        raise InvalidRequest("This partial run cannot run as asked:\n  " + "\n  ".join(problems))
    return tuple(key for key in keys if key in chosen)


def restrict(settings: JobSettings, keys: Collection[str] | None) -> JobSettings:
    """`settings` with only the tasks `keys` (all when None), their dependencies on tasks
    left out dropped."""
    if keys is None:
        return settings
    kept = set(keys)
    return settings.model_copy(update={"tasks": [
        task.model_copy(update={"depends_on": [d for d in task.depends_on
                                               if d.task_key in kept]})
        for task in settings.tasks if task.task_key in kept]})


def _values_left_out(settings: JobSettings, chosen: set[str], only: Sequence[str]
                     ) -> list[str]:
    """A problem for each task reference of a selected task to a task left out."""
    problems = []
    for task in settings.tasks:
        if task.task_key not in chosen:
            continue
        for raw, key in _task_references(task):
            if key not in chosen and key != task.task_key:
                problems.append(
                    f"task {task.task_key!r} reads {raw}, but {key!r} is not in the run "
                    f"(only: {list(only)}): add {key!r}, or '+{task.task_key}' to run "
                    f"everything {task.task_key!r} depends on")
    return problems


def _task_references(task: Task) -> list[tuple[str, str]]:
    """`(raw, task key)` of each `{{tasks.<key>...}}` in the fields of `task` (and of its
    for-each's nested task)."""
    tasks = [task] if task.for_each_task is None else [task, task.for_each_task.task]
    return [(reference.raw, reference.parts[0])
            for each in tasks for _, text in task_fields("", each)
            for reference in find_references(text)
            if reference.is_known and reference.namespace == "tasks" and reference.parts]


__all__ = ["restrict", "select", "split_keys"]
