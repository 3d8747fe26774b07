"""The `headwater` command line: validate job files, run a job, look at runs.

Rich is imported only by the commands that draw (see display.py), so `--help` stays fast.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from headwater.cli.bundle import bundle
from headwater.cli.common import (
    LazyGroup,
    bundle_variables,
    db_option,
    parse_pairs,
    pick_job,
    reports_errors,
    settings_for,
    target_option,
    var_option,
)
from headwater.cli.ops import register_operations
from headwater.core.states import ResultState

if TYPE_CHECKING:
    from headwater.cli.display import Display
    from headwater.core.runstate import RunState
    from headwater.service import Service

SUCCESSFUL = (ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES)


# `describe` and `lint` load the job models and the design modules: imported when run.
DESIGN_COMMANDS = {
    "describe": ("headwater.cli.design:describe", "Write a job's design document."),
    "lint": ("headwater.cli.design:lint", "Check a job against the production checklist."),
}


@click.group(cls=LazyGroup, lazy=DESIGN_COMMANDS)
@click.version_option(package_name="headwater")
def main() -> None:
    """headwater: run Lakeflow (Databricks) jobs on your own machine."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@target_option
@var_option
@reports_errors
def validate(files: Sequence[Path], target: str | None, var_pairs: Sequence[str]) -> None:
    """Check job files; report every problem with its file:line:col and exit 1."""
    settings = settings_for(None)
    from headwater.core.load import load_files

    jobs = load_files(files, target, bundle_variables(var_pairs, os.environ), settings.user)
    if not jobs:
        raise click.UsageError("no jobs found under resources.jobs (headwater does not follow "
                               "`include:` yet: name the files that hold the jobs)")
    for job in jobs:
        click.echo(f"ok: {job.source}: job {job.settings.name or job.resource_name!r} "
                   f"({len(job.settings.tasks)} tasks)")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--job", "job_name", help="Which job of the file to run (resource or job name).")
@target_option
@var_option
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a job parameter; repeatable.")
@click.option("--max-parallel", type=click.IntRange(min=1),
              help="Most tasks running at once [default: 4 per CPU, 4 to 32].")
@db_option
@reports_errors
def run(file: Path, job_name: str | None, target: str | None, var_pairs: Sequence[str],
        params: Sequence[str], max_parallel: int | None, db: str | None) -> None:
    """Run a job to its end here, showing its tasks as they go.

    Exits 0 when the run ends SUCCESS or SUCCESS_WITH_FAILURES, 1 otherwise.
    """
    from headwater.bootstrap import application

    settings = settings_for(db, max_parallel)
    variables = bundle_variables(var_pairs, os.environ)
    from headwater.core.load import load_file

    jobs = load_file(file, target, variables, settings.user)
    job = pick_job(jobs, job_name, file)
    overrides = parse_pairs(params, "--param")
    with application(settings, drives_runs=True) as service:
        for other in jobs:  # a Run Job task may name any job of the bundle
            if other is not job:
                service.register(other.settings, str(other.source.resolve()))
        # Relative paths in a job start at the file that defines it (an `include:`d one, say).
        record = service.register(job.settings, str(job.source.resolve()))
        run_id = service.start_run(record, overrides, job.source.resolve().parent)
        click.echo(f"Run {run_id} of job {record.name!r} (job {record.job_id}, "
                   f"version {record.version}) started")
        state = drive_with_display(service, run_id,
                                   lambda observer: service.drive(run_id, observer))
        print_results(service, run_id)
    finish(run_id, state)


def print_results(service: Service, run_id: int) -> None:
    """The values notebooks exited with (a report's path, say), one line per task."""
    from headwater.api.outputs import read_result

    for key, directory in service.latest_attempt_dirs(run_id).items():
        result = read_result(directory).get("notebook_output", {}).get("result")
        if result:
            click.echo(f"{key}: {result}")


def drive_with_display(service: Service, run_id: int,
                       drive: Callable[[Display], RunState]) -> RunState:
    """Drive a run showing its progress; the first Ctrl-C cancels it (cleanup tasks run)."""
    from headwater.cli.display import make_display

    def interrupt(signum: int, frame: object) -> None:
        if service.engine.interrupted.is_set():
            raise KeyboardInterrupt
        click.echo(f"\nCancelling run {run_id} (Ctrl-C again to stop at once)...", err=True)
        service.engine.interrupted.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    display = make_display(sys.stdout)
    try:
        return drive(display)
    finally:
        display.close()
        signal.signal(signal.SIGINT, previous)


