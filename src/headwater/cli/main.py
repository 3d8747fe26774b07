"""The `headwater` command line: validate job files, run a job; the other commands live beside.

A command's module is imported only when that command runs (`COMMANDS`), and Rich only by the
commands that draw (see display.py), so `--help` and `run` import no more than they use
(tests/e2e/test_cli_imports.py holds it).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from headwater.cli.bundle_facts import load_bundle_jobs, make_secret_scopes
from headwater.cli.common import (
    BUNDLE_FILE,
    LazyGroup,
    counted,
    db_option,
    parse_pairs,
    pick_job,
    reports_errors,
    settings_for,
    target_option,
    var_option,
)
from headwater.cli.connect import server_options
from headwater.cli.run_options import only_option, task_parameter_options, task_parameters

# Every command but `run` and `validate`: name -> (where it is, its help's first sentence,
# which `--help` lists without importing it; a test checks it against the command's own).
COMMANDS = {
    "audit": ("headwater.cli.ops:audit", "The append-only, hash-chained audit log."),
    "bundle": ("headwater.cli.bundle:bundle",
               "Bundles as `databricks bundle` works them: validate, deploy, run, destroy, "
               "render."),
    "db": ("headwater.cli.db:db",
           "The state store's schema: its revision, and upgrading it to this headwater's."),
    "deploy": ("headwater.cli.bundle:deploy",
               "Deploy a bundle's jobs (like `databricks bundle deploy`): create or update "
               "each, and delete those the bundle no longer defines; print `KEY: JOB_ID`."),
    "describe": ("headwater.cli.design:describe", "Write the design document of a job: tasks, "
                 "dependencies, retries, schedule, alerts."),
    "engine": ("headwater.cli.engine:engine",
               "Run an engine in the foreground: claim runs that need one and drive them, and "
               "fire the jobs' schedules and triggers."),
    "engines": ("headwater.cli.engines:engines",
                "The engines sharing the state store: alive, unresponsive, gone or stopped."),
    "jobs": ("headwater.cli.jobs:jobs",
             "Jobs by id: create, reset, list, get, pause, unpause, delete, run-now."),
    "lint": ("headwater.cli.design:lint",
             "Check a job against the production-readiness checklist; one line per finding."),
    "metrics": ("headwater.cli.ops:metrics", "Summarise a job's recent runs: success rate, "
                "p50/p95 durations, figures per task."),
    "notifications": ("headwater.cli.ops:notifications",
                      "The alerts headwater sends: what is queued, delivered or given up."),
    "runs": ("headwater.cli.runs:runs", "Look at runs and act on them: list, get, logs, "
             "output, cancel, resume, repair, prune."),
    "schedule": ("headwater.cli.schedule:schedule", "Quartz cron schedules: when they fire."),
    "server": ("headwater.cli.server:server",
               "Serve the Jobs API 2.1/2.2 (the databricks-sdk works against it) and the web "
               "UI (at /), with an engine that drives the runs and fires the schedules."),
    "secrets": ("headwater.cli.secrets:secrets",
                "Secret scopes for dbutils.secrets: create, put, list, delete, and their ACLs."),
    "simulate": ("headwater.cli.simulate:simulate",
                 "Show what a run of a job would do when tasks fail, without running it."),
    "sql": ("headwater.cli.ops:sql", "Run one read-only SQL statement against the state "
            "store and print the rows."),
    "tokens": ("headwater.cli.tokens:tokens", "The API's tokens: create, list, revoke."),
    "warehouses": ("headwater.cli.warehouses:warehouses",
                   "The SQL warehouses a task's warehouse_id names: list them, check each "
                   "answers."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(package_name="headwater")
def main() -> None:
    """headwater: run Lakeflow (Databricks) jobs on your own machine."""
    # At exit the interpreter's collections walk every object the imports made: a tenth of a
    # second of a short command, for nothing as the process ends. Frozen objects are skipped.
    atexit.unregister(gc.freeze)  # once, however often `main` is invoked in one process
    atexit.register(gc.freeze)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@target_option
@var_option
@reports_errors
def validate(files: Sequence[Path], target: str | None, var_pairs: Sequence[str]) -> None:
    """Check job files (default: databricks.yml here); report every problem with its
    file:line:col and exit 1."""
    import os

    from headwater.config import known_destinations, load_config
    from headwater.core.checks import emailing_paths
    from headwater.core.triggers import unacted
    from headwater.design.compute import existing_cluster_users, warehouse_users

    files = files or (BUNDLE_FILE,)
    config = load_config(os.environ, Path.cwd())
    jobs = load_bundle_jobs(files, target, var_pairs, settings_for(None).user,
                            destinations=known_destinations(config, os.environ, Path.cwd()))
    if not jobs:  # valid, as for the Databricks CLI: a bundle of pipelines, apps, ...
        click.echo(f"ok: {', '.join(map(str, files))}: no jobs under resources.jobs, so "
                   "nothing for headwater to run")
    configured = config.warehouses
    reachable = {name for name, cluster in config.clusters.items() if cluster.scheduler_address}
    for job in jobs:
        click.echo(f"ok: {job.defined_in or job.source}: job "
                   f"{job.settings.name or job.resource_name!r} "
                   f"({counted(len(job.settings.tasks), 'task')})")
        for warehouse, keys in warehouse_users(job.settings).items():
            if warehouse not in configured:
                named = ", ".join(map(repr, dict.fromkeys(keys)))
                click.echo(f"note: warehouse_id {warehouse!r} (task {named}) is not in "
                           "headwater.yml's warehouses: its SQL runs on the embedded warehouse "
                           "(.headwater/warehouse.duckdb)")
        for cluster, keys in existing_cluster_users(job.settings).items():
            if cluster not in reachable:  # as Databricks' ids are: a cluster headwater lacks
                named = ", ".join(map(repr, dict.fromkeys(keys)))
                click.echo(f"warning: existing_cluster_id {cluster!r} (task {named}) is not in "
                           "headwater.yml's clusters, so the task cannot start; name the Dask "
                           f"scheduler it means: clusters: {{{cluster}: {{scheduler_address: "
                           "tcp://HOST:8786}}, or use a job cluster (docs/guide/clusters.md)")
        for path, note in unacted(job.settings):
            click.echo(f"note: {path}: {note}")
        for path in emailing_paths(job.settings) if config.smtp is None else ():
            click.echo(f"note: {path}: headwater.yml has no smtp: section, so these e-mails "
                       "cannot be sent (each shows FAILED in `headwater notifications list`); "
                       "add one (docs/guide/operations.md)")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=BUNDLE_FILE, required=False)
@click.option("--job", "job_name", help="Which job of the file to run (resource or job name).")
@target_option
@var_option
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a job parameter; repeatable.")
@click.option("--max-parallel", type=click.IntRange(min=1),
              help="Most tasks running at once [default: 4 per CPU, 4 to 32].")
@only_option
@task_parameter_options
@db_option
@server_options
@reports_errors
def run(file: Path, job_name: str | None, target: str | None, var_pairs: Sequence[str],
        params: Sequence[str], max_parallel: int | None, only: Sequence[str], db: str | None,
        host: str | None, profile: str | None) -> None:
    """Run a job of FILE (default: databricks.yml here) to its end, showing its tasks as they
    go.

    The job is deployed first (created, or updated when these files were run or deployed
    before; a bundle's secret scopes made where they do not exist), then run by an engine in
    this process. With --host, by the server's: a bundle's files are copied there first (only
    those that changed), as `headwater deploy --host` copies them, and the job runs the copy.
    Exits 0 when the run ends SUCCESS or SUCCESS_WITH_FAILURES, 1 otherwise.
    """
    from headwater.cli.bundle_upload import load_for_deploy, upload
    from headwater.cli.connect import LocalConnection, connect, ending_of_state, finish
    from headwater.cli.follow import announce, follow, print_results
    settings = settings_for(db, max_parallel)
    overrides = parse_pairs(params, "--param")
    with connect(db, host, profile) as where:
        loaded = load_for_deploy(where, [file], target, var_pairs, settings.user, host)
        pick_job(loaded.jobs, job_name, file)  # a wrong --job stops before the upload
        loaded = upload(where, loaded)
        jobs_found = [replace(found, source=found.source.resolve()) for found in loaded.jobs]
        job = pick_job(jobs_found, job_name, file)
        service = where.service
        make_secret_scopes(service, loaded.secret_scopes, loaded.scope_grants)
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
                                            lease_seconds=app.settings.lease_seconds,
                                            only=only, task_parameters=task_parameters())
            announce(service, created, record.job_id, what)
            ending = ending_of_state(created.run_id, follow(app, created.run_id, created.fence))
        else:
            created = service.run_now(record.job_id, overrides, only=only,
                                      task_parameters=task_parameters())
            announce(service, created, record.job_id, what)
            ending = where.follow(created.run_id)
        print_results(service, created.run_id)
    finish(ending, created.run_id)

