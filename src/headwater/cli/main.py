"""The `headwater` command line: validate job files, run a job; the other groups live beside.

Rich is imported only by the commands that draw (see display.py), so `--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from headwater.cli.bundle import bundle, deploy
from headwater.cli.bundle_facts import load_bundle_jobs
from headwater.cli.common import (
    LazyGroup,
    db_option,
    parse_pairs,
    pick_job,
    reports_errors,
    settings_for,
    target_option,
    var_option,
)
from headwater.cli.connect import server_options
from headwater.cli.engine import engine
from headwater.cli.jobs import jobs
from headwater.cli.ops import register_operations
from headwater.cli.runs import runs
from headwater.cli.schedule import schedule
from headwater.cli.server import server
from headwater.cli.simulate import simulate
from headwater.cli.tokens import tokens

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
    jobs = load_bundle_jobs(files, target, var_pairs, settings_for(None).user)
    if not jobs:  # valid, as for the Databricks CLI: a bundle of pipelines, apps, ...
        click.echo(f"ok: {', '.join(map(str, files))}: no jobs under resources.jobs, so "
                   "nothing for headwater to run")
    for job in jobs:
        click.echo(f"ok: {job.defined_in or job.source}: job "
                   f"{job.settings.name or job.resource_name!r} "
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
@server_options
@reports_errors
def run(file: Path, job_name: str | None, target: str | None, var_pairs: Sequence[str],
        params: Sequence[str], max_parallel: int | None, db: str | None, host: str | None,
        profile: str | None) -> None:
    """Run a job to its end here, showing its tasks as they go.

    The job is deployed first (created, or updated when these files were run or deployed
    before), then run by an engine in this process (or, with --host, by the server's).
    Exits 0 when the run ends SUCCESS or SUCCESS_WITH_FAILURES, 1 otherwise.
    """
    from headwater.cli.connect import LocalConnection, connect, ending_of_state, finish
    from headwater.cli.follow import announce, follow, print_results
    settings = settings_for(db, max_parallel)
    jobs_found = [replace(found, source=found.source.resolve())
                  for found in load_bundle_jobs([file], target, var_pairs, settings.user, host,
                                                build=True)]
    job = pick_job(jobs_found, job_name, file)
    overrides = parse_pairs(params, "--param")
    with connect(db, host, profile) as where:
        service = where.service
        for other in jobs_found:  # a Run Job task may name any job of the bundle
            if other is not job:
                service.deploy(other.settings, str(other.source), other.deployment_key)
        # Relative paths in a job start at the file that defines it (an `include:`d one, say).
        record, _ = service.deploy(job.settings, str(job.source), job.deployment_key)
        what = f"job {record.name!r} (job {record.job_id}, version {record.version})"
        if isinstance(where, LocalConnection):
            app = where.app
            created = app.service.start_run(record, overrides, job.source.parent,
                                            owner=app.engine_name,
                                            lease_seconds=app.settings.lease_seconds)
            announce(service, created, record.job_id, what)
            ending = ending_of_state(created.run_id, follow(app, created.run_id, created.fence))
        else:
            created = service.run_now(record.job_id, overrides)
            announce(service, created, record.job_id, what)
            ending = where.follow(created.run_id)
        print_results(service, created.run_id)
    finish(ending, created.run_id)


main.add_command(bundle)
main.add_command(deploy)
main.add_command(runs)
main.add_command(jobs)
main.add_command(engine)
main.add_command(tokens)
main.add_command(schedule)
main.add_command(server)
main.add_command(simulate)
register_operations(main)
