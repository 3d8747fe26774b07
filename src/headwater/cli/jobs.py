"""`headwater jobs`: jobs keyed by id, as in the Jobs API, on the local state store or a server.

    headwater jobs create FILE [--target T] [--job NAME]    # prints each new job's id
    headwater jobs reset FILE [--job-id ID]                 # replaces a job's settings
    headwater jobs list [--name NAME] | get JOB | delete JOB
    headwater jobs pause|unpause JOB                        # its schedule or trigger
    headwater jobs run-now JOB [--param k=v] [--wait]       # prints the run id at once
    headwater jobs backfill JOB --from DATE --to DATE [--every 1d] [--param k=v]

JOB is a job's id, or its name when one job the caller may view has it.

A job made from files keeps their deployment key (bundle, target, resource key), so `reset`
and `headwater run` of the same files change that job rather than making another. Every
command takes `--host URL` (or `DATABRICKS_HOST`) to act on a `headwater server` instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from headwater.cli.common import (
    db_option,
    parse_pairs,
    reports_errors,
    select_jobs,
    settings_for,
    target_option,
    var_option,
)
from headwater.cli.connect import connect, finish, server_options
from headwater.cli.run_options import only_option, task_parameter_options, task_parameters
from headwater.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from headwater.cli.connect import LocalConnection, RemoteConnection
    from headwater.core.load import LoadedJob

# A job named on the command line: its id, or its name (`job_id_of`).
job_argument = click.argument("job", metavar="JOB")


def job_id_of(service: Any, job: str) -> int:
    """The id of `job`: an id as given, else the one job the caller may view that has that
    name (as `jobs/list?name=` matches: whole, ignoring case), on the local store or a
    server alike.

    Raises:
        InvalidRequest: when several jobs have the name.
        NotFound: when none has it.
    """
    if job.isdigit():
        return int(job)
    named = service.list_jobs(job, limit=100).items
    if len(named) == 1:
        return int(named[0].job_id)
    if named:
        ids = ", ".join(str(found.job_id) for found in named)
        raise InvalidRequest(f"{len(named)} jobs are named {job!r} (ids {ids}); name the job "
                             "by its id")
    raise NotFound(f"No job is named {job!r}; `headwater jobs list` shows the jobs and their "
                   "ids")


@click.group()
def jobs() -> None:
    """Jobs by id: create, reset, list, get, pause, unpause, delete, run-now."""


def load_jobs(file: Path, target: str | None, var_pairs: Sequence[str],
              job_name: str | None, build: bool = False) -> list[LoadedJob]:
    """The jobs of a file (or the one named), with absolute sources for their keys; with
    `build`, after building the bundle's artifacts."""
    from headwater.cli.bundle_facts import load_bundle_jobs

    loaded = load_bundle_jobs([file], target, var_pairs, settings_for(None).user, build=build)
    return chosen_jobs(file, loaded, job_name)


def deployable_jobs(where: LocalConnection | RemoteConnection, file: Path, target: str | None,
                    var_pairs: Sequence[str], job_name: str | None) -> list[LoadedJob]:
    """The jobs of a file (or the one named) as they deploy `where`: to a server, a bundle's
    files are copied there first and its jobs name the copies (`cli/bundle_upload.py`)."""
    from headwater.cli.bundle_upload import load_for_deploy, upload

    loaded = load_for_deploy(where, [file], target, var_pairs, settings_for(None).user, None,
                             build=False)
    chosen_jobs(file, loaded.jobs, job_name)  # a wrong --job stops before the upload
    return chosen_jobs(file, upload(where, loaded).jobs, job_name)


def chosen_jobs(file: Path, loaded: list[LoadedJob], job_name: str | None) -> list[LoadedJob]:
    """The jobs of `file` `job_name` names (all when None); a usage error for none."""
    if not loaded:
        raise click.UsageError(f"{file} defines no jobs under resources.jobs")
    chosen = select_jobs(loaded, job_name)
    return [replace(job, source=job.source.resolve()) for job in chosen]


