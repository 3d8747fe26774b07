"""The production-readiness checklist of the Lab as lint rules over a job's settings.

| id    | severity | finds
|-------|----------|---------------------------------------------------------------------
| HW101 | warning  | a task without a timeout (`timeout_seconds` unset or 0)
| HW102 | warning  | an ingestion task (one that reads external data) without retries
| HW103 | info     | any other task without retries
| HW104 | error    | retry storm: `max_retries: -1` without `min_retry_interval_millis`
| HW105 | warning  | a hard-coded environment name or path in a task's paths, parameters or
|       |          | command: `/dev/`, `_dev`, `prod`, `/Users/`, `/home/`, `dbfs:/`, `C:\\`,
|       |          | outside `{{...}}` and `${...}`
| HW106 | warning  | a name that says nothing: `task_1`, `Untitled`, `New Job`, `Task`, ...
| HW107 | info     | a task key off the naming convention (snake_case, or `--naming`)
| HW108 | info     | a task with too many responsibilities: its notebook or script has over
|       |          | `--max-lines` (300) non-blank lines, or its description names 3+ actions
| HW109 | warning  | a task whose failure (after all its retries) sends no `on_failure`
|       |          | alert and runs no task, found by simulating it (`core/whatif_sweep.py`);
|       |          | only in jobs that alert on failure at all (else HW202 says it once)
| HW110 | info     | a job of more tasks than HW109 simulates (`--max-simulated`, 150 by
|       |          | default: the sweep's time grows with the square of the tasks)
| HW201 | warning  | a job without a job-level timeout
| HW202 | warning  | a job without a failure alert: no job-level `on_failure` e-mail or
|       |          | webhook, and no alerting task that runs on failure
| HW203 | warning  | a production target (`prod`, `production`, `mode: production`) without
|       |          | an unpaused schedule, trigger or continuous mode

Each rule's one-line fix is in `RULES` (`headwater lint --list-rules` prints them). Ingestion
tasks are recognised by words (ingest, extract, load, bronze, read, fetch, download, import) in
the task key, its code's path or the first word of its description. Condition tasks need no
timeout or retries. The naming convention is a regex (`--naming`): by default snake_case words
(`extract`, `transform_silver_orders`).

Disabling: rules are switched off with job tags, which the Jobs API leaves free-form (a task has
no tags): `headwater-lint-disable: "HW201,HW202"` for the whole job, and
`"headwater-lint-disable:<task_key>": "HW101"` for one task.

Pure: `lint_job` takes the settings and what the caller read (the values as written in the file,
the line counts of the code) and returns findings located by their path inside the job.
"""


from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from headwater.core.checks import format_path
from headwater.core.spec import JobSettings, PauseStatus, RunIf, Task
from headwater.core.triggers import trigger_views
from headwater.core.whatif_sweep import every_failure
from headwater.design.lint_rules import (
    DEFAULT_MAX_LINES,
    DEFAULT_NAMING,
    DISABLE_TAG,
    RULES,
    Finding,
    LintOptions,
    LintSubject,
    Loc,
    Rule,
    Severity,
)
from headwater.design.words import code_words
from headwater.errors import HeadwaterError

__all__ = [
    "DEFAULT_MAX_LINES",
    "DEFAULT_NAMING",
    "DISABLE_TAG",
    "RULES",
    "Finding",
    "LintOptions",
    "LintSubject",
    "Rule",
    "Severity",
    "code_path",
    "hard_coded_markers",
    "is_meaningless",
    "lint_job",
    "rule_table",
]

