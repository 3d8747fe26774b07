"""What a job may do but most likely did not mean, or what would not deploy to Databricks.

`check_job`'s findings refuse a file; these do not. The Databricks CLI and the Jobs API accept
each of them, so the job stays valid and loading warns at the value's `file:line:col`, as it
does for a bracketed reference (`checks_refs.literal_references`):

- `job_warnings(settings)`, over the validated settings:
  - a `run_if` that looks at dependencies, on a task that has none: the rule has nothing to
    look at, and what it comes to is what `evaluate_run_if` decides over no dependencies (an
    `AT_LEAST_ONE_FAILED` task never runs);
  - a `sql_task` without `warehouse_id`: headwater runs it on its embedded warehouse, but the
    Jobs API requires the field, so the job would not deploy to Databricks;
  - a dynamic value reference inside an inline `query_text`, which nothing fills in there
    (`runtime/sql_references.py`; the SQL runner refuses the statement that writes one);
  - a bracketed reference, left as literal text (`checks_refs.literal_references`).
- `written_case_warnings(data)`, over a bundle job as written, before `core/bundle_coerce.py`
  reads `run_if: all_done` as `ALL_DONE`: an enum value in another case than the Jobs API's,
  which `databricks bundle validate` warns of too and Databricks may refuse. `git_provider` is
  left out: the Jobs API documents its value as case insensitive.
- `destination_warnings(settings, known)`: a `webhook_notifications` id the configuration
  file read here does not define. The headwater.yml where the job runs (a server's) may
  define it, and a server's Jobs API refuses an id its own does not
  (`checks.unknown_destinations`), so a job file only warns.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from enum import Enum

from headwater.core.checks import (
    Finding,
    PathPart,
    format_path,
    iter_tasks,
    unknown_destinations,
)
from headwater.core.checks_refs import literal_references
from headwater.core.conditions import evaluate_run_if
from headwater.core.load_messages import annotation_at
from headwater.core.refs_syntax import find_references
from headwater.core.spec import JobSettings, RunIf
from headwater.core.spec_job import GitProvider
from headwater.core.states import ResultState
from headwater.runtime.sql_references import REFERENCE_IN_SQL, unfilled_reference

__all__ = ["destination_warnings", "job_warnings", "written_case_warnings"]

# Rules that mean the same with or without dependencies: the default, and "run in any case".
RULES_WITHOUT_DEPENDENCIES = frozenset({RunIf.ALL_SUCCESS, RunIf.ALL_DONE})
CASE_INSENSITIVE_ENUMS: frozenset[type[Enum]] = frozenset({GitProvider})


def job_warnings(settings: JobSettings) -> list[Finding]:
    """Every warning of a valid job's settings, as `(path, message)`, in task order."""
    return [*_run_if_without_dependencies(settings), *_sql_without_warehouse(settings),
            *_references_in_sql(settings), *literal_references(settings),
            *_backfill_in_defaults(settings)]


def destination_warnings(settings: JobSettings, known: Collection[str]) -> list[Finding]:
    """Each `webhook_notifications` id of the job and its tasks that `known` (the ids of the
    configuration file read here) lacks, as `(path, message)`: with that file, its alerts
    cannot be sent."""
    return [(path, f"{message}; with this configuration file its alerts cannot be sent "
                   "(each shows FAILED in `headwater notifications list`)")
            for path, message in unknown_destinations(settings, known)]


def written_case_warnings(data: object) -> list[Finding]:
    """Each enum value of a job's data (as written, `{"tasks": [...], ...}`) that differs from
    the Jobs API's value only in case, as `(path, message)`."""
    return list(_case_differences(data, ()))


def _run_if_without_dependencies(settings: JobSettings) -> Iterator[Finding]:
    for index, task in enumerate(settings.tasks):
        rule = task.run_if or RunIf.ALL_SUCCESS  # as `core/plan.py` reads an unset one
        if task.depends_on or rule in RULES_WITHOUT_DEPENDENCIES:
            continue
        if evaluate_run_if(rule, ()) is ResultState.EXCLUDED:
            effect = "the task never runs: every run ends it EXCLUDED"
        else:
            effect = ("headwater runs the task every time, as though the rule were met (what "
                      "Databricks does with it is not documented)")
        yield f"tasks[{index}].run_if", (
            f"run_if {rule} on a task without depends_on: the rule looks at the task's "
            f"dependencies, and it has none, so {effect}; add the depends_on it was meant for, "
            "or remove run_if")


def _sql_without_warehouse(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        if task.sql_task is not None and task.sql_task.warehouse_id is None:
            yield f"{path}.sql_task", (
                "no warehouse_id: headwater runs this SQL on its embedded warehouse "
                "(.headwater/warehouse.duckdb), but the Jobs API requires warehouse_id, so the "
                "job would not deploy to Databricks; set it to the id of a Databricks SQL "
                "warehouse (headwater.yml's warehouses can map that id to a local database)")


def _references_in_sql(settings: JobSettings) -> Iterator[Finding]:
    for path, task in iter_tasks(settings):
        query = task.sql_task.query if task.sql_task is not None else None
        if query is not None and query.query_text is not None:
            for reference in dict.fromkeys(REFERENCE_IN_SQL.findall(query.query_text)):
                yield f"{path}.sql_task.query.query_text", unfilled_reference(reference)


def _backfill_in_defaults(settings: JobSettings) -> Iterator[Finding]:
    for index, parameter in enumerate(settings.parameters or []):
        for reference in find_references(parameter.default):
            if reference.namespace == "backfill":
                time = reference.parts[0] if reference.parts else "iso_datetime"
                yield f"parameters[{index}].default", (
                    f"{reference.raw} has a value only in a backfill's runs: every other run "
                    "(a schedule's, run-now) fails as it starts; for a scheduled job write "
                    f"{{{{job.trigger.time.{time}}}}}, which a backfill's runs set to their "
                    "time too, or give the value only to the backfill: `jobs backfill --param "
                    f"{parameter.name}={reference.raw}`")
                break


def _case_differences(value: object, at: tuple[PathPart, ...]) -> Iterator[Finding]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _case_differences(item, (*at, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _case_differences(item, (*at, index))
    elif isinstance(value, str) and at:
        expected = annotation_at(JobSettings, at)
        if isinstance(expected, type) and issubclass(expected, Enum) \
                and expected not in CASE_INSENSITIVE_ENUMS:
            yield from _case_difference(expected, value, at)


def _case_difference(kind: type[Enum], text: str, at: tuple[PathPart, ...]
                     ) -> Iterator[Finding]:
    for member in kind:
        written_as = str(member.value)
        if text != written_as and text.casefold() == written_as.casefold():
            yield format_path(at), (
                f"{text!r} is read as {written_as}, the Jobs API's spelling; Databricks may "
                f"refuse another case (`databricks bundle validate` warns of it too): write "
                f"{written_as}")
