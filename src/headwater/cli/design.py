"""`headwater describe` and `headwater lint`: a job's design document and its readiness checklist.

The I/O around the pure `headwater.design` package: load the file (once per target for the
per-target sections), read the code files to count their lines, read the file's text to locate
findings, print or write the result. Register with `main.add_command(describe)` and
`main.add_command(lint)`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from headwater.cli.bundle_facts import load_bundle_files
from headwater.cli.common import (
    BUNDLE_FILE,
    bundle_variables,
    pick_job,
    reports_errors,
    require_jobs,
    select_jobs,
    settings_for,
    target_option,
    var_option,
)
from headwater.core.git_source import reads_git
from headwater.core.load import LoadedBundle, LoadedJob, load_file
from headwater.core.spec import JobSettings
from headwater.core.whatif_sweep import MAX_SWEPT_TASKS
from headwater.design.describe import describe_job
from headwater.design.html import render_html
from headwater.design.lint import (
    DEFAULT_MAX_LINES,
    DEFAULT_NAMING,
    Finding,
    LintOptions,
    LintSubject,
    Severity,
    code_path,
    lint_job,
    rule_table,
)
from headwater.design.locate import source_map
from headwater.design.markdown import render_markdown
from headwater.runtime.written_paths import candidates, first_found

__all__ = ["describe", "lint"]

PRODUCTION_NAMES = ("prod", "production")
CODE_SUFFIXES = (".py", ".ipynb", ".sql")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=BUNDLE_FILE, required=False)
@click.option("--job", "job_name", help="Which job of the file (resource or job name).")
@target_option
@var_option
@click.option("--format", "output_format", type=click.Choice(["md", "html"]), default="md",
              show_default=True, help="Markdown (Mermaid DAG) or HTML (SVG DAG).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the document to this file instead of stdout.")
@reports_errors
def describe(file: Path, job_name: str | None, target: str | None, var_pairs: Sequence[str],
             output_format: str, output: Path | None) -> None:
    """Write the design document of a job: tasks, dependencies, retries, schedule, alerts."""
    user = settings_for(None).user
    variables = bundle_variables(var_pairs, os.environ)
    # A design document may be written before the code: missing files are lint's business.
    bundle = load_bundle_files([file], target, var_pairs, user, check_code=False)
    job = pick_job(bundle.jobs, job_name, file)
    per_target = {name: _job_under(file, name, variables, user, job.resource_name)
                  for name in _targets(bundle)}
    design = describe_job(_shown(job.settings, file.parent), job.resource_name, job.target,
                          per_target,
                          now=datetime.now(UTC))
    text = render_html(design) if output_format == "html" else render_markdown(design)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path))
@click.option("--job", "job_name", help="Lint only this job of the file [default: all].")
@target_option
@var_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option("--naming", metavar="REGEX",
              help=f"Naming convention of task keys [default: {DEFAULT_NAMING.pattern}].")
@click.option("--max-lines", type=click.IntRange(min=1), default=DEFAULT_MAX_LINES,
              show_default=True, help="Most non-blank lines of a task's notebook or script.")
@click.option("--max-simulated", type=click.IntRange(min=0), default=MAX_SWEPT_TASKS,
              show_default=True, help="Most tasks a job may have for HW109 to simulate each "
              "one failing (the time grows with the square of the tasks).")
@click.option("--list-rules", is_flag=True, help="Print the rules and exit.")
@reports_errors
def lint(file: Path | None, job_name: str | None, target: str | None, var_pairs: Sequence[str],
         strict: bool, naming: str | None, max_lines: int, max_simulated: int,
         list_rules: bool) -> None:
    """Check a job against the production-readiness checklist; one line per finding.

    Exits 1 when there are errors (or warnings, with --strict), 0 otherwise. Disable rules
    with the job tag `headwater-lint-disable: "HW201,HW202"`, or for one task with
    `"headwater-lint-disable:<task_key>": "HW101"`.
    """
    if list_rules:
        click.echo(rule_table())
        return
    if file is None:
        if not BUNDLE_FILE.is_file():
            raise click.UsageError(f"no {BUNDLE_FILE} here: name the job file to lint "
                                   "(or use --list-rules)")
        file = BUNDLE_FILE
    options = LintOptions(naming=_naming(naming), max_lines=max_lines,
                          max_simulated=max_simulated)
    user = settings_for(None).user
    variables = bundle_variables(var_pairs, os.environ)
    bundle = load_bundle_files([file], target, var_pairs, user)
    texts = [(str(each.source), each.source.read_text(encoding="utf-8"))
             for each in bundle.files]
    located: list[tuple[str, Finding]] = []
    for job in select_jobs(require_jobs(bundle.jobs, file), job_name):
        production = _production(file, bundle, job, variables, user)
        where = source_map(texts, job.resource_name, job.target, variables, user)
        settings = _shown(job.settings, file.parent)
        subject = LintSubject(settings, job.resource_name, production, where.written,
                              _code_lines(settings, file.parent))
        for finding in lint_job(subject, options):
            place = where.target_where(finding.target) if finding.target else (
                where.where(finding.path))
            located.append((place, finding))
    _report(located, strict)


def _naming(pattern: str | None) -> re.Pattern[str]:
    if pattern is None:
        return DEFAULT_NAMING
    try:
        return re.compile(pattern)
    except re.error as error:
        raise click.BadParameter(f"not a regular expression: {error}",
                                 param_hint="--naming") from error


def _report(located: list[tuple[str, Finding]], strict: bool) -> None:
    def order(item: tuple[str, Finding]) -> tuple[str, int, int, str]:
        name, line, column = [*item[0].rsplit(":", 2), "0", "0"][:3]
        if not (line.isdigit() and column.isdigit()):
            name, line, column = item[0], "0", "0"
        return name, int(line), int(column), item[1].rule.id

    for place, finding in sorted(located, key=order):
        click.echo(f"{place}: {finding.text}")
    counts = {severity: sum(f.rule.severity == severity for _, f in located)
              for severity in Severity}
    if not located:
        click.echo("no findings")
        return
    summary = ", ".join(f"{count} {severity.value}" + ("s" if count != 1 and
                                                       severity != Severity.INFO else "")
                        for severity, count in counts.items() if count)
    click.echo(f"{len(located)} finding{'s' if len(located) != 1 else ''}: {summary}")
    if counts[Severity.ERROR] or (strict and counts[Severity.WARNING]):
        sys.exit(1)


def _targets(bundle: LoadedBundle) -> dict[str, Mapping[str, object]]:
    """The bundle's targets and their definitions, in file order (its first file, then the
    files it includes; the first definition of a name wins)."""
    found: dict[str, Mapping[str, object]] = {}
    for each in bundle.files:
        targets = each.sections.get("targets")
        for name, body in (targets.items() if isinstance(targets, dict) else ()):
            found.setdefault(str(name), body if isinstance(body, dict) else {})
    return found


def _job_under(file: Path, target: str, variables: Mapping[str, str], user: str,
               resource_name: str) -> JobSettings:
    jobs = load_file(file, target, variables, user)
    return next(_shown(job.settings, file.parent) for job in jobs
                if job.resource_name == resource_name)


def _shown(settings: JobSettings, root: Path) -> JobSettings:
    """`settings` with the file paths the loader made absolute shown from the bundle's folder
    again (`src/main.py`), as the author reads them."""
    data = settings.model_dump(exclude_unset=True)
    prefix = f"{os.path.abspath(root)}{os.sep}"
    for task in data.get("tasks", []):
        for each in (task, task.get("for_each_task", {}).get("task", {})):
            for section, field in (("notebook_task", "notebook_path"),
                                   ("spark_python_task", "python_file")):
                written = (each.get(section) or {}).get(field)
                if isinstance(written, str) and written.startswith(prefix):
                    each[section][field] = written.removeprefix(prefix)
            sql_file = (each.get("sql_task") or {}).get("file") or {}
            if str(sql_file.get("path", "")).startswith(prefix):
                sql_file["path"] = sql_file["path"].removeprefix(prefix)
    return JobSettings.model_validate(data)


def _production(file: Path, bundle: LoadedBundle, job: LoadedJob,
                variables: Mapping[str, str], user: str) -> tuple[str, JobSettings] | None:
    """The job as the production target makes it: the linted target if it is one, else the
    bundle's first production target (named prod/production or `mode: production`), if any."""
    targets = _targets(bundle)
    production = [name for name, body in targets.items()
                  if name in PRODUCTION_NAMES or body.get("mode") == "production"]
    if job.target is not None and (job.target in production or job.target in PRODUCTION_NAMES):
        return job.target, job.settings
    if not production:
        return None
    return production[0], _job_under(file, production[0], variables, user, job.resource_name)


def _code_lines(settings: JobSettings, workdir: Path) -> dict[str, tuple[str, int]]:
    """Non-blank line counts of the tasks' notebooks, scripts and SQL files that exist here
    (not those read from Git: a local file of the same name is not their code)."""
    found = {}
    for task in settings.tasks:
        inner = task.for_each_task.task if task.for_each_task is not None else task
        written = code_path(task)
        if written is None or "{{" in written or reads_git(inner, settings):
            continue
        path = first_found(candidates(written, workdir, CODE_SUFFIXES))
        if path is not None:
            found[task.task_key] = (written, _count_lines(path))
    return found


def _count_lines(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except (json.JSONDecodeError, AttributeError):
            return 0
        text = "\n".join("".join(c.get("source", [])) for c in cells
                         if isinstance(c, dict) and c.get("cell_type") == "code")
    return sum(1 for line in text.splitlines() if line.strip())