INGESTION_STEMS = ("ingest", "extract", "load", "bronze", "read", "fetch", "download", "import")
STEM_ENDINGS = ("", "s", "ed", "ing", "er", "ion", "ions")
ALERT_WORDS = re.compile(r"alert|notif|page|mail|slack|teams|webhook|incident|on-?call", re.I)
ACTION_VERBS = (
    "load", "ingest", "extract", "read", "write", "clean", "transform", "validate", "check",
    "count", "publish", "send", "join", "aggregate", "deduplicate", "filter", "compute",
    "train", "export", "upload", "download", "copy", "merge", "build", "generate", "create",
    "delete", "notify", "fetch", "cast", "archive", "score", "enrich", "parse", "email",
)
MAX_DESCRIBED_ACTIONS = 2
MEANINGLESS = re.compile(
    r"(new[ _-]?)?(task|job|notebook|script|step|test|tmp|temp|foo|bar|untitled|unnamed"
    r"|my[ _-]?(job|task))([ _-]?\d+)?|new[ _-]?job\b.*|untitled\b.*|[a-z][ _-]?\d*|\d+",
    re.IGNORECASE,
)
DEVELOPMENT_PREFIX = re.compile(r"\[[^\]]*\]\s*")  # `[dev alice] ` from mode: development
REFERENCE = re.compile(r"\$\{[^}]*\}|\{\{[^}]*\}\}")
DEVICE_FILE = re.compile(r"/dev/(null|stdin|stdout|stderr|zero|u?random|tty|fd/\d+)\b")
WINDOWS_DRIVE = re.compile(r"\b[A-Za-z]:\\")
PATH_MARKERS = ("/Users/", "/home/", "dbfs:/")
ENVIRONMENT_WORDS = ("dev", "prod", "production")
SKIPPED_FIELDS = frozenset({"source", "warehouse_id", "query_id", "query_text", "package_name",
                            "entry_point", "main", "job_name", "name"})

TaskCheck = Callable[[LintSubject, LintOptions, Loc, Task], Iterator[Finding]]


def lint_job(subject: LintSubject, options: LintOptions | None = None) -> list[Finding]:
    """Every finding of the job that its tags do not disable: tasks in order, then the job."""
    chosen = options or LintOptions()
    findings: list[Finding] = []
    for index, task in enumerate(subject.settings.tasks):
        for check in TASK_CHECKS:
            findings += check(subject, chosen, ("tasks", index), task)
    findings += _job_findings(subject, chosen)
    return [finding for finding in findings if not _disabled(subject.settings, finding)]


def rule_table() -> str:
    """The rules as an aligned text table, for `headwater lint --list-rules`."""
    lines = [f"{'id':<6} {'severity':<8} {'finds':<58} fix"]
    lines += [f"{r.id:<6} {r.severity.value:<8} {r.summary:<58} {r.fix}" for r in RULES.values()]
    return "\n".join(lines)


def _disabled(settings: JobSettings, finding: Finding) -> bool:
    ids = _tag_ids(settings.tags.get(DISABLE_TAG, ""))
    if finding.task_key is not None:
        ids |= _tag_ids(settings.tags.get(f"{DISABLE_TAG}:{finding.task_key}", ""))
    return finding.rule.id in ids


def _tag_ids(value: str) -> set[str]:
    return {part.upper() for part in re.split(r"[,\s]+", value) if part}


def _finding(rule_id: str, message: str, path: Loc, task: Task) -> Finding:
    return Finding(RULES[rule_id], message, path, task_key=task.task_key)


# Task rules ---------------------------------------------------------------------------------


def _policy(task: Task) -> tuple[Task, Loc]:
    """The task whose retries apply (a for-each's nested task) and its path from the task."""
    loop = task.for_each_task
    return (loop.task, ("for_each_task", "task")) if loop is not None else (task, ())


def _check_timeout(
    subject: LintSubject, options: LintOptions, at: Loc, task: Task
) -> Iterator[Finding]:
    if task.condition_task is not None:
        return  # decided at once: nothing to time out
    nested, _ = _policy(task)
    if not task.timeout_seconds and not nested.timeout_seconds:
        yield _finding("HW101", f"task {task.task_key!r} has no timeout", at, task)


def _check_retries(
    subject: LintSubject, options: LintOptions, at: Loc, task: Task
) -> Iterator[Finding]:
    nested, inner = _policy(task)
    if task.condition_task is not None or nested.max_retries:
        return
    # A for-each retries its iterations: max_retries belongs to its nested task (and is
    # refused on the for-each itself), so the finding points there.
    whose = f"task {task.task_key!r}" + (
        " (its nested task, for_each_task.task, where retries go)" if inner else "")
    if is_ingestion(task):
        yield _finding("HW102", f"{whose} reads external data and has no retries: a "
                                "transient failure fails the run", (*at, *inner), task)
    else:
        yield _finding("HW103", f"{whose} has no retries", (*at, *inner), task)


def _check_retry_storm(
    subject: LintSubject, options: LintOptions, at: Loc, task: Task
) -> Iterator[Finding]:
    nested, inner = _policy(task)
    if nested.max_retries == -1 and not nested.min_retry_interval_millis:
        message = (f"task {task.task_key!r} retries without limit and without a pause "
                   "(max_retries: -1, no min_retry_interval_millis)")
        yield _finding("HW104", message, (*at, *inner, "max_retries"), task)


