"""`run-now`'s legacy task parameters: `notebook_params`, `python_params`, `python_named_params`,
`sql_params` and `dbt_commands`, the per-task-type maps and lists that predate job parameters.

Scripts and schedulers still send them (Airflow's `DatabricksRunNowOperator` among others).
As in Lakeflow they are for jobs without job parameters, and each reaches every task of its
type for this one run (docs/semantics.md): a map is merged over the task's own (the run's
values win), a list replaces the task's. `checked` refuses what headwater would otherwise
ignore: a kind no task of the job takes, and the JAR, spark-submit and pipeline ones, since
headwater runs no such tasks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from headwater.core.spec import JobSettings, Task
from headwater.errors import InvalidRequest

# kind -> (the task types it reaches, their field it sets, merged (a map) or replaced (a list))
TAKEN_BY: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "notebook_params": (("notebook_task",), "base_parameters", True),
    "python_params": (("spark_python_task", "python_wheel_task"), "parameters", False),
    "python_named_params": (("python_wheel_task",), "named_parameters", True),
    "sql_params": (("sql_task",), "parameters", True),
    "dbt_commands": (("dbt_task",), "commands", False),
}
# Kinds for task types headwater does not run, with what they are for.
NOT_RUN = {"jar_params": "JAR tasks (spark_jar_task)",
           "spark_submit_params": "spark_submit_task", "pipeline_params": "pipeline tasks"}
KINDS = (*TAKEN_BY, *NOT_RUN)  # every legacy task parameter field of run-now
MAX_BYTES = 10_000  # of each kind's JSON, as the Jobs API allows


def given(source: object) -> dict[str, Any]:
    """The legacy task parameters `source` (a run-now body, a Run Job task) sets, by kind."""
    return {kind: value for kind in KINDS if (value := getattr(source, kind, None))}


def checked(settings: JobSettings, given: Mapping[str, Any]) -> dict[str, Any] | None:
    """The legacy parameters a run of `settings` gets, from `given` (kind -> value; empty
    values count as not given); None when there are none.

    Raises:
        InvalidRequest: every problem at once, each naming its field.
    """
    asked = {kind: value for kind, value in given.items() if value}
    problems = [f"{kind}: headwater runs no {what}; remove it"
                for kind, what in NOT_RUN.items() if kind in asked]
    asked = {kind: value for kind, value in asked.items() if kind in TAKEN_BY}
    for kind, value in asked.items():
        size = len(json.dumps({kind: value}))
        if size > MAX_BYTES:
            problems.append(f"{kind}: {size} bytes of JSON, more than the {MAX_BYTES} allowed")
        types, _, _ = TAKEN_BY[kind]
        if not any(task.task_type in types for task in _all_tasks(settings)):
            problems.append(f"{kind}: the job has no {' or '.join(types)} to take it; pass "
                            "job_parameters instead")
    declared = [parameter.name for parameter in settings.parameters]
    if asked and declared:
        problems.append(f"{', '.join(asked)}: the job declares job parameters "
                        f"({', '.join(declared)}), and a job's runs take either those or the "
                        "legacy task parameters, not both; pass job_parameters instead")
    if problems:
        raise InvalidRequest("The run's task parameters cannot be used:\n  "
                             + "\n  ".join(problems))
    return asked or None


def over(kept: Mapping[str, Any] | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """A repair's legacy parameters: `given` over the run's own (`kept`), each kind as it goes
    over a task's (a map merged, the repair's values winning; a list replaced)."""
    found = dict(kept or {})
    for kind, value in given.items():
        if not value:
            continue
        merged = kind in TAKEN_BY and TAKEN_BY[kind][2]
        found[kind] = {**found.get(kind, {}), **value} if merged else value
    return found


def apply(settings: JobSettings, parameters: Mapping[str, Any] | None) -> JobSettings:
    """`settings` with `parameters` (as `checked` returns them) set on every task they reach,
    a for-each's nested task included."""
    if not parameters:
        return settings
    return settings.model_copy(update={"tasks": [_applied(task, parameters)
                                                 for task in settings.tasks]})


def _applied(task: Task, parameters: Mapping[str, Any]) -> Task:
    loop = task.for_each_task
    if loop is not None:
        nested = loop.model_copy(update={"task": _applied(loop.task, parameters)})
        return task.model_copy(update={"for_each_task": nested})
    payload = getattr(task, task.task_type)
    changes: dict[str, Any] = {}
    for kind, value in parameters.items():
        types, field, merged = TAKEN_BY[kind]
        if task.task_type in types:
            changes[field] = {**getattr(payload, field), **value} if merged else list(value)
    if not changes:
        return task
    return task.model_copy(update={task.task_type: payload.model_copy(update=changes)})


def _all_tasks(settings: JobSettings) -> list[Task]:
    tasks = list(settings.tasks)
    return tasks + [t.for_each_task.task for t in tasks if t.for_each_task is not None]


__all__ = ["KINDS", "NOT_RUN", "TAKEN_BY", "apply", "checked", "given"]
