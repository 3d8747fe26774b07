"""The task editor, as Lakeflow's task panel has it: a task's dependencies, its Run if
condition, retries (max retries, minimum interval, retry on timeout), timeout, parameters and
e-mail notifications, as form fields; and the task's settings again from what was posted.

The editor changes only those fields and keeps every other setting of the task as it was;
the result is one entry of `new_settings.tasks` for `jobs/update`, which replaces the task of
the same key. Every field that cannot be read is reported at once, named as the Jobs API
names it (`tasks[report].max_retries`). Pure: dictionaries and form fields in and out.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.core.spec import TASK_TYPES, RunIf
from headwater.web.forms import Form

RUN_IF_CHOICES = (
    (RunIf.ALL_SUCCESS, "All succeeded"),
    (RunIf.AT_LEAST_ONE_SUCCESS, "At least one succeeded"),
    (RunIf.NONE_FAILED, "None failed"),
    (RunIf.ALL_DONE, "All done"),
    (RunIf.AT_LEAST_ONE_FAILED, "At least one failed"),
    (RunIf.ALL_FAILED, "All failed"),
)
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}
EMAIL_EVENTS = (("on_start", "Start"), ("on_success", "Success"), ("on_failure", "Failure"),
                ("on_duration_warning_threshold_exceeded", "Duration warning"))
# Where each task type keeps its parameters, and how the editor writes them: `named` as
# `name=value` lines, `list` one per line.
PARAMETERS = {
    "notebook_task": ("base_parameters", "named"),
    "spark_python_task": ("parameters", "list"),
    "python_wheel_task": ("parameters", "list"),
    "sql_task": ("parameters", "named"),
    "dbt_task": ("commands", "list"),  # labelled Commands: see PARAMETER_LABELS
    "run_job_task": ("job_parameters", "named"),
    "shell_command_task": ("env", "named"),
}

PARAMETER_LABELS = {"dbt_task": "Commands"}  # the editor's label, where not "Parameters"


@dataclass(frozen=True, slots=True)
class Dependency:
    """A task the edited task may depend on, whether it does, and on which branch."""

    task_key: str
    checked: bool
    condition: bool  # a condition task: its dependants pick a branch
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class TaskFields:
    """What the editor shows for one task."""

    task_key: str
    task_type: str
    dependencies: Sequence[Dependency]
    run_if: str
    max_retries: str
    interval: str
    interval_unit: str
    retry_on_timeout: bool
    timeout: str
    timeout_unit: str
    parameters: str
    parameters_kind: str | None  # "named", "list", or None: the type takes none
    parameters_label: str  # what the type calls them: "Parameters", a dbt task's "Commands"
    emails: Mapping[str, str]
    destinations: Mapping[str, str]  # webhook and Slack destination ids, by event
    description: str
    runs: str = ""  # what it runs: its type's settings but the parameters, as JSON


@dataclass
class Reading:
    """The task read back from the form, and every problem found on the way."""

    task: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def split_duration(millis: int) -> tuple[str, str]:
    """A duration in the largest unit that divides it: (`"1"`, `"minutes"`) for 60,000 ms,
    (`"1.5"`, `"seconds"`) for 1,500."""
    if millis == 0:
        return "", "seconds"
    for unit in ("hours", "minutes", "seconds"):
        if millis % (UNITS[unit] * 1000) == 0:
            return str(millis // (UNITS[unit] * 1000)), unit
    return f"{millis / 1000:g}", "seconds"


def task_type(task: Mapping[str, Any]) -> str:
    """The task-type field a task's settings set (`notebook_task`, ...), "" for none."""
    return next((name for name in TASK_TYPES if name in task), "")


