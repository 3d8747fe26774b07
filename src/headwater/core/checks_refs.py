"""Static checks of the dynamic value references in a job, before any run.

`check_references` looks at every field that takes references (job parameter defaults and the
parameter fields of each task type) and reports, as `(path, message)` like `core/checks.py`:
names that exist in no known namespace shape (`{{job.naem}}`), undeclared job parameters, tasks
that do not exist or are not upstream of the task reading them, `{{input}}` outside a for-each
nested task, task references in job parameter defaults, text that looks like a reference but
is not valid syntax, and any reference in `shell_command_task.command`, which is never
substituted. What the task types rule out is checked too: `{{task.notebook_path}}` outside a
notebook task, and the values of a condition or for-each task, which the engine evaluates
itself and which never set any. What only a run can know (whether a task value was set) is
not checked here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from headwater.core.refs_syntax import (
    KNOWN_NAMESPACES,
    Reference,
    did_you_mean,
    find_references,
    malformed_references,
    shape_problem,
)
from headwater.core.spec import JobSettings, OperatorParameter, Task

Finding = tuple[str, str]  # (path, message)

# Task type -> its fields that take references: "map" (values), "list" (items), "text", or
# "named" (a list of {name, value}). `shell_command_task.command` is checked on its own.
REFERENCE_FIELDS: dict[str, dict[str, str]] = {
    "notebook_task": {"base_parameters": "map"},
    "spark_python_task": {"parameters": "list"},
    "python_wheel_task": {"parameters": "list", "named_parameters": "map"},
    "python_operator_task": {"parameters": "named"},
    "sql_task": {"parameters": "map"},
    "dbt_task": {"commands": "list"},
    "run_job_task": {"job_parameters": "map", "notebook_params": "map", "python_params": "list",
                     "python_named_params": "map", "sql_params": "map", "dbt_commands": "list"},
    "condition_task": {"left": "text", "right": "text"},
    "for_each_task": {"inputs": "text"},
    "shell_command_task": {"env": "map"},
}
# Namespaces that need a current task, so cannot appear in job parameter defaults.
TASK_SCOPED = frozenset({"task", "tasks", "input", "run_id", "task_retry_count", "task_key"})

SHELL_ADVICE = (
    "shell_command_task.command runs as written and is never substituted, so this would "
    "reach the shell as literal text; use $HEADWATER_PARAM_<NAME> or the task's env "
    '(env: {RUN_ID: "{{job.run_id}}"}, then "$RUN_ID"): references are resolved there, never '
    "spliced into shell code"
)
MALFORMED_ADVICE = (
    "looks like a reference but is not valid syntax, so it would stay literal text; check the "
    "braces, and wrap names with characters other than letters, digits and '_' in backticks: "
    "{{job.parameters.`run-date`}}"
)


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a field sits: which names its references may use."""

    task_keys: tuple[str, ...]
    parameters: tuple[str, ...]
    owner: str | None = None  # the top-level task whose field it is; None: a job parameter
    upstream: frozenset[str] = frozenset()  # every task `owner` depends on, transitively
    in_for_each: bool = False  # a field of a for-each's nested task, where {{input}} exists
    sql_tasks: frozenset[str] = frozenset()  # the tasks with an output to read: SQL tasks
    kinds: Mapping[str, str] = field(default_factory=dict)  # each top-level task's type
    kind: str | None = None  # the type of the task whose field it is (None: untyped)