def _check_hard_coded(
    subject: LintSubject, options: LintOptions, at: Loc, task: Task
) -> Iterator[Finding]:
    for inner, value in task_strings(task):
        written = subject.written((*at, *inner))
        markers = hard_coded_markers(written if written is not None else value)
        if markers:
            listed = " and ".join(repr(marker) for marker in markers)
            message = (f"task {task.task_key!r} hard-codes {listed} in {format_path(inner)} "
                       f"({written if written is not None else value!r})")
            yield _finding("HW105", message, (*at, *inner), task)


def _check_name(
    subject: LintSubject, options: LintOptions, at: Loc, task: Task
) -> Iterator[Finding]:
    key = task.task_key
    if is_meaningless(key):
        yield _finding("HW106", f"task key {key!r} says nothing about what the task does",
                       (*at, "task_key"), task)
    elif options.naming.fullmatch(key) is None:
        yield _finding("HW107", f"task key {key!r} does not match the naming convention "
                                f"{options.naming.pattern!r}", (*at, "task_key"), task)


def _check_size(
    subject: LintSubject, options: LintOptions, at: Loc, task: Task
) -> Iterator[Finding]:
    code = subject.code_lines.get(task.task_key)
    if code is not None and code[1] > options.max_lines:
        path, lines = code
        yield _finding("HW108", f"task {task.task_key!r} runs {lines} lines of code ({path}), "
                                f"over {options.max_lines}", at, task)
    actions = described_actions(task.description or "")
    if len(actions) > MAX_DESCRIBED_ACTIONS:
        yield _finding("HW108", f"task {task.task_key!r} is described as doing "
                                f"{len(actions)} things ({', '.join(actions)})",
                       (*at, "description"), task)


TASK_CHECKS: tuple[TaskCheck, ...] = (
    _check_timeout, _check_retries, _check_retry_storm, _check_hard_coded, _check_name,
    _check_size,
)


# Job rules ----------------------------------------------------------------------------------


def _job_findings(subject: LintSubject, options: LintOptions) -> Iterator[Finding]:
    settings = subject.settings
    name = DEVELOPMENT_PREFIX.sub("", settings.name or subject.resource_name, count=1)
    if is_meaningless(name):
        path: Loc = ("name",) if settings.name else ()
        yield Finding(RULES["HW106"], f"job name {name!r} says nothing about what it does", path)
    if not settings.timeout_seconds:
        yield Finding(RULES["HW201"], f"job {subject.resource_name!r} has no timeout")
    if not has_failure_alert(settings):
        yield Finding(RULES["HW202"], f"job {subject.resource_name!r} alerts nobody when it "
                                      "fails")
    elif len(settings.tasks) > options.max_simulated:
        yield Finding(RULES["HW110"], f"job {subject.resource_name!r} has {len(settings.tasks)} "
                                      f"tasks, over the {options.max_simulated} for which "
                                      "HW109 simulates each one failing: HW109 was not checked")
    else:
        yield from _check_failures_handled(settings)
    yield from _check_concurrency(subject)
    if subject.production is not None:
        yield from _check_production(subject, *subject.production)


def _check_concurrency(subject: LintSubject) -> Iterator[Finding]:
    """What the engine enforces: `max_concurrent_runs` (default 1) and the queue."""
    settings = subject.settings
    if settings.max_concurrent_runs == 0:
        yield Finding(RULES["HW204"], f"job {subject.resource_name!r} has max_concurrent_runs "
                                      "0: every run of it is skipped", ("max_concurrent_runs",))
    elif settings.queue is not None and not settings.queue.enabled:
        limit = settings.max_concurrent_runs or 1
        yield Finding(RULES["HW205"], f"job {subject.resource_name!r} has its queue off: a run "
                                      f"started while {limit} run{'s' if limit != 1 else ''} "
                                      "of it are active is skipped", ("queue", "enabled"))


