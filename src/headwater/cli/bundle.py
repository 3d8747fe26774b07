"""`headwater bundle`: look at a bundle's jobs as a target, its variables and its mode make them;
`headwater deploy`, `headwater bundle run` and `headwater bundle destroy`, as the Databricks
CLI's `bundle deploy|run|destroy`.

`bundle render` prints the merged `JobSettings` of each job, the exact data headwater validates
and runs, so that a user can see what `--target` and `--var` change. The OS user comes in here
(the core takes it as a parameter); `BUNDLE_VAR_<name>` environment variables set variables as
in the Databricks CLI, and `--var` wins over them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from headwater.cli.common import (
    BUNDLE_FILE,
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

if TYPE_CHECKING:
    from headwater.service.deploy import RemovedJob

__all__ = ["bundle", "deploy", "destroy"]


@click.group("bundle")
def bundle() -> None:
    """Bundles as `databricks bundle` works them: validate, deploy, run, destroy, render."""


@bundle.command("validate")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              default=BUNDLE_FILE, show_default=True, help="The bundle file.")
@target_option
@var_option
@click.pass_context
def bundle_validate(context: click.Context, file: Path, target: str | None,
                    var_pairs: Sequence[str]) -> None:
    """Check the bundle (like `databricks bundle validate`): `headwater validate` of its file."""
    from headwater.cli.main import validate

    context.invoke(validate, files=(file,), target=target, var_pairs=var_pairs)


@bundle.command("render")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@target_option
@var_option
@click.option("--job", "job_name", help="Only this job (resource or job name).")
@reports_errors
def render(
    files: Sequence[Path], target: str | None, var_pairs: Sequence[str], job_name: str | None
) -> None:
    """Print each job's merged settings as JSON: {"<resource name>": {...}}.

    Exits 1 with every problem, each at file:line:col, if the files are invalid.
    """
    from headwater.cli.bundle_facts import load_bundle_jobs

    jobs = load_bundle_jobs(files, target, var_pairs, settings_for(None).user)
    rendered = {
        job.resource_name: job.settings.model_dump(mode="json", exclude_none=True)
        for job in select_jobs(jobs, job_name)
    }
    click.echo(json.dumps(rendered, indent=2))


@click.command("deploy")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@target_option
@var_option
@db_option
@server_options
@reports_errors
def deploy(file: Path | None, target: str | None, var_pairs: Sequence[str], db: str | None,
           host: str | None, profile: str | None) -> None:
    """Deploy a bundle's jobs (like `databricks bundle deploy`): create or update each, and
    delete those the bundle no longer defines; print `KEY: JOB_ID`.

    A job deployed before from the same bundle, target and key is reset to the files'
    settings (a new version if they changed). FILE defaults to databricks.yml here. The
    bundle's artifacts (wheels) are built first, and its secret scopes made (empty) where
    they do not exist. A deleted job's runs stay readable and its active runs go on to their
    end; jobs of the bundle's other targets, and of plain job files, are left alone. A job to
    delete that you may not manage stops the deploy before anything changes.
    With --host, the jobs go to that server, and the bundle's files are copied there first
    (those Git would not ignore, under sync.paths), as `databricks bundle deploy` syncs them
    to the workspace: the jobs run the copies.
    """
    from headwater.cli.bundle_facts import make_secret_scopes
    from headwater.cli.bundle_upload import load_for_deploy, upload

    named = file or BUNDLE_FILE
    with connect(db, host, profile) as where:
        loaded = load_for_deploy(where, [named], target, var_pairs, settings_for(None).user,
                                 host)
        if not loaded.jobs:
            hint = (f"; to delete the jobs deployed from it, run `headwater bundle destroy "
                    f"--file {named}`" if loaded.bundle is not None else "")
            raise click.UsageError(f"{named} defines no jobs under resources.jobs{hint}")
        kept = [job.resource_name for job in loaded.jobs]
        if loaded.bundle is not None:  # refused here, before anything changes
            where.service.remove_left_out(loaded.bundle, loaded.target, kept, dry_run=True,
                                          root_path=loaded.root_path)
        loaded = upload(where, loaded)
        make_secret_scopes(where.service, loaded.secret_scopes, loaded.scope_grants)
        for job in loaded.jobs:
            record, status = where.service.deploy(job.settings, str(job.source.resolve()),
                                                  job.deployment_key)
            click.echo(f"{job.resource_name}: {record.job_id}  ({status}, version "
                       f"{record.version})")
        # Last, so that a deploy that stops midway leaves the old jobs for the next to delete.
        if loaded.bundle is not None:
            _echo_deleted(where.service.remove_left_out(loaded.bundle, loaded.target, kept,
                                                        root_path=loaded.root_path))


bundle.add_command(deploy)  # `headwater bundle deploy`, as `databricks bundle deploy`


def _echo_deleted(removed: Sequence[RemovedJob]) -> None:
    for job in removed:
        click.echo(f"{job.resource_key}: {job.job_id}  (deleted)")


@bundle.command("destroy")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              default=BUNDLE_FILE, show_default=True, help="The bundle file.")
@target_option
@var_option
@click.option("--auto-approve", is_flag=True,
              help="Delete without asking first (needed where no one can answer).")
@db_option
@server_options
@reports_errors
def destroy(file: Path, target: str | None, var_pairs: Sequence[str], auto_approve: bool,
            db: str | None, host: str | None, profile: str | None) -> None:
    """Delete every job the bundle deployed to the target (like `databricks bundle destroy`),
    once you confirm; print `KEY: JOB_ID  (deleted)`.

    The jobs' runs stay readable, and active runs go on to their end. Jobs of the bundle's
    other targets, and of plain job files, are left alone. If you may not manage one of the
    jobs, none is deleted. With --host, the bundle's folder on the server (its
    workspace.root_path, with the files deploys copied there) is deleted too, unless runs of
    the jobs still go on: they read their files from it, so it stays until a later destroy.
    """
    from headwater.cli.bundle_upload import load_for_deploy

    with connect(db, host, profile) as where:
        loaded = load_for_deploy(where, [file], target, var_pairs, settings_for(None).user,
                                 host, build=False)
        if loaded.bundle is None:
            raise click.UsageError(f"{file} names no bundle (bundle: {{name: ...}}), so no "
                                   "deployment of it can be destroyed; delete a job deployed "
                                   "from a plain file with `headwater jobs delete JOB_ID`")
        what = f"bundle {loaded.bundle} (target {loaded.target or 'default'})"
        deployed = loaded.sync.deployed if loaded.sync is not None else None
        planned = where.service.remove_left_out(loaded.bundle, loaded.target, (), dry_run=True,
                                                root_path=loaded.root_path)
        if not planned and deployed is None:
            click.echo(f"Nothing to destroy: {what} has no deployed jobs.")
            return
        click.echo(f"The following jobs of {what} will be deleted:" if planned else
                   f"{what} has no deployed jobs.")
        for job in planned:
            click.echo(f"  {job.resource_key}: {job.job_id}  (job {job.name!r})")
        # The runs still going read their code from the folder: it stays until they end.
        active = [run.run_id for job in planned
                  for run in where.service.list_runs(job.job_id, 100, active_only=True).items]
        if deployed is not None and active:
            click.echo(f"The folder {deployed.root_path} is kept: runs of these jobs still "
                       f"going on read their files from it (run ids: "
                       f"{', '.join(map(str, active))}); destroy again once they ended to "
                       "delete it.")
        elif deployed is not None:
            click.echo(f"The folder {deployed.root_path} and all in it will be deleted.")
        if not auto_approve and not _confirmed():
            click.echo("Destroy cancelled: nothing was deleted.")
            return
        _echo_deleted(where.service.remove_left_out(loaded.bundle, loaded.target, (),
                                                    root_path=loaded.root_path))
        if deployed is not None and not active and \
                where.service.remove_workspace_files(deployed.root_path):
            click.echo(f"{deployed.root_path}  (deleted)")


def _confirmed() -> bool:
    try:
        return click.confirm("Would you like to proceed?", err=True)  # stdout: the jobs
    except click.Abort:  # no answer: stdin ended (a script) or Ctrl-C
        raise click.ClickException("Destroy cancelled, nothing was deleted: there was no "
                                   "answer. Pass --auto-approve to destroy without being "
                                   "asked.") from None


@bundle.command("run")
@click.argument("job_key")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              default=BUNDLE_FILE, show_default=True, help="The bundle file.")
@target_option
@var_option
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a job parameter; repeatable.")
@only_option
@task_parameter_options
@db_option
@server_options
@reports_errors
def bundle_run(job_key: str, file: Path, target: str | None, var_pairs: Sequence[str],
               params: Sequence[str], only: Sequence[str], db: str | None, host: str | None,
               profile: str | None) -> None:
    """Run a deployed job of the bundle by its resource key (like `databricks bundle run`),
    showing it live; exit 1 unless it succeeds."""
    from headwater.cli.bundle_upload import load_for_deploy
    from headwater.cli.follow import announce
    from headwater.cli.jobs import chosen_jobs
    from headwater.errors import NotFound

    with connect(db, host, profile) as where:
        # As it deployed `where`: on a server, its key holds the bundle's root path there.
        loaded = load_for_deploy(where, [file], target, var_pairs, settings_for(None).user,
                                 host, build=False)
        [job] = chosen_jobs(file, loaded.jobs, job_key)
        try:
            record = where.service.deployed_job(job.deployment_key, str(job.source))
        except NotFound:
            at = f" at {loaded.root_path}" if loaded.root_path else ""
            raise click.ClickException(
                f"job {job.resource_name!r} of bundle {loaded.bundle} (target "
                f"{loaded.target or 'default'}) is not deployed{at}: run `headwater deploy` "
                "first") from None
        created = where.service.run_now(record.job_id, parse_pairs(params, "--param"),
                                        only=only, task_parameters=task_parameters())
        announce(where.service, created, record.job_id, f"job {record.name!r} "
                                                        f"(job {record.job_id})")
        ending = where.follow(created.run_id)
    finish(ending, created.run_id)
