"""A job's whole settings as text, both ways: the text the "Edit as YAML" page starts from
(the settings of `jobs/get`), and a pasted YAML or JSON text read back into settings, with
every problem at its `line:col`, as `headwater validate` reports a job file's. Pure.

The reading uses the loader's strict YAML dialect (`core/load_yaml.py`: unique keys, only
`true`/`false` as booleans) and its validation (`core/load.py` `validate`), so a text is
refused here exactly when the same settings in a job file would be. JSON is read as JSON
(its syntax errors are JSON's) and located through the YAML parser, which reads JSON too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from yaml.nodes import Node

from headwater.api.documents import job_json
from headwater.core.checks import format_path
from headwater.core.load import validate
from headwater.core.load_yaml import (
    compose,
    construct,
    find_node,
    position,
    scan,
    syntax_error,
)
from headwater.core.spec import JobSettings
from headwater.errors import Problem, SpecError
from headwater.ports import JobRecord
from headwater.web.views.job_changes import settings_yaml

EMPTY = "the text is empty; write the job's settings (name, tasks, ...) as YAML or JSON"


@dataclass
class SettingsReading:
    """What a pasted text gave: its settings as written (`body`) and validated, or the
    problems that keep it from being a job's settings (then `settings` is None)."""

    body: dict[str, Any] = field(default_factory=dict)
    settings: JobSettings | None = None
    problems: list[Problem] = field(default_factory=list)

    def checked(self) -> JobSettings:
        """The settings; `SpecError` with every problem of the text, if it has any."""
        if self.settings is None:
            raise SpecError(self.problems)
        return self.settings


def read_settings(text: str) -> SettingsReading:
    """The job settings of a YAML or JSON text (a text starting with `{` is JSON), with every
    problem found in it at once, each at its `line:col`."""
    if not text.strip():
        return SettingsReading(problems=[Problem("", "", EMPTY)])
    data: object = None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            where = f"{error.lineno}:{error.colno}"
            return SettingsReading(problems=[Problem(where, "", f"invalid JSON: {error.msg}")])
        text = text.replace("\t", " ")  # only ever between tokens in valid JSON; not YAML's
    try:
        root = compose(text)
        issues = scan(root) if root is not None else []
        if data is None and root is not None:
            data = construct(root, check=False)
    except yaml.YAMLError as error:  # worded as `headwater validate` words it, with the fix
        at, message = syntax_error(error, text)
        where = f"{at[0]}:{at[1]}" if at is not None else ""
        return SettingsReading(problems=[Problem(where, "", message)])
    if root is None or not isinstance(data, dict):
        return SettingsReading(problems=[Problem("1:1", "", "must be a mapping of job "
                                                 "settings (name: ..., tasks: [...])")])
    if bundle := [name for name in data if name in ("bundle", "resources")]:
        return SettingsReading(problems=[_a_bundle(root, bundle[0])])
    return _validated(root, data, [Problem(f"{i.line}:{i.column}", format_path(i.path),
                                           i.message) for i in issues])


def _a_bundle(root: Node, section: str) -> Problem:
    """A bundle pasted where one job's settings go: said once, with where its jobs are and
    how a bundle reaches a server, not as every bundle section's 'unknown field'."""
    line, column = position(find_node(root, [section], key=True))
    return Problem(f"{line}:{column}", section, (
        "this is a bundle (databricks.yml), not a job's settings; paste the settings of one "
        "job (the mapping under resources.jobs.<name>, without ${var...} references), or "
        "deploy the bundle with `headwater deploy --host URL`"))


def _validated(root: Node, data: dict[str, Any], strict: list[Problem]) -> SettingsReading:
    """`data` validated as `JobSettings`; each finding at the node it is about (a place the
    strict dialect reported already, a duplicate key or a yes/no, is reported once)."""
    settings, findings = validate(data)
    taken = {problem.where for problem in strict}
    located = [(position(find_node(root, parts, key=at_key)), format_path(parts), message)
               for parts, at_key, message in findings]
    problems = strict + [Problem(f"{line}:{column}", path, message)
                         for (line, column), path, message in located
                         if f"{line}:{column}" not in taken]
    problems.sort(key=_place)
    return SettingsReading(data, None if strict else settings, problems)


def _place(problem: Problem) -> tuple[int, int]:
    line, _, column = problem.where.partition(":")
    return (int(line), int(column)) if line.isdigit() and column.isdigit() else (0, 0)


def returned_settings(job: JobRecord, settings: dict[str, Any] | None = None) -> JobSettings:
    """The job's settings (or, given, `settings` in their place) as `jobs/get` returns them:
    without its access control list, with the defaults Lakeflow fills in written out. Both
    sides of a reset's diff are read so, that only what the edit changes differs."""
    record = job if settings is None else replace(job, settings=settings)
    return JobSettings.model_validate(job_json(record)["settings"])


def editable_text(job: JobRecord) -> str:
    """The text the "Edit as YAML" page starts from: `returned_settings` as YAML, name
    first, as a job file writes them."""
    return settings_yaml(returned_settings(job))


def reset_body(job: JobRecord, body: dict[str, Any]) -> dict[str, Any]:
    """The settings `jobs/reset` would store for `body`: a job's `run_as` stays when the new
    settings leave it out (service `reset_job`, which the save goes through, does the same:
    this is for the review's diff)."""
    kept = job.settings.get("run_as")
    return body if "run_as" in body or kept is None else {**body, "run_as": kept}


__all__ = ["SettingsReading", "editable_text", "read_settings", "reset_body",
           "returned_settings"]