def _check_failures_handled(settings: JobSettings) -> Iterator[Finding]:
    """HW109: simulate each task failing for good; report those nobody hears of."""
    try:
        cases = every_failure(settings)
    except HeadwaterError:
        return  # a job that cannot be planned is `validate`'s to report
    index = {task.task_key: position for position, task in enumerate(settings.tasks)}
    for case in cases:
        if case.handled:
            continue
        branches = ", ".join(f"{key} takes its {'true' if value else 'false'!r} branch"
                             for key, value in case.outcomes.items())
        message = (f"task {case.task_key!r} can fail without anyone hearing of it"
                   + (f" (when {branches})" if branches else "")
                   + f": the run ends {case.run.result_state}, no task runs because of it "
                   "and no on_failure alert is sent")
        yield Finding(RULES["HW109"], message, ("tasks", index[case.task_key]),
                      task_key=case.task_key)


def _check_production(
    subject: LintSubject, target: str, settings: JobSettings
) -> Iterator[Finding]:
    timings = [timing for view in trigger_views(settings)
               for timing in (view.schedule, view.trigger, view.continuous)]
    present = [timing for timing in timings if timing is not None]
    if not present:
        message = (f"job {subject.resource_name!r} has no schedule or trigger in target "
                   f"{target!r}: it never runs by itself in production")
    elif all(timing.pause_status == PauseStatus.PAUSED for timing in present):
        message = f"job {subject.resource_name!r} is paused in target {target!r}"
    else:
        return
    yield Finding(RULES["HW203"], message, target=target)


# Heuristics ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[^a-z0-9]+", text.lower()) if word]


def is_ingestion(task: Task) -> bool:
    """Whether the task looks like it reads external data, from its key, code and first verb."""
    description = _words(task.description or "")
    words = _words(task.task_key) + _words(code_path(task) or "") + description[:1]
    forms = {stem + ending for stem in INGESTION_STEMS for ending in STEM_ENDINGS}
    return any(word in forms for word in words)


def code_path(task: Task) -> str | None:
    """The notebook, script or SQL file a task runs, as written; None for other task types."""
    loop = task.for_each_task
    if loop is not None:
        return code_path(loop.task)
    if task.notebook_task is not None:
        return task.notebook_task.notebook_path
    if task.spark_python_task is not None:
        return task.spark_python_task.python_file
    if task.sql_task is not None and task.sql_task.file is not None:
        return task.sql_task.file.path
    return None


def described_actions(description: str) -> list[str]:
    """The distinct actions (verbs of `ACTION_VERBS`) a description names, in order."""
    found: list[str] = []
    for word in _words(description):
        for verb in ACTION_VERBS:
            forms = {verb, verb + "s", verb + "es", verb.removesuffix("y") + "ies"}
            if word in forms and verb not in found:
                found.append(verb)
    return found


def is_meaningless(name: str) -> bool:
    """`task_1`, `Untitled`, `New Job`, `Task`, `new_task_2`, `t1`: names that say nothing."""
    return MEANINGLESS.fullmatch(name.strip()) is not None


def hard_coded_markers(text: str) -> list[str]:
    """What in `text` names an environment or a machine, outside `${...}` and `{{...}}`."""
    bare = DEVICE_FILE.sub(" ", REFERENCE.sub(" ", text))
    found = [marker for marker in PATH_MARKERS if marker in bare]
    if WINDOWS_DRIVE.search(bare):
        found.append("C:\\")
    words = set(_words(bare))
    return found + [word for word in ENVIRONMENT_WORDS if word in words]


def task_strings(task: Task) -> Iterator[tuple[Loc, str]]:
    """The paths, parameters and commands of a task's payload, with their paths in the task."""
    if task.condition_task is not None:
        return  # comparing with an environment name there is the point of a condition
    loop = task.for_each_task
    if loop is not None:
        yield ("for_each_task", "inputs"), loop.inputs
        for inner, value in task_strings(loop.task):
            yield ("for_each_task", "task", *inner), value
        return
    payload = getattr(task, task.task_type)
    yield from _strings(payload.model_dump(exclude_none=True), (task.task_type,))


def _strings(value: object, path: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in SKIPPED_FIELDS:
                yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def has_failure_alert(settings: JobSettings) -> bool:
    """A job-level on_failure e-mail or webhook, or an alerting task that runs on failure."""
    emails, hooks = settings.email_notifications, settings.webhook_notifications
    if (emails and emails.on_failure) or (hooks and hooks.on_failure):
        return True
    return any(task.run_if in (RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED)
               and ALERT_WORDS.search(" ".join([task.task_key, task.description or "",
                                                code_words(task)]))
               for task in settings.tasks)