def fields_of(task: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> TaskFields:
    """The editor's fields for `task`, among the job's `others` tasks."""
    kind = task_type(task)
    depends = {d["task_key"]: d.get("outcome") or "" for d in task.get("depends_on", [])}
    interval, interval_unit = split_duration(int(task.get("min_retry_interval_millis", 0)))
    timeout, timeout_unit = split_duration(int(task.get("timeout_seconds", 0)) * 1000)
    where, parameters_kind = PARAMETERS.get(kind, ("", None))
    emails = task.get("email_notifications") or {}
    hooks = task.get("webhook_notifications") or {}
    return TaskFields(
        task_key=str(task.get("task_key", "")), task_type=kind,
        dependencies=[Dependency(o["task_key"], o["task_key"] in depends,
                                 "condition_task" in o, depends.get(o["task_key"], ""))
                      for o in others if o["task_key"] != task.get("task_key")],
        run_if=str(task.get("run_if") or RunIf.ALL_SUCCESS),
        max_retries=str(task.get("max_retries", 0)),
        interval=interval, interval_unit=interval_unit,
        retry_on_timeout=bool(task.get("retry_on_timeout")),
        timeout=timeout, timeout_unit=timeout_unit,
        parameters=_parameters_text(task.get(kind, {}).get(where), parameters_kind),
        parameters_kind=parameters_kind,
        parameters_label=PARAMETER_LABELS.get(kind, "Parameters"),
        emails={event: ", ".join(emails.get(event, [])) for event, _ in EMAIL_EVENTS},
        destinations={event: ", ".join(hook["id"] for hook in hooks.get(event, []))
                      for event, _ in EMAIL_EVENTS},
        description=str(task.get("description") or ""),
        runs=json.dumps({key: value for key, value in (task.get(kind) or {}).items()
                         if key != where}),
    )


def task_of_form(current: Mapping[str, Any], form: Form) -> Reading:
    """The task after the editor's changes; every other setting kept."""
    task = copy.deepcopy(dict(current))
    reading = Reading(task)
    where = f"tasks[{task.get('task_key')}]"
    _read_dependencies(reading, form)
    run_if = form.get("run_if", str(RunIf.ALL_SUCCESS))
    if run_if not in RunIf.__members__:
        reading.problems.append(f"{where}.run_if: {run_if!r} is not a Run if condition")
    _set(task, "run_if", None if run_if == RunIf.ALL_SUCCESS else run_if)
    retries = _integer(reading, form.get("max_retries") or "0", f"{where}.max_retries", -1)
    _set(task, "max_retries", retries or None)
    interval = _millis(reading, form, "interval", f"{where}.min_retry_interval_millis")
    _set(task, "min_retry_interval_millis", interval or None)
    _set(task, "retry_on_timeout", True if form.get("retry_on_timeout") else None)
    timeout = _millis(reading, form, "timeout", f"{where}.timeout_seconds")
    _set(task, "timeout_seconds", round(timeout / 1000) or None)
    _read_parameters(reading, form.raw("parameters"), where)
    _read_notifications(reading, form, where)
    _set(task, "description", form.get("description") or None)
    return reading


def _read_dependencies(reading: Reading, form: Form) -> None:
    chosen = form.all("depends_on")
    outcomes = form.with_prefix("outcome:")
    deps = [{"task_key": key, **({"outcome": outcomes[key]} if outcomes.get(key) else {})}
            for key in chosen]
    _set(reading.task, "depends_on", deps or None)


def _read_parameters(reading: Reading, text: str, where: str) -> None:
    kind = task_type(reading.task)
    place, style = PARAMETERS.get(kind, ("", None))
    if style is None:
        return
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    body = reading.task.setdefault(kind, {})
    if style == "list":
        _set(body, place, lines or None)
        return
    named: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            reading.problems.append(f"{where}.{kind}.{place}: line {number} ({line!r}) is not "
                                    "name=value")
            continue
        named[name.strip()] = value.strip()
    _set(body, place, named or None)


def _read_notifications(reading: Reading, form: Form, where: str) -> None:
    """The e-mail addresses (`email:<event>`) and the webhook or Slack destination ids
    (`destination:<event>`) of each event, as lists separated by commas, spaces or `;`."""
    emails = dict(reading.task.get("email_notifications") or {})
    hooks = dict(reading.task.get("webhook_notifications") or {})
    for event, _ in EMAIL_EVENTS:
        addresses = _listed(form.get(f"email:{event}"))
        for address in addresses:
            if "@" not in address.strip("@"):
                reading.problems.append(f"{where}.email_notifications.{event}: {address!r} is "
                                        "not an e-mail address")
        _set(emails, event, addresses or None)
        ids = _listed(form.get(f"destination:{event}"))
        _set(hooks, event, [{"id": ident} for ident in ids] or None)
    _set(reading.task, "email_notifications", emails or None)
    _set(reading.task, "webhook_notifications", hooks or None)


def _listed(text: str) -> list[str]:
    return [item for item in text.replace(";", ",").replace(" ", ",").split(",") if item]


_LONGEST_MILLIS = (2**31 - 1) * 1000  # timeout_seconds is a 32-bit number of seconds


def _millis(reading: Reading, form: Form, name: str, where: str) -> int:
    """A duration field and its unit, in milliseconds."""
    text = form.get(name) or "0"
    unit = form.get(f"{name}_unit", "seconds")
    if unit not in UNITS:
        reading.problems.append(f"{where}: unknown unit {unit!r}")
        return 0
    try:
        amount = float(text)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount):  # nan and inf are floats too
        reading.problems.append(f"{where}: {text!r} is not a number")
        return 0
    if amount < 0:
        reading.problems.append(f"{where}: {text} {unit} is negative")
        return 0
    millis = amount * UNITS[unit] * 1000
    if millis > _LONGEST_MILLIS:
        reading.problems.append(f"{where}: {text} {unit} is longer than any timeout or interval "
                                "can be (about 68 years)")
        return 0
    return round(millis)


def _integer(reading: Reading, text: str, where: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        reading.problems.append(f"{where}: {text!r} is not a whole number")
        return 0
    if value < least:
        reading.problems.append(f"{where}: {value} is less than {least}")
    return value


def _parameters_text(value: object, kind: str | None) -> str:
    if isinstance(value, dict):
        return "\n".join(f"{name}={text}" for name, text in value.items())
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return ""


def _set(body: dict[str, Any], name: str, value: object) -> None:
    """Set a setting, or remove it when `value` is None (the API's "not set")."""
    if value is None:
        body.pop(name, None)
    else:
        body[name] = value


__all__ = ["EMAIL_EVENTS", "RUN_IF_CHOICES", "UNITS", "Dependency", "Reading", "TaskFields",
           "fields_of", "split_duration", "task_of_form"]
