"""Semantic checks of validated `JobSettings`: the rules a field type cannot express.

`check_job` returns every finding as `(path, message)`, with paths like
`tasks[3].depends_on[0].task_key`; it never raises. `core/load.py` turns the paths into
`file:line:col`. Also owns the path syntax (`format_path`, `parse_path`) and did-you-mean hints.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from headwater.core.checks_dbt import check_dbt_tasks
from headwater.core.checks_git import check_git
from headwater.core.checks_inputs import check_inputs
from headwater.core.checks_refs import check_references
from headwater.core.checks_triggers import check_trigger
from headwater.core.compute import cluster_size_problems
from headwater.core.git_source import reads_git
from headwater.core.graph import find_cycle
from headwater.core.inline import loop_items
from headwater.core.job_paths import (
    CODE_REFUSED_PREFIXES,
    WORKSPACE_PREFIXES,
    WORKSPACE_TOPS,
    leaves_its_folder,
    workspace_path_message,
)
from headwater.core.spec import MAX_TASKS, TASK_TYPES, JobSettings, Task
from headwater.core.spec_common import NOTIFICATION_EVENTS, Webhook
from headwater.core.spec_libraries import library_problems
from headwater.core.task_environment import parameter_variable
from headwater.core.task_variables import check_environment_variables

Finding = tuple[str, str]  # (path, message)
PathPart = str | int

TASK_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
PARAMETER_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
MAX_TASK_KEY_LENGTH = 100
MAX_DESTINATIONS_PER_EVENT = 3
MAX_CYCLES_REPORTED = 10
OUTCOMES = ("true", "false")
RETRY_FIELDS = ("max_retries", "min_retry_interval_millis", "retry_on_timeout")


def check_job(settings: JobSettings, destinations: Collection[str] | None = None
              ) -> list[Finding]:
    """Every semantic problem of `settings`, in a stable order; [] when it is valid.

    With `destinations` (the ids of the notification destinations configured where the job
    runs), a `webhook_notifications` id that is not one of them is a problem too.
    """
    findings: list[Finding] = []
    for check in _CHECKS:
        findings.extend(check(settings))
    if destinations is not None:
        findings.extend(unknown_destinations(settings, destinations))
    return findings


def suggest(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice, or "" when nothing is close; case
    aside (`all_done` is close to `ALL_DONE`)."""
    by_folded = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1)
    return f" (did you mean {by_folded[close[0]]!r}?)" if close else ""