@jobs.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--job", "job_name", help="Only this job of the file (resource or job name).")
@target_option
@var_option
@db_option
@server_options
@reports_errors
def jobs_create(file: Path, job_name: str | None, target: str | None,
                var_pairs: Sequence[str], db: str | None, host: str | None,
                profile: str | None) -> None:
    """Create the jobs of a file; print each new job's id, one per line.

    A job already created from the same files is refused: `jobs reset` changes it.
    """
    from headwater.service.deploy import DeployMode

    with connect(db, host, profile) as where:
        for job in deployable_jobs(where, file, target, var_pairs, job_name):
            record, _ = where.service.deploy(job.settings, str(job.source),
                                             job.deployment_key, DeployMode.CREATE)
            click.echo(f"created job {record.job_id} ({record.name!r})", err=True)
            click.echo(record.job_id)


@jobs.command("reset")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--job", "job_name", help="Only this job of the file (resource or job name).")
@click.option("--job-id", type=int,
              help="The job to replace [default: the one created from these files].")
@target_option
@var_option
@db_option
@server_options
@reports_errors
def jobs_reset(file: Path, job_name: str | None, job_id: int | None, target: str | None,
               var_pairs: Sequence[str], db: str | None, host: str | None,
               profile: str | None) -> None:
    """Replace the settings of jobs with a file's (a new version of each); print their ids."""
    from headwater.service.deploy import DeployMode

    if job_id is not None and len(found := load_jobs(file, target, var_pairs, job_name)) != 1:
        raise click.UsageError(f"{file} defines {len(found)} jobs; pick one with --job to "
                               f"reset job {job_id}")
    with connect(db, host, profile) as where:
        for job in deployable_jobs(where, file, target, var_pairs, job_name):
            if job_id is not None:
                record = where.service.reset_job(job_id, job.settings, str(job.source))
            else:
                record, _ = where.service.deploy(job.settings, str(job.source),
                                                 job.deployment_key, DeployMode.RESET)
            click.echo(f"job {record.job_id} ({record.name!r}) is at version {record.version}",
                       err=True)
            click.echo(record.job_id)


