"""The `headwater` command line: validate job files, run a job, look at runs.

Rich is imported only by the commands that draw (see display.py), so `--help` stays fast.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from headwater.config import Settings
from headwater.core.load import LoadedJob, load_file, load_files
from headwater.core.states import ResultState
from headwater.errors import HeadwaterError, SpecError

F = TypeVar("F", bound=Callable[..., Any])

SUCCESSFUL = (ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES)


def db_option(command: F) -> F:
    return click.option(
        "--db", envvar="HEADWATER_DB", metavar="URL",
        help="SQLAlchemy URL or SQLite file of the state store "
             "[default: .headwater/headwater.db].",
    )(command)


def reports_errors(command: F) -> F:
    """Turn headwater's errors into a message on stderr and exit code 1, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SpecError as error:
            click.echo(str(error), err=True)
            sys.exit(1)
        except HeadwaterError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def settings_for(db: str | None, max_parallel: int | None = None) -> Settings:
    return Settings.from_env(os.environ, Path.cwd(), db=db, max_parallel=max_parallel)


@click.group()
@click.version_option(package_name="headwater")
def main() -> None:
    """headwater: run Lakeflow (Databricks) jobs on your own machine."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--target", help="Bundle target to validate (dev, test, prod, ...).")
@reports_errors
def validate(files: Sequence[Path], target: str | None) -> None:
    """Check job files; report every problem with its file:line:col and exit 1."""
    jobs = load_files(files, target)
    for job in jobs:
        click.echo(f"ok: {job.source}: job {job.settings.name or job.resource_name!r} "
                   f"({len(job.settings.tasks)} tasks)")


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """`name=value` pairs; the value may contain `=` and anything else, kept as is."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--param")
        params[name] = value
    return params


def pick_job(jobs: list[LoadedJob], name: str | None, file: Path) -> LoadedJob:
    """The job named by `--job` (resource or job name), or the only one in the file."""
    if name is None:
        if len(jobs) == 1:
            return jobs[0]
        names = ", ".join(j.resource_name for j in jobs)
        raise click.UsageError(f"{file} defines {len(jobs)} jobs ({names}); pick one with --job")
    for job in jobs:
        if name in (job.resource_name, job.settings.name):
            return job
    known = [j.resource_name for j in jobs]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise click.UsageError(f"{file} has no job {name!r}{hint}; it defines: {', '.join(known)}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--job", "job_name", help="Which job of the file to run (resource or job name).")
@click.option("--target", help="Bundle target (dev, test, prod, ...).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a job parameter; repeatable.")
@click.option("--max-parallel", type=click.IntRange(min=1),
              help="Most tasks running at once [default: 4 per CPU, 4 to 32].")
@db_option
@reports_errors
def run(file: Path, job_name: str | None, target: str | None, params: Sequence[str],
        max_parallel: int | None, db: str | None) -> None:
    """Run a job to its end here, showing its tasks as they go.

    Exits 0 when the run ends SUCCESS or SUCCESS_WITH_FAILURES, 1 otherwise.
    """
    from headwater.bootstrap import application
    from headwater.display import make_display

    job = pick_job(load_file(file, target), job_name, file)
    overrides = parse_params(params)
    with application(settings_for(db, max_parallel)) as service:
        record = service.register(job.settings, str(file.resolve()))
        run_id = service.start_run(record, overrides, file.resolve().parent)
        click.echo(f"Run {run_id} of job {record.name!r} (job {record.job_id}, "
                   f"version {record.version}) started")
        display = make_display(sys.stdout)
        try:
            state = service.drive(run_id, display)
        finally:
            display.close()
    seconds = (state.end_time - state.start_time).total_seconds() if (
        state.end_time and state.start_time) else 0.0
    click.echo(f"Run {run_id} ended {state.result} in {seconds:.1f}s")
    if state.result not in SUCCESSFUL:
        click.echo(f"  {state.message}")
        click.echo(f"  details: headwater runs get {run_id}")
        sys.exit(1)


@main.group()
def runs() -> None:
    """Look at runs: list, get, logs."""


@runs.command("list")
@click.option("--job-id", type=int, help="Only runs of this job.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--active-only", is_flag=True, help="Only runs that have not ended.")
@db_option
@reports_errors
def runs_list(job_id: int | None, limit: int, active_only: bool, db: str | None) -> None:
    """Runs, newest first."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as service:
        summaries = service.list_runs(job_id, limit, active_only)
    for s in summaries:
        started = s.start_time.isoformat(timespec="seconds") if s.start_time else "-"
        click.echo(f"{s.run_id:>8}  {s.job_name:<30}  {s.life_cycle:<17} "
                   f"{s.result or '':<22} {started}")


@runs.command("get")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the Jobs API `Run` JSON.")
@db_option
@reports_errors
def runs_get(run_id: int, as_json: bool, db: str | None) -> None:
    """One run with every attempt of every task."""
    from headwater.bootstrap import application
    from headwater.wire import run_json

    with application(settings_for(db)) as service:
        document = run_json(service.get_run(run_id))
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    state = document["state"]
    click.echo(f"Run {run_id} of {document['run_name']!r}: {state['life_cycle_state']} "
               f"{state.get('result_state', '')}")
    if state["state_message"]:
        click.echo(f"  {state['state_message']}")
    for task in document["tasks"]:
        t_state = task["state"]
        click.echo(f"  {task['task_key']:<28} attempt {task['attempt_number']}  "
                   f"{t_state['life_cycle_state']:<17} {t_state.get('result_state', ''):<18} "
                   f"{task['execution_duration'] / 1000:.1f}s  {t_state['state_message']}")


@runs.command("logs")
@click.argument("run_id", type=int)
@click.argument("task_key")
@click.option("--attempt", type=int, help="attempt_number as in `runs get` (0 is the first); "
                                         "the latest by default.")
@db_option
@reports_errors
def runs_logs(run_id: int, task_key: str, attempt: int | None, db: str | None) -> None:
    """Print the stdout and stderr of one attempt of a task."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as service:
        path = service.log_file(run_id, task_key, attempt)
    if not path.exists():
        click.echo(f"(no output: {path} does not exist; the attempt may not have started)",
                   err=True)
        return
    with path.open("rb") as log:
        sys.stdout.buffer.write(log.read())