def format_path(parts: Sequence[PathPart]) -> str:
    """`("tasks", 3, "task_key")` -> `tasks[3].task_key`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


def parse_path(path: str) -> tuple[PathPart, ...]:
    """`tasks[3].task_key` -> `("tasks", 3, "task_key")`; the inverse of `format_path`."""
    return tuple(
        int(index) if index else name for index, name in _PATH_PART.findall(path)
    )


def iter_tasks(settings: JobSettings) -> Iterator[tuple[str, Task]]:
    """Every task with its path, including the tasks nested in `for_each_task`s."""
    for index, task in enumerate(settings.tasks):
        path = f"tasks[{index}]"
        while True:
            yield path, task
            if task.for_each_task is None:
                break
            path, task = f"{path}.for_each_task.task", task.for_each_task.task


def _task_count(settings: JobSettings) -> Iterator[Finding]:
    if len(settings.tasks) > MAX_TASKS:
        yield "tasks", (
            f"a job has at most {MAX_TASKS} tasks (got {len(settings.tasks)}); "
            "split it and chain the parts with run_job_task"
        )


def _duplicate_task_keys(settings: JobSettings) -> Iterator[Finding]:
    first_index: dict[str, int] = {}
    for index, task in enumerate(settings.tasks):
        first = first_index.setdefault(task.task_key, index)
        if first != index:
            yield f"tasks[{index}].task_key", (
                f"duplicate task_key {task.task_key!r}: tasks[{first}] and tasks[{index}] "
                "both use it; task keys must be unique within a job"
            )


def _task_key_format(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        key = task.task_key
        if not TASK_KEY_PATTERN.fullmatch(key):
            yield f"{path}.task_key", (
                f"task_key {key!r} may contain only letters, digits, '_' and '-'"
            )
        elif len(key) > MAX_TASK_KEY_LENGTH:
            yield f"{path}.task_key", (
                f"task_key is {len(key)} characters long; the limit is {MAX_TASK_KEY_LENGTH}"
            )


def _task_types(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        found = task.task_types
        if not found:
            yield path, f"task {task.task_key!r} has no task type: set exactly one of " + ", ".join(
                TASK_TYPES
            )
        elif len(found) > 1:
            yield f"{path}.{found[1]}", (
                f"task {task.task_key!r} sets several task types ({', '.join(found)}); "
                "keep exactly one, or split it into several tasks"
            )


def _dependencies(settings: JobSettings) -> Iterator[Finding]:
    tasks = {task.task_key: task for task in settings.tasks}
    for index, task in enumerate(settings.tasks):
        seen: dict[str, int] = {}
        for position, dependency in enumerate(task.depends_on):
            path = f"tasks[{index}].depends_on[{position}]"
            upstream = dependency.task_key
            first = seen.setdefault(upstream, position)
            if first != position:
                yield path, (
                    f"duplicate dependency on {upstream!r} (also depends_on[{first}]); "
                    "remove one of them"
                )
            elif upstream == task.task_key:
                yield f"{path}.task_key", f"task {upstream!r} depends on itself; remove it"
            elif upstream not in tasks:
                yield f"{path}.task_key", (
                    f"unknown task {upstream!r}{suggest(upstream, tasks)}; depends_on names "
                    "the task_key of another task of this job"
                )
            yield from _outcome(path, dependency.outcome, tasks.get(upstream))


def _outcome(path: str, outcome: str | None, upstream: Task | None) -> Iterator[Finding]:
    if outcome is None:
        return
    if outcome not in OUTCOMES:
        yield f"{path}.outcome", f'outcome must be "true" or "false" (got {outcome!r})'
    if upstream is not None and upstream.condition_task is None:
        yield f"{path}.outcome", (
            f"outcome is allowed only on a condition_task upstream, and {upstream.task_key!r} "
            "is not one; remove outcome"
        )


def _cycles(settings: JobSettings) -> Iterator[Finding]:
    upstream = {
        task.task_key: [d.task_key for d in task.depends_on if d.task_key != task.task_key]
        for task in settings.tasks
    }
    position = {task.task_key: index for index, task in enumerate(settings.tasks)}
    for _ in range(MAX_CYCLES_REPORTED):
        cycle = find_cycle(upstream)
        if not cycle:
            return
        source, target = cycle[0], cycle[1]  # `target` depends on `source`
        edge = upstream[target].index(source)
        upstream[target].pop(edge)  # break it, to look for further cycles
        yield f"tasks[{position[target]}].depends_on[{edge}]", (
            f"the tasks form a cycle: {' -> '.join(cycle)}; remove one of these dependencies"
        )


def _for_each_rules(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        if task.for_each_task is None:
            continue
        inputs = task.for_each_task.inputs
        if "{{" not in inputs and isinstance(problem := loop_items(inputs), str):
            yield f"{path}.for_each_task.inputs", (
                f"{problem}; give a JSON array such as [\"a\", \"b\"], or a reference to one "
                "({{tasks.<key>.values.<name>}}, {{job.parameters.<name>}})")
        nested = task.for_each_task.task
        if nested.for_each_task is not None:
            yield f"{path}.for_each_task.task.for_each_task", (
                "a for_each_task cannot nest another for_each_task; wrap the inner loop in a "
                "separate job and call it with run_job_task"
            )
        if nested.depends_on:
            yield f"{path}.for_each_task.task.depends_on", (
                "the nested task of a for_each_task cannot have depends_on; put dependencies "
                "on the for_each task itself"
            )
        for name in _retry_fields_set(task):
            yield f"{path}.{name}", (
                f"{name} is not allowed on a for_each task itself; move it to the nested "
                "task (for_each_task.task), which is retried per iteration"
            )


def _condition_retries(settings: JobSettings) -> Iterator[Finding]:
    """Condition tasks are never retried and send no notifications (Lakeflow refuses both)."""
    for path, task in iter_tasks(settings):
        if task.condition_task is not None:
            for name in _retry_fields_set(task):
                yield f"{path}.{name}", f"condition tasks are never retried; remove {name}"
            for name in ("email_notifications", "webhook_notifications"):
                events = getattr(task, name)
                if events is not None and any(getattr(events, e, None) for e in
                                              NOTIFICATION_EVENTS):
                    yield f"{path}.{name}", (
                        f"condition tasks send no notifications; remove {name}, or put it on "
                        "the job or on a task the condition leads to")


def _retry_fields_set(task: Task) -> list[str]:
    """Retry fields with a non-default value (0 and false change nothing, so they pass)."""
    return [name for name in RETRY_FIELDS if getattr(task, name)]


def _run_job_targets(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        run_job = task.run_job_task
        if run_job is None:
            continue
        if run_job.job_id is None and run_job.job_name is None:
            yield f"{path}.run_job_task", "set job_id, or job_name for a job of this bundle"
        elif run_job.job_id is not None and run_job.job_name is not None:
            yield f"{path}.run_job_task.job_name", "set job_id or job_name, not both"


def _parameters(settings: JobSettings) -> Iterator[Finding]:
    first_index: dict[str, int] = {}
    by_variable: dict[str, str] = {}  # a task reads each parameter from its variable
    for index, parameter in enumerate(settings.parameters):
        name, path = parameter.name, f"parameters[{index}].name"
        first = first_index.setdefault(name, index)
        if first != index:
            yield path, f"duplicate job parameter {name!r} (also parameters[{first}])"
        elif not PARAMETER_NAME_PATTERN.fullmatch(name):
            yield path, (
                f"job parameter name {name!r} may contain only letters, digits, '_', '-' and '.'"
            )
        elif (other := by_variable.setdefault(variable := parameter_variable(name), name)) \
                != name:
            yield path, (f"job parameters {other!r} and {name!r} would both reach a task as the "
                         f"environment variable {variable}; rename one of them")


def _notifications(settings: JobSettings) -> Iterator[Finding]:
    for path, hooks in _webhook_lists(settings):
        if len(hooks) > MAX_DESTINATIONS_PER_EVENT:
            yield path, (
                f"at most {MAX_DESTINATIONS_PER_EVENT} destinations per event (got {len(hooks)})"
            )


def unknown_destinations(settings: JobSettings, known: Collection[str]) -> Iterator[Finding]:
    """Each `webhook_notifications` id of the job and its tasks that `known` (the configured
    destination ids) does not have: at run time its alert could only fail."""
    listed = ", ".join(sorted(known))
    configured = (f"the configured ones are: {listed}; correct the id, or add it" if known
                  else "none is configured: add it")
    for path, hooks in _webhook_lists(settings):
        for index, hook in enumerate(hooks):
            if hook.id not in known:
                yield f"{path}[{index}].id", (
                    f"no notification destination {hook.id!r}{suggest(hook.id, known)}; "
                    f"{configured} under `destinations:` in the configuration file "
                    "(headwater.yml)")


def _webhook_lists(settings: JobSettings) -> Iterator[tuple[str, Sequence[Webhook]]]:
    """The path and destinations of each event of the job's and its tasks'
    `webhook_notifications` (`webhook_notifications.on_failure`, ...)."""
    owners = [("webhook_notifications", settings.webhook_notifications)]
    owners += [(f"{path}.webhook_notifications", task.webhook_notifications)
               for path, task in iter_tasks(settings)]
    for path, notifications in owners:
        for event in NOTIFICATION_EVENTS if notifications is not None else ():
            yield f"{path}.{event}", getattr(notifications, event)


def _code_paths(settings: JobSettings) -> Iterator[Finding]:
    for path, value, in_git in _code_path_entries(settings):
        if in_git:
            if value.startswith(("/", *WORKSPACE_PREFIXES)) or "://" in value \
                    or leaves_its_folder(value):
                yield path, (
                    f"{value!r} is read from the job's Git repository (git_source), where "
                    "paths start at the repository's root: write it relative, without "
                    "'..', or set source: WORKSPACE to read a local file")
        elif value.startswith(CODE_REFUSED_PREFIXES):
            yield path, workspace_path_message(value, "runs files")
        elif leaves_its_folder(value):
            yield path, (
                f"{value!r} leaves the job file's folder, and headwater runs only the files "
                "inside it (as the Databricks CLI syncs only the bundle's folder): move the "
                "file inside it, or write the job in a bundle whose sync.paths take its "
                "folder in")


def _code_path_entries(settings: JobSettings) -> Iterator[tuple[str, str, bool]]:
    """Each task's code path: its path in the job, the value, and whether it is read from
    the job's Git repository."""
    for path, task in iter_tasks(settings):
        in_git = reads_git(task, settings)
        for field, value in _task_code_paths(task):
            yield f"{path}.{field}", value, in_git