@jobs.command("list")
@click.option("--name", help="Only jobs with exactly this name (ignoring case).")
@click.option("--limit", type=click.IntRange(1, 100), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the Jobs API `jobs/list` JSON.")
@db_option
@server_options
@reports_errors
def jobs_list(name: str | None, limit: int, as_json: bool, db: str | None, host: str | None,
              profile: str | None) -> None:
    """Jobs by id, with their latest version."""
    from headwater.api.documents import job_json

    with connect(db, host, profile) as where:
        page = where.service.list_jobs(name, limit)
    if as_json:
        body = {"jobs": [job_json(job, with_settings=False) for job in page.items],
                "has_more": page.has_more}
        click.echo(json.dumps(body, indent=2))
        return
    for job in page.items:
        click.echo(f"{job.job_id:>6}  {job.name:<40}  version {job.version:<4} {job.source}")


@jobs.command("get")
@job_argument
@db_option
@server_options
@reports_errors
def jobs_get(job: str, db: str | None, host: str | None, profile: str | None) -> None:
    """The Jobs API `Job` of a job: its id, creator and settings, its next fire time, and
    what its triggers saw and started."""
    with connect(db, host, profile) as where:
        document = where.service.job_document(job_id_of(where.service, job),
                                              include_trigger_state=True,
                                              include_trigger_history=True)
    click.echo(json.dumps(document, indent=2))


@jobs.command("pause")
@job_argument
@db_option
@server_options
@reports_errors
def jobs_pause(job: str, db: str | None, host: str | None, profile: str | None) -> None:
    """Pause a job's schedule or trigger: it starts no run until unpaused."""
    _set_paused(job, True, db, host, profile)


@jobs.command("unpause")
@job_argument
@db_option
@server_options
@reports_errors
def jobs_unpause(job: str, db: str | None, host: str | None, profile: str | None) -> None:
    """Unpause a job's schedule or trigger: it fires again, from now on."""
    _set_paused(job, False, db, host, profile)


def _set_paused(job: str, paused: bool, db: str | None, host: str | None,
                profile: str | None) -> None:
    with connect(db, host, profile) as where:
        record = where.service.set_paused(job_id_of(where.service, job), paused)
    click.echo(f"job {record.job_id} is {'paused' if paused else 'unpaused'} (version "
               f"{record.version})", err=True)


@jobs.command("delete")
@job_argument
@db_option
@server_options
@reports_errors
def jobs_delete(job: str, db: str | None, host: str | None, profile: str | None) -> None:
    """Delete a job; its runs stay readable."""
    with connect(db, host, profile) as where:
        job_id = job_id_of(where.service, job)
        where.service.delete_job(job_id)
    click.echo(f"deleted job {job_id}", err=True)


@jobs.command("run-now")
@job_argument
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a job parameter; repeatable.")
@click.option("--wait", is_flag=True,
              help="Follow the run to its end, as `headwater run` does (exit 1 unless it "
                   "succeeds).")
@only_option
@task_parameter_options
@db_option
@server_options
@reports_errors
def jobs_run_now(job: str, params: Sequence[str], wait: bool, only: Sequence[str],
                 db: str | None, host: str | None, profile: str | None) -> None:
    """Start a run of a job and print its id at once; a running engine picks it up (when
    none is running on this store, a note on stderr says how to start one)."""
    from headwater.cli.connect import LocalConnection
    from headwater.cli.follow import announce

    with connect(db, host, profile) as where:
        job_id = job_id_of(where.service, job)
        created = where.service.run_now(job_id, parse_pairs(params, "--param"), only=only,
                                        task_parameters=task_parameters())
        if not wait:
            click.echo(created.run_id)
            if isinstance(where, LocalConnection) and created.life_cycle == "PENDING" and \
                    not any(e.state == "alive" for e in where.service.engines()):
                click.echo(f"note: no engine is running on this store, so run "
                           f"{created.run_id} waits: start `headwater engine`, or `headwater "
                           f"runs resume {created.run_id}` to run it here (or run-now --wait)",
                           err=True)
            return
        announce(where.service, created, job_id, f"job {job_id}")
        ending = where.follow(created.run_id)
    finish(ending, created.run_id)


@jobs.command("backfill")
@job_argument
@click.option("--from", "start", required=True, metavar="WHEN",
              help="The first time to run for: 2026-11-01, or 2026-11-01T06:00:00Z (UTC unless "
                   "it says).")
@click.option("--to", "end", required=True, metavar="WHEN",
              help="The last time (a run falls on it if the interval reaches it exactly).")
@click.option("--every", default="1d", show_default=True, metavar="INTERVAL",
              help="Between two runs: 6h, 1d, 1w, 1mo ...")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a job parameter in every run; a value may hold "
                   "{{backfill.iso_date}} (or another time argument). Repeatable.")
@click.option("--newest-first", is_flag=True, help="Start with the latest time.")
@click.option("--dry-run", is_flag=True, help="Print the times; start nothing.")
@db_option
@server_options
@reports_errors
def jobs_backfill(job: str, start: str, end: str, every: str, params: Sequence[str],
                  newest_first: bool, dry_run: bool, db: str | None, host: str | None,
                  profile: str | None) -> None:
    """Run a job once for each time of a past range, all runs made at once or none.

    The runs wait in the job's queue (max_concurrent_runs at a time), oldest first. Each knows
    its time as {{backfill.<arg>}} and as {{job.trigger.time.<arg>}}, so a job written for
    its schedule backfills unchanged; cancel them with `headwater runs cancel-all --backfill`.
    Prints one line per run: its id, its time and whether it started or waits.
    """
    from headwater.core.backfill import Backfill

    asked = Backfill.of(start, end, every, newest_first)
    overrides = parse_pairs(params, "--param")
    with connect(db, host, profile) as where:
        job_id = job_id_of(where.service, job)
        if dry_run:
            for time in where.service.backfill_times(job_id, asked, overrides):
                click.echo(time.isoformat())
            return
        made = where.service.backfill(job_id, asked, overrides)
    for time, run in made.runs:
        click.echo(f"{run.run_id}\t{time.isoformat()}\t{run.life_cycle}")
    click.echo(f"backfill {made.backfill_id}: {len(made.runs)} runs of job {job_id}", err=True)