def check_references(settings: JobSettings) -> list[Finding]:
    """Every problem with the references of `settings`, in field order; [] when none."""
    job = _Scope(
        task_keys=tuple(task.task_key for task in settings.tasks),
        parameters=tuple(parameter.name for parameter in settings.parameters),
        sql_tasks=frozenset(t.task_key for t in settings.tasks if t.sql_task is not None),
        kinds={t.task_key: kind for t in settings.tasks if (kind := _kind(t)) is not None},
    )
    findings: list[Finding] = []
    for index, parameter in enumerate(settings.parameters):
        findings.extend(_check_text(f"parameters[{index}].default", parameter.default, job))
    upstream = upstream_closure({t.task_key: [d.task_key for d in t.depends_on]
                                 for t in settings.tasks})
    for index, task in enumerate(settings.tasks):
        path = f"tasks[{index}]"
        scope = replace(job, owner=task.task_key, upstream=upstream[task.task_key],
                        kind=_kind(task))
        findings.extend(_check_task(path, task, scope))
        if task.for_each_task is not None:
            nested = task.for_each_task.task
            nested_scope = replace(scope, in_for_each=True, kind=_kind(nested))
            findings.extend(_check_task(f"{path}.for_each_task.task", nested, nested_scope))
    return findings


def _kind(task: Task) -> str | None:
    """The task's type field; None when it sets none (`core/checks.py` reports that)."""
    return next(iter(task.task_types), None)


def literal_references(settings: JobSettings) -> list[Finding]:
    """References written with a `[...]` part (`{{job.parameters.[input]}}`, from a template
    or an example), which Databricks leaves as literal text: headwater does too, and warns."""
    fields = [(f"parameters[{i}].default", p.default) for i, p in enumerate(settings.parameters)]
    for index, task in enumerate(settings.tasks):
        tasks = [(f"tasks[{index}]", task)]
        if task.for_each_task is not None:
            tasks.append((f"tasks[{index}].for_each_task.task", task.for_each_task.task))
        fields += [field for path, each in tasks for field in task_fields(path, each)]
    bracketed = [(path, f"{raw}: Databricks leaves this as literal text (a part in [...] is "
                        "not reference syntax), and so does headwater; remove the brackets if "
                        "a value was meant")
                 for path, text in fields for raw in malformed_references(text)
                 if _left_literal(raw)]
    misspelt = [(path, f"{reference.raw} is left as written: no reference starts with "
                       f"{reference.namespace!r}; did you mean "
                       f"{reference.raw.replace(reference.namespace, known, 1)}?")
                for path, text in fields for reference in find_references(text)
                if not reference.is_known and (known := _close_namespace(reference.namespace))]
    return bracketed + misspelt


def _close_namespace(namespace: str) -> str | None:
    """The namespace Lakeflow knows that `namespace` misspells (`inputs`, `Input`), if any:
    an unknown one is left as literal text, as a template's own `{{...}}` must be."""
    found = difflib.get_close_matches(namespace.lower(), sorted(KNOWN_NAMESPACES), n=1,
                                      cutoff=0.8)
    return found[0] if found else None


def _left_literal(raw: str) -> bool:
    return ".[" in raw


def upstream_closure(depends_on: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Each task's transitive upstream tasks; unknown keys and cycles are tolerated."""
    closure: dict[str, frozenset[str]] = {}
    for key in depends_on:
        seen: set[str] = set()
        stack = list(depends_on[key])
        while stack:
            upstream = stack.pop()
            if upstream not in seen:
                seen.add(upstream)
                stack.extend(depends_on.get(upstream, ()))
        closure[key] = frozenset(seen - {key})
    return closure


def _check_task(path: str, task: Task, scope: _Scope) -> Iterator[Finding]:
    for field_path, text in task_fields(path, task):
        yield from _check_text(field_path, text, scope)
    if task.shell_command_task is not None:
        command_path = f"{path}.shell_command_task.command"
        command = task.shell_command_task.command
        for reference in find_references(command):
            if reference.is_known:
                yield command_path, f"{reference.raw}: {SHELL_ADVICE}"
        for raw in malformed_references(command):
            yield command_path, f"{raw}: {SHELL_ADVICE}"


def task_fields(path: str, task: Task) -> Iterator[tuple[str, str]]:
    """`(path, text)` of every field of `task` that takes references."""
    for kind in task.task_types:
        payload = getattr(task, kind)
        for name, shape in REFERENCE_FIELDS.get(kind, {}).items():
            yield from _field_texts(f"{path}.{kind}.{name}", getattr(payload, name), shape)


def _field_texts(path: str, value: object, shape: str) -> Iterator[tuple[str, str]]:
    if shape == "map" and isinstance(value, dict):
        for key, text in value.items():
            yield f"{path}.{key}", str(text)
    elif shape == "list" and isinstance(value, list):
        for index, text in enumerate(value):
            yield f"{path}[{index}]", str(text)
    elif shape == "named" and isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, OperatorParameter):
                yield f"{path}[{index}].value", item.value
    elif isinstance(value, str):
        yield path, value