def finish(run_id: int, state: RunState) -> None:
    """Print how the run (or its latest repair) ended; exit 1 unless it succeeded."""
    started = state.repairs[-1].start_time if state.repairs else state.start_time
    seconds = (state.end_time - started).total_seconds() if state.end_time and started else 0.0
    what = f"Repair {state.repair_count} of run {run_id}" if state.repairs else f"Run {run_id}"
    click.echo(f"{what} ended {state.result} in {seconds:.1f}s")
    if state.result not in SUCCESSFUL:
        click.echo(f"  {state.message}")
        click.echo(f"  details: headwater runs get {run_id}")
        sys.exit(1)


main.add_command(bundle)
register_operations(main)


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
@click.option("--resolved", is_flag=True,
              help="Include each task run's resolved parameters (include_resolved_values).")
@db_option
@reports_errors
def runs_get(run_id: int, as_json: bool, resolved: bool, db: str | None) -> None:
    """One run with every attempt of every task (or one task run, by its id)."""
    from headwater.api.documents import run_json, task_run_document
    from headwater.api.outputs import setup_durations
    from headwater.bootstrap import application

    with application(settings_for(db)) as service:
        record, seq = service.find_run(run_id)
        setup = setup_durations(record, service.logs_dir)
    if seq is not None:
        click.echo(json.dumps(task_run_document(record, seq, resolved, setup), indent=2))
        return
    document = run_json(record, resolved, setup)
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    print_run(run_id, document)


def print_run(run_id: int, document: dict[str, Any]) -> None:
    state = document["state"]
    click.echo(f"Run {run_id} of {document['run_name']!r}: {state['life_cycle_state']} "
               f"{state.get('result_state', '')}")
    if state["state_message"]:
        click.echo(f"  {state['state_message']}")
    for task in document["tasks"]:
        t_state = task["state"]
        repair = f"repair {task['repair_number']} " if task.get("repair_number") else ""
        stats = task.get("for_each_task", {}).get("stats", {}).get("task_run_stats")
        loop = (f" [{stats['succeeded_iterations']}/{stats['total_iterations']} iterations "
                f"succeeded]") if stats else ""
        click.echo(f"  {task['task_key']:<28} {repair}attempt {task['attempt_number']}  "
                   f"{t_state['life_cycle_state']:<17} {t_state.get('result_state', ''):<18} "
                   f"{task['execution_duration'] / 1000:.1f}s  {t_state['state_message']}{loop}")


@runs.command("output")
@click.argument("task_run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the Jobs API `RunOutput` JSON.")
@db_option
@reports_errors
def runs_output(task_run_id: int, as_json: bool, db: str | None) -> None:
    """The output of one task run: notebook result, error and trace, SQL rows, logs."""
    from headwater.api.outputs import run_output
    from headwater.bootstrap import application

    with application(settings_for(db)) as service:
        record, seq = service.find_run(task_run_id)
        document = run_output(record, seq, service.logs_dir)
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    meta = document["metadata"]
    click.echo(f"Task run {meta['run_id']} ({meta['task_key']}, attempt "
               f"{meta['attempt_number']}): {meta['state'].get('result_state', '')}")
    if "notebook_output" in document:
        click.echo(f"notebook result: {document['notebook_output'].get('result')}")
    if "sql_output" in document:
        click.echo(f"sql output: {json.dumps(document['sql_output'])[:2000]}")
    if "error" in document:
        click.echo(f"error: {document['error']}")
    if "error_trace" in document:
        click.echo(document["error_trace"])
    if document.get("logs"):
        click.echo(document["logs"], nl=False)


@runs.command("logs")
@click.argument("run_id", type=int)
@click.argument("task_key")
@click.option("--attempt", type=int, help="attempt_number as in `runs get` (0 is the first); "
                                         "the latest by default.")
@click.option("--iteration", type=int,
              help="For a for-each task: the iteration (0 is the first input).")