def emailing_paths(settings: JobSettings) -> Iterator[str]:
    """The paths of the job's and its tasks' `email_notifications` that name an address."""
    owners = [("", settings.email_notifications),
              *((f"{path}.", task.email_notifications) for path, task in iter_tasks(settings))]
    for prefix, emails in owners:
        if emails is not None and any(getattr(emails, event, None)
                                      for event in NOTIFICATION_EVENTS):
            yield f"{prefix}email_notifications"


def local_code_paths(settings: JobSettings) -> Iterator[tuple[str, str]]:
    """The code paths a run reads from this machine's files, each with its path in the job
    (`tasks[0].notebook_task.notebook_path`): not those of the job's Git repository, nor
    workspace or cloud paths (`validate` checks the files are there)."""
    for path, value, in_git in _code_path_entries(settings):
        if not (in_git or value.startswith((*WORKSPACE_TOPS, *WORKSPACE_PREFIXES))
                or "://" in value):
            yield path, value


def _task_code_paths(task: Task) -> Iterator[tuple[str, str]]:
    if task.notebook_task is not None:
        yield "notebook_task.notebook_path", task.notebook_task.notebook_path
    if task.spark_python_task is not None:
        yield "spark_python_task.python_file", task.spark_python_task.python_file
    if task.sql_task is not None and task.sql_task.file is not None:
        yield "sql_task.file.path", task.sql_task.file.path
    if task.dbt_task is not None and task.dbt_task.project_directory is not None:
        yield "dbt_task.project_directory", task.dbt_task.project_directory