def _check_text(path: str, text: str, scope: _Scope) -> Iterator[Finding]:
    if "{{" not in text:
        return
    for raw in malformed_references(text):
        if not _left_literal(raw):
            yield path, f"{raw}: {MALFORMED_ADVICE}"
    for reference in find_references(text):
        if reference.is_known:
            problem = shape_problem(reference) or _scope_problem(reference, scope)
            if problem:
                yield path, f"{reference.raw}: {problem}"


def _scope_problem(reference: Reference, scope: _Scope) -> str | None:
    namespace, parts = reference.namespace, reference.parts
    if scope.owner is None and namespace in TASK_SCOPED:
        return (
            "job parameter defaults are resolved once per run, before any task runs, so they "
            "cannot use task references; move it into the task's own parameters"
        )
    if namespace == "input" and not scope.in_for_each:
        return (
            "only the nested task of a for_each_task (for_each_task.task) has an input; "
            "reference the element there"
        )
    if namespace == "job" and parts[0] == "parameters" and parts[1] not in scope.parameters:
        return (
            f"no job parameter {parts[1]!r}{did_you_mean(parts[1], scope.parameters)}; "
            "declare it under the job's parameters"
        )
    if namespace == "task" and parts[0] == "notebook_path" and scope.kind != "notebook_task":
        return (f"only a notebook_task has a notebook path, and this is a field of a "
                f"{scope.kind}, so it could never be resolved; write the path itself")
    if namespace == "tasks":
        problem = _upstream_problem(parts[0], scope)
        if problem is None and parts[1] == "output" and parts[0] not in scope.sql_tasks:
            return (f"task {parts[0]!r} is not a sql_task: only a SQL task has an output; have "
                    "it set a task value and read {{tasks.<key>.values.<name>}}")
        if problem is None and parts[1] == "values":
            return _valueless_problem(parts[0], scope.kinds.get(parts[0]))
        return problem
    return None


def _valueless_problem(key: str, kind: str | None) -> str | None:
    """Why task `key` has no values to read: condition and for-each tasks are evaluated by the
    engine itself (`core/inline.py`), with no code that could set one."""
    if kind == "for_each_task":
        return (f"task {key!r} is a for_each_task, which sets no task values (the values its "
                "iterations set are not collected); read the value from the task that set it, "
                f"or have the iterations write their results where a task after {key!r} can "
                "read them")
    if kind == "condition_task":
        return (f"task {key!r} is a condition_task, which sets no task values, only its "
                "outcome; read the value from the task its operands come from, or branch on "
                f'the outcome with depends_on: [{{task_key: {key}, outcome: "true"}}]')
    return None


def _upstream_problem(key: str, scope: _Scope) -> str | None:
    if key not in scope.task_keys:
        return f"no task {key!r} in this job{did_you_mean(key, scope.task_keys)}"
    if key == scope.owner:
        return f"task {key!r} cannot read its own run; only tasks it depends on have finished"
    if key in scope.upstream:
        return None
    return (
        f"task {key!r} is not upstream of {scope.owner!r} (not in its depends_on, directly or "
        f"through other tasks), so it may not have finished when {scope.owner!r} starts; add "
        f"{{task_key: {key}}} to the depends_on of {scope.owner!r}"
    )
