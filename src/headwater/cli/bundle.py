"""`headwater bundle`: look at a bundle's jobs as a target, its variables and its mode make them.

`bundle render` prints the merged `JobSettings` of each job, the exact data headwater validates
and runs, so that a user can see what `--target` and `--var` change. The OS user comes in here
(the core takes it as a parameter); `BUNDLE_VAR_<name>` environment variables set variables as
in the Databricks CLI, and `--var` wins over them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import click

from headwater.cli.common import (
    bundle_variables,
    reports_errors,
    select_jobs,
    settings_for,
    target_option,
    var_option,
)

__all__ = ["bundle"]


@click.group("bundle")
def bundle() -> None:
    """Look at bundle files as a target makes them: targets, variables, modes."""


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
    from headwater.core.load import load_files

    variables = bundle_variables(var_pairs, os.environ)
    jobs = load_files(files, target, variables, settings_for(None).user)
    rendered = {
        job.resource_name: job.settings.model_dump(mode="json", exclude_none=True)
        for job in select_jobs(jobs, job_name)
    }
    click.echo(json.dumps(rendered, indent=2))