def _saved_queries(settings: JobSettings) -> Iterator[Finding]:
    """A saved query lives in a Databricks workspace's SQL editor: refused before the run, not
    when the task starts."""
    for path, task in iter_tasks(settings):
        query = task.sql_task.query if task.sql_task is not None else None
        if query is not None and query.query_id is not None and query.query_text is None:
            yield f"{path}.sql_task.query.query_id", (
                "query_id names a saved query of Databricks SQL, which headwater does not have; "
                "give the SQL itself as query.query_text, or as a .sql file in file.path")


def _environment_keys(settings: JobSettings) -> Iterator[Finding]:
    defined = [e.environment_key for e in settings.environments or []]
    for path, task in iter_tasks(settings):
        key = task.environment_key
        if key is not None and key not in defined:
            yield f"{path}.environment_key", (
                f"unknown environment {key!r}{suggest(key, defined)}; define it under "
                "`environments:` with its dependencies")


def _environment_variables(settings: JobSettings) -> Iterator[Finding]:
    return check_environment_variables(settings, iter_tasks(settings))


def _libraries(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        for where, message in library_problems(task.libraries):
            yield f"{path}.libraries{where}", message


def _clusters(settings: JobSettings) -> Iterator[Finding]:
    """Each task runs on at most one cluster, and a job cluster it names is defined once."""
    defined = [c.job_cluster_key for c in settings.job_clusters]
    for index, key in enumerate(defined):
        if key in defined[:index]:
            yield f"job_clusters[{index}].job_cluster_key", (
                f"job cluster {key!r} is defined twice; give each job cluster its own key")
        for field, message in cluster_size_problems(settings.job_clusters[index].new_cluster):
            yield f"job_clusters[{index}].new_cluster.{field}", message
    for path, task in iter_tasks(settings):
        for field, message in cluster_size_problems(task.new_cluster or {}):
            yield f"{path}.new_cluster.{field}", message
        chosen = [name for name in ("job_cluster_key", "existing_cluster_id", "new_cluster")
                  if getattr(task, name) is not None]
        if len(chosen) > 1:
            yield f"{path}.{chosen[1]}", (
                f"a task runs on one cluster, but this one sets {' and '.join(chosen)}; "
                "keep one of them")
        wanted = task.job_cluster_key
        if wanted is not None and wanted not in defined:
            yield f"{path}.job_cluster_key", (
                f"unknown job cluster {wanted!r}{suggest(wanted, defined)}; define it "
                "under `job_clusters:` with its `new_cluster`")


def _inputs(settings: JobSettings) -> Iterator[Finding]:
    return check_inputs(settings, iter_tasks(settings))


def _dbt_tasks(settings: JobSettings) -> Iterator[Finding]:
    return check_dbt_tasks(iter_tasks(settings))


def _git(settings: JobSettings) -> Iterator[Finding]:
    return check_git(settings, iter_tasks(settings))


_CHECKS: tuple[Callable[[JobSettings], Iterable[Finding]], ...] = (
    _task_count,
    _duplicate_task_keys,
    _task_key_format,
    _task_types,
    _dependencies,
    _cycles,
    _for_each_rules,
    _condition_retries,
    _run_job_targets,
    _parameters,
    _notifications,
    _code_paths,
    _git,
    _saved_queries,
    _environment_keys,
    _environment_variables,
    _libraries,
    _clusters,
    check_trigger,
    _inputs,
    _dbt_tasks,
    check_references,
)
