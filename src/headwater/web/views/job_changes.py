"""The other edits of a job page, each as the `new_settings` and `fields_to_remove` of a
`jobs/update`: a new task, a task removed, the schedule changed; and an edit shown as a diff
of the settings' YAML before it is saved. Pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from headwater.core.job_update import updated
from headwater.core.spec import ConditionTaskOp, JobSettings
from headwater.errors import Problem
from headwater.web.forms import Form
from headwater.web.views.task_form import Reading, task_of_form

# The types a new task may have here, with the field that says what it runs.
NEW_TASK_TYPES = {
    "notebook_task": ("Notebook", "notebook_path", "Notebook path"),
    "spark_python_task": ("Python script", "python_file", "Python file"),
    "shell_command_task": ("Shell command", "command", "Command"),
    "sql_task": ("SQL file", "file", "SQL file path"),
    "dbt_task": ("dbt", "commands", "First dbt command (more under Parameters)"),
    "condition_task": ("Condition", "left", "Left operand"),
}
PAUSE_STATUSES = ("UNPAUSED", "PAUSED")
# Where the service locates a task's problem: in the edit sent, or in the job it merges into.
_SENT_TASK = re.compile(r"\$\.new_settings\.tasks\[(\d+)\](.*)", re.S)
_JOB_TASK = re.compile(r"the job's \$\.tasks\[(\d+)\](.*)", re.S)


@dataclass
class Change:
    """An edit as `jobs/update` takes it, and the problems found reading its form."""

    new_settings: dict[str, Any] = field(default_factory=dict)
    fields_to_remove: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def named_by_key(self, settings: Mapping[str, Any], problem: Problem) -> str:
        """A problem the service found in this edit of a job with `settings`, its task named
        by key as the forms name it (`tasks[load].max_retries: ...`), not by its index in
        the request or in the job, which the page shows neither of."""
        match = _SENT_TASK.fullmatch(problem.where) or _JOB_TASK.fullmatch(problem.where)
        if match is None:
            return str(problem)
        tasks = (self.new_settings if match.re is _SENT_TASK else updated(
            settings, self.new_settings, self.fields_to_remove)[0]).get("tasks") or []
        index, rest = int(match[1]), match[2]
        key = tasks[index].get("task_key") if index < len(tasks) else None
        return str(problem) if key is None else f"tasks[{key}]{rest}: {problem.message}"


def task_change(current: Mapping[str, Any], form: Form) -> Change:
    """The edit of one task from the task editor."""
    reading = task_of_form(current, form)
    return Change({"tasks": [reading.task]}, [], reading.problems)


def new_task_change(form: Form, keys: Sequence[str]) -> Change:
    """A task added from the new-task form: its key, type and what it runs, then the
    editor's fields."""
    key, kind, main = form.get("task_key"), form.get("task_type"), form.get("main")
    problems = []
    if not key:
        problems.append("tasks[].task_key: give the new task a key")
    elif key in keys:
        problems.append(f"tasks[{key}].task_key: the job has a task {key!r} already")
    if kind not in NEW_TASK_TYPES:
        problems.append(f"tasks[{key}]: choose a task type")
        return Change(problems=problems)
    if not main:
        problems.append(f"tasks[{key}].{kind}.{NEW_TASK_TYPES[kind][1]}: required")
    reading: Reading = task_of_form({"task_key": key, kind: _type_body(kind, main, form)}, form)
    if kind == "dbt_task" and main:  # the first command, then the editor's list of them
        body = reading.task[kind]
        body["commands"] = [main, *body.get("commands", [])]
    return Change({"tasks": [reading.task]}, [], problems + reading.problems)


def _type_body(kind: str, main: str, form: Form) -> dict[str, Any]:
    if kind == "sql_task":
        return {"file": {"path": main}}
    if kind == "dbt_task":  # its commands are set once the editor's fields are read
        return {}
    if kind == "condition_task":
        op = form.get("op", "EQUAL_TO")
        return {"left": main, "op": op if op in ConditionTaskOp.__members__ else "EQUAL_TO",
                "right": form.get("right")}
    return {NEW_TASK_TYPES[kind][1]: main}


def removal_change(tasks: Sequence[Mapping[str, Any]], key: str) -> Change:
    """A task removed, and every dependency on it with it (or the graph would not plan)."""
    kept = []
    for task in tasks:
        depends = task.get("depends_on") or []
        if task["task_key"] != key and any(d["task_key"] == key for d in depends):
            rest = [d for d in depends if d["task_key"] != key]
            kept.append({k: v for k, v in task.items() if k != "depends_on"}
                        | ({"depends_on": rest} if rest else {}))
    return Change({"tasks": kept} if kept else {}, [f"tasks/{key}"])


def schedule_change(settings: Mapping[str, Any], form: Form) -> Change:
    """The schedule from the schedule form (`remove` drops it)."""
    if form.get("remove"):
        if "schedule" not in settings:
            return Change(problems=["schedule: the job has no schedule to remove"])
        return Change({}, ["schedule"])
    expression, zone = form.get("quartz_cron_expression"), form.get("timezone_id") or "UTC"
    status = form.get("pause_status", "UNPAUSED")
    problems = [] if expression else ["schedule.quartz_cron_expression: required"]
    if status not in PAUSE_STATUSES:
        problems.append(f"schedule.pause_status: {status!r} is not PAUSED or UNPAUSED")
    return Change({"schedule": {"quartz_cron_expression": expression, "timezone_id": zone,
                                "pause_status": status}}, [], problems)


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a diff: `add`, `remove`, `context` or `hunk` (a `@@` header)."""

    kind: str
    text: str


def settings_yaml(settings: JobSettings) -> str:
    """Settings as the job page shows them: YAML of the fields that are set, in the order of
    the Jobs API's `JobSettings` (name, description, ..., tasks), as a job file writes them
    (dumped by libyaml when it is there: a thousand tasks take a second in pure Python)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    fields = settings.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return yaml.dump(fields, Dumper=dumper, sort_keys=False, allow_unicode=True)


def diff(before: JobSettings, after: JobSettings) -> list[DiffLine]:
    """The unified diff of two settings' YAML (empty when they are the same); both written
    the same way (`settings_yaml`), so that only what the edit changes differs."""
    lines = difflib.unified_diff(settings_yaml(before).splitlines(),
                                 settings_yaml(after).splitlines(),
                                 "before", "after", lineterm="", n=3)
    found = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "add", "-": "remove"}.get(line[:1], "context")
        found.append(DiffLine(kind, line))
    return found


__all__ = ["NEW_TASK_TYPES", "Change", "DiffLine", "diff", "new_task_change", "removal_change",
           "schedule_change", "settings_yaml", "task_change"]