@db_option
@reports_errors
def runs_logs(run_id: int, task_key: str, attempt: int | None, iteration: int | None,
              db: str | None) -> None:
    """Print the stdout and stderr of one attempt of a task (or of a for-each iteration)."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as service:
        path = service.log_file(run_id, task_key, attempt, iteration)
    if not path.exists():
        click.echo(f"(no output: {path} does not exist; the attempt may not have started)",
                   err=True)
        return
    with path.open("rb") as log:
        sys.stdout.buffer.write(log.read())


@runs.command("cancel")
@click.argument("run_id", type=int)
@click.option("--task", "task_key", help="Cancel only this task of the run.")
@db_option
@reports_errors
def runs_cancel(run_id: int, task_key: str | None, db: str | None) -> None:
    """Cancel a run (or one task): running attempts are killed, cleanup tasks still run.

    RUN_ID may also be a task run id (from `runs get`): that task is cancelled.
    """
    from headwater.bootstrap import application

    with application(settings_for(db)) as service:
        record, seq = service.find_run(run_id)
        if seq is not None:
            task_key = record.state.task_runs[seq].task_key
            run_id = record.run_id
        service.cancel(run_id, task_key)
    what = f"task {task_key!r} of run {run_id}" if task_key else f"run {run_id}"
    click.echo(f"Cancel requested for {what}; the engine driving it acts within a second.")


@runs.command("resume")
@click.argument("run_id", type=int)
@db_option
@reports_errors
def runs_resume(run_id: int, db: str | None) -> None:
    """Continue a run whose `headwater run` was killed: finished tasks are not rerun."""
    from headwater.bootstrap import application

    with application(settings_for(db), drives_runs=True) as service:
        state = drive_with_display(service, run_id,
                                   lambda observer: service.resume(run_id, observer))
    finish(run_id, state)


@runs.command("repair")
@click.argument("run_id", type=int)
@click.option("--task", "task_keys", multiple=True, metavar="KEY",
              help="A task to rerun; repeatable.")
@click.option("--all-failed", is_flag=True, help="Rerun every task that did not succeed.")
@click.option("--rerun-dependents", is_flag=True,
              help="Also rerun the tasks downstream of those, even if they succeeded.")
@click.option("--latest-repair-id", type=int,
              help="Guard against a concurrent repair [default: filled in for you].")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Change a job parameter for the repair; the others keep the run's values.")
@db_option
@reports_errors
def runs_repair(run_id: int, task_keys: Sequence[str], all_failed: bool,
                rerun_dependents: bool, latest_repair_id: int | None, params: Sequence[str],
                db: str | None) -> None:
    """Rerun failed tasks inside a run that ended, with the job's current settings."""
    from headwater.bootstrap import application

    with application(settings_for(db), drives_runs=True) as service:
        request = service.prepare_repair(run_id, list(task_keys), all_failed, rerun_dependents,
                                         latest_repair_id, parse_pairs(params, "--param"))
        click.echo(f"Repair {request.repair_id} of run {run_id}: rerunning "
                   f"{', '.join(request.task_keys)}")
        state = drive_with_display(service, run_id,
                                   lambda observer: service.repair(run_id, request, observer))
    finish(run_id, state)


@runs.command("run-child", hidden=True)
@click.option("--job-id", type=int)
@click.option("--job-name")
@click.option("--parameters", "parameters_json", default="{}")
@click.option("--parent-task-run", type=int, required=True)
@db_option
@reports_errors
def runs_run_child(job_id: int | None, job_name: str | None, parameters_json: str,
                   parent_task_run: int, db: str | None) -> None:
    """The child engine of a Run Job task (see runners/run_job.py); not for people."""
    from headwater.bootstrap import application
    from headwater.cli.display import LineDisplay
    from headwater.errors import InvalidRequest
    from headwater.runtime.channel import update_result

    settings = settings_for(db)
    with application(settings, drives_runs=True) as service:
        job = service.find_job(job_id, job_name)
        if job.job_id in settings.run_job_chain:
            raise InvalidRequest(f"Run Job tasks form a cycle: job {job.job_id} ({job.name!r}) "
                                 f"is already running above (jobs {settings.run_job_chain})")
        workdir = Path(job.source).parent if Path(job.source).is_file() else Path.cwd()
        run_id = service.start_run(job, json.loads(parameters_json), workdir,
                                   trigger="RUN_JOB_TASK", strict=False)
        update_result({"run_job_output": {"run_id": run_id}})
        click.echo(f"Run {run_id} of job {job.name!r} started by task run {parent_task_run}")
        signal.signal(signal.SIGTERM, lambda *_: service.engine.interrupted.set())
        state = service.drive(run_id, LineDisplay(sys.stdout))
    finish(run_id, state)
