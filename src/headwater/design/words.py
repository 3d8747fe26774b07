"""One task's or one job's settings in words: type, code, run_if, retries, timeouts, triggers.

Text here is plain with `code` spans in backticks; the Markdown renderer keeps them and the HTML
renderer turns them into `<code>`. Pure: settings in, strings out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from headwater.core.job_completion import monitored_label
from headwater.core.spec import (
    CronSchedule,
    Health,
    JobSettings,
    PauseStatus,
    RunIf,
    Task,
    TriggerSettings,
)
from headwater.core.spec_job import JobCompletionStatus, JobCompletionTrigger
from headwater.core.triggers import trigger_views
from headwater.design.schedule_words import duration_words, millis_words, schedule_in_words

__all__ = [
    "RUN_IF_WORDS",
    "TYPE_WORDS",
    "code_words",
    "duration_limit",
    "health_words",
    "joined_keys",
    "pause_words",
    "quoted",
    "retry_words",
    "run_if_clause",
    "task_policy_words",
    "timeout_words",
    "timing_words",
    "type_words",
]

TYPE_WORDS = {
    "notebook_task": "notebook",
    "spark_python_task": "Python script",
    "python_wheel_task": "Python wheel",
    "python_operator_task": "Python operator",
    "sql_task": "SQL",
    "dbt_task": "dbt",
    "run_job_task": "run job",
    "condition_task": "condition",
    "for_each_task": "for each",
    "shell_command_task": "shell command",
}
RUN_IF_WORDS = {
    RunIf.ALL_SUCCESS: "all succeeded",
    RunIf.AT_LEAST_ONE_SUCCESS: "at least one succeeded",
    RunIf.NONE_FAILED: "none failed",
    RunIf.ALL_DONE: "all are done, whatever their result",
    RunIf.AT_LEAST_ONE_FAILED: "at least one failed",
    RunIf.ALL_FAILED: "all failed",
}
RUN_IF_CLAUSES = {
    RunIf.ALL_SUCCESS: "all of {keys} succeeded",
    RunIf.AT_LEAST_ONE_SUCCESS: "at least one of {keys} succeeded",
    RunIf.NONE_FAILED: "none of {keys} failed",
    RunIf.ALL_DONE: "all of {keys} finished, whatever their result",
    RunIf.AT_LEAST_ONE_FAILED: "at least one of {keys} failed",
    RunIf.ALL_FAILED: "all of {keys} failed",
}
MAX_CODE_CHARS = 120


def type_words(task: Task) -> str:
    """`notebook`, `shell command`, or `for each: notebook` for a loop."""
    words = TYPE_WORDS[task.task_type]
    loop = task.for_each_task
    return f"{words}: {type_words(loop.task)}" if loop is not None else words


def quoted(text: str) -> str:
    """A code span of `text` on one line, cut to a readable length."""
    flat = " ".join(text.split())
    if len(flat) > MAX_CODE_CHARS:
        flat = flat[: MAX_CODE_CHARS - 1] + "…"
    return "`" + flat.replace("`", "'") + "`"


def joined_keys(keys: Sequence[str]) -> str:
    """`` `a`, `b` and `c` ``."""
    spans = [f"`{key}`" for key in keys]
    return spans[0] if len(spans) == 1 else f"{', '.join(spans[:-1])} and {spans[-1]}"


def run_if_clause(run_if: RunIf, keys: Sequence[str]) -> str:
    """`at least one of `a` and `b` failed`; `` `a` failed `` for one dependency."""
    clause = RUN_IF_CLAUSES[run_if]
    if len(keys) == 1:
        clause = clause.replace("all of ", "").replace("at least one of ", "")
        clause = clause.replace("none of {keys} failed", "{keys} did not fail")
    return clause.format(keys=joined_keys(keys))


def _arguments(values: Sequence[str]) -> str:
    return "".join(f" {quoted(value)}" for value in values)


def _named(values: Mapping[str, str]) -> str:
    return "".join(f" {quoted(f'{name}={value}')}" for name, value in values.items())


def code_words(task: Task) -> str:
    """What the task runs: the notebook path, the script and its arguments, the command, ..."""
    if task.notebook_task is not None:
        notebook = task.notebook_task
        return quoted(notebook.notebook_path) + _named(notebook.base_parameters)
    if task.spark_python_task is not None:
        script = task.spark_python_task
        return quoted(script.python_file) + _arguments(script.parameters)
    if task.python_wheel_task is not None:
        wheel = task.python_wheel_task
        entry = quoted(f"{wheel.package_name}:{wheel.entry_point}")
        return entry + _arguments(wheel.parameters) + _named(wheel.named_parameters)
    if task.python_operator_task is not None:
        operator = task.python_operator_task
        return quoted(operator.main) + _named({p.name: p.value for p in operator.parameters})
    if task.sql_task is not None:
        return _sql_words(task)
    return _flow_words(task)


def _flow_words(task: Task) -> str:
    """What a task of the other types runs: dbt commands, another job, a comparison, ..."""
    if task.dbt_task is not None:
        return ", then ".join(quoted(command) for command in task.dbt_task.commands)
    if task.run_job_task is not None:
        run = task.run_job_task
        name = run.job_name or f"job id {run.job_id}"
        return f"job {quoted(name)}" + _named(run.job_parameters)
    if task.condition_task is not None:
        condition = task.condition_task
        return f"{quoted(condition.left)} {condition.op.value} {quoted(condition.right)}"
    if task.for_each_task is not None:
        loop = task.for_each_task
        return f"for each of {quoted(loop.inputs)}: {code_words(loop.task)}"
    if task.shell_command_task is not None:
        return quoted(task.shell_command_task.command)
    return ""


def _sql_words(task: Task) -> str:
    sql = task.sql_task
    if sql is None:
        return ""
    if sql.file is not None:
        text = f"file {quoted(sql.file.path)}"
    elif sql.query is not None and sql.query.query_text:
        text = quoted(sql.query.query_text)
    else:
        query_id = sql.query.query_id if sql.query else None
        text = f"query {quoted(query_id or '?')}"
    return text + _named(sql.parameters)


def retry_words(task: Task) -> str:
    """`3 retries, at least 1 minute apart, timeouts retried: no`, or `no retries`."""
    retries = task.max_retries or 0
    if retries == 0:
        return "no retries"
    words = "retries without limit" if retries < 0 else (
        "1 retry" if retries == 1 else f"{retries} retries")
    if task.min_retry_interval_millis:
        words += f", at least {millis_words(task.min_retry_interval_millis)} apart"
    return f"{words}, timeouts retried: {'yes' if task.retry_on_timeout else 'no'}"


def timeout_words(seconds: int | None) -> str:
    """`times out after 5 minutes`, or `no timeout` (unset or 0)."""
    return f"times out after {duration_words(seconds)}" if seconds else "no timeout"


def duration_limit(health: Health | None) -> int | None:
    """The smallest `RUN_DURATION_SECONDS` health limit, in seconds; None without one."""
    limits = [rule.value for rule in (health.rules if health else [])
              if rule.metric == "RUN_DURATION_SECONDS"]
    return min(limits) if limits else None


def health_words(health: Health | None) -> str:
    """`duration warning after 10 minutes`, or "" without a duration health rule."""
    limit = duration_limit(health)
    return f"duration warning after {duration_words(limit)}" if limit is not None else ""


def task_policy_words(task: Task) -> str:
    """Retries, timeout and duration warning of a task, e.g. `no retries; no timeout`."""
    loop = task.for_each_task
    if loop is not None:
        return f"each iteration: {task_policy_words(loop.task)}"
    if task.condition_task is not None and not task.max_retries and not task.timeout_seconds:
        return "a condition, decided at once: no retries or timeout needed"
    parts = [retry_words(task), timeout_words(task.timeout_seconds), health_words(task.health)]
    return "; ".join(part for part in parts if part)


def pause_words(status: PauseStatus | None) -> str:
    return "paused" if status == PauseStatus.PAUSED else "unpaused"


def _cron_words(schedule: CronSchedule) -> str:
    words = schedule_in_words(schedule.quartz_cron_expression, schedule.timezone_id)
    return f"{words}{_condition_words(schedule.sql_condition)} " \
        f"({pause_words(schedule.pause_status)})"


def _condition_words(sql_condition: object) -> str:
    return "" if sql_condition is None else ", its SQL condition not checked (no saved queries)"


def _trigger_words(trigger: TriggerSettings) -> str:
    if trigger.periodic is not None:
        unit = trigger.periodic.unit.value.lower().removesuffix("s")
        interval = trigger.periodic.interval
        words = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
        words += " (periodic trigger)"
    elif trigger.file_arrival is not None:
        words = f"when new files arrive in {quoted(trigger.file_arrival.url)}"
    elif trigger.table_update is not None:
        update = trigger.table_update
        which = "all of" if update.condition == "ALL_UPDATED" else "any of"
        words = f"when {which} {joined_keys(update.table_names)} is updated"
    elif trigger.job_completion is not None:
        words = _completion_words(trigger.job_completion)
    elif trigger.model is not None:
        words = "on a Unity Catalog model's versions (model trigger: never fires here)"
    else:
        words = "on a trigger with no kind set"
    return f"{words}{_condition_words(trigger.sql_condition)} " \
        f"({pause_words(trigger.pause_status)})"


def _completion_words(completion: JobCompletionTrigger) -> str:
    jobs = [monitored_label(job) for job in completion.jobs]
    ending = {JobCompletionStatus.FAILED: "failed", JobCompletionStatus.DONE: "ended"}.get(
        completion.if_status or JobCompletionStatus.SUCCESS, "succeeded")
    subject = jobs[0] if len(jobs) == 1 else f"each of {', '.join(jobs[:-1])} and {jobs[-1]}"
    return f"when {subject} has {ending} (job completion trigger)"


def timing_words(settings: JobSettings) -> str:
    """When the job runs: its schedule, trigger or continuous mode in words (each of its
    `triggers`, joined by "or": any of them starts a run)."""
    if settings.triggers:
        return " or ".join(timing_words(view) for view in trigger_views(settings))
    found = []
    if settings.schedule is not None:
        found.append(_cron_words(settings.schedule))
    if settings.trigger is not None:
        found.append(_trigger_words(settings.trigger))
    if settings.continuous is not None:
        status = pause_words(settings.continuous.pause_status)
        found.append(f"continuously: a new run starts when one ends ({status})")
    return "; ".join(found) or "not scheduled: runs only when started by hand"
