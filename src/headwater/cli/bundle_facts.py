"""What a bundle's `${bundle.git.*}` and `${workspace.*}` mean on this machine, and loading a
bundle with its warnings shown: the I/O around `headwater.core.load.load_bundle`.

Git facts come from the `git` command in the bundle's folder, as the Databricks CLI reads them
(`bundle/config/mutator/load_git_details.go`): the branch, the commit, the `origin` URL and the
bundle's folder inside the checkout. Outside a checkout, or without git, they are empty.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from headwater.cli.common import bundle_variables

if TYPE_CHECKING:
    from headwater.core.bundle_scopes import ScopeGrant
    from headwater.core.load import LoadedBundle, LoadedJob

__all__ = ["git_facts", "load_bundle_files", "load_bundle_jobs", "make_secret_scopes"]

_GIT_TIMEOUT_SECONDS = 5


def git_facts(folder: Path) -> dict[str, str]:
    """`branch`, `actual_branch`, `commit`, `origin_url` and `bundle_root_path` of the
    checkout holding `folder` (only those git knows)."""
    # The four commands run at once: one after the other they cost a `headwater run` ~25 ms.
    found = _git_all(folder, {
        "branch": ("rev-parse", "--abbrev-ref", "HEAD"),
        "commit": ("rev-parse", "HEAD"),
        "origin_url": ("config", "--get", "remote.origin.url"),
        "top": ("rev-parse", "--show-toplevel"),
    })
    facts = {key: found[key] for key in ("branch", "commit", "origin_url")}
    if found["top"]:
        facts["bundle_root_path"] = os.path.relpath(folder.resolve(), found["top"])
    facts["actual_branch"] = facts["branch"]
    return {key: value for key, value in facts.items() if value}


def _git_all(folder: Path, commands: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """What each git command printed, or "" when it failed (or git is missing)."""
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for key, arguments in commands.items():
            started[key] = subprocess.Popen(
                ["git", "-C", os.fspath(folder), *arguments], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    except OSError:
        pass
    printed = dict.fromkeys(commands, "")
    deadline = time.monotonic() + _GIT_TIMEOUT_SECONDS
    for key, process in started.items():
        try:
            out, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            continue
        printed[key] = out.strip() if process.returncode == 0 else ""
    return printed


def load_bundle_jobs(files: Sequence[Path], target: str | None, var_pairs: Sequence[str],
                     user: str, host: str | None = None, build: bool = False,
                     destinations: frozenset[str] | None = None) -> list[LoadedJob]:
    """The jobs of `files` as the target makes them (see `load_bundle_files`)."""
    return load_bundle_files(files, target, var_pairs, user, host, build,
                             destinations=destinations).jobs


def load_bundle_files(files: Sequence[Path], target: str | None, var_pairs: Sequence[str],
                      user: str, host: str | None = None, build: bool = False,
                      workspace_dir: str | None = None,
                      destinations: frozenset[str] | None = None,
                      check_code: bool = True) -> LoadedBundle:
    """The bundle of `files` as the target makes it; the warnings go to stderr. With `build`,
    the bundle's artifacts are built first (see `headwater.cli.bundle_artifacts`). With
    `workspace_dir` (a server's folder for `/Workspace`), its jobs name the copy of its files
    that a deploy makes there (`headwater.cli.bundle_upload`). With `destinations` (the
    configured notification destination ids), a job naming another is warned of. Without
    `check_code`, a missing notebook or file is not one (`describe`: a design may come first).

    Raises:
        SpecError: listing every problem of every file.
        ArtifactBuildFailed: when an artifact's build fails.
    """
    from headwater.cli.bundle_python import load_python_resources
    from headwater.core.bundle_model import BundleContext
    from headwater.core.load import load_bundle

    folder = files[0].parent if files else Path.cwd()
    context = BundleContext(user=user, host=host, git=git_facts(folder),
                            workspace_dir=workspace_dir, destinations=destinations)
    loaded = load_bundle(list(files), target, bundle_variables(var_pairs, os.environ), context,
                         load_python_resources, check_code=check_code)
    for warning in loaded.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if build and loaded.files:
        from headwater.cli.bundle_artifacts import build_artifacts

        chosen = next((job.target for job in loaded.jobs), target)
        build_artifacts(loaded.files[0].source.parent, loaded.files[0].sections, chosen)
    return loaded


def make_secret_scopes(service: Any, scopes: Sequence[str],
                       grants: Sequence[ScopeGrant] = ()) -> None:
    """Create the bundle's secret scopes that do not exist yet and put the ACL entries their
    `permissions` ask for (as `databricks bundle deploy` does), through the local service
    (managed by `admins`) or a server's Secrets API (managed by the deployer). What cannot
    be done is a warning: the jobs still deploy."""
    from headwater.errors import HeadwaterError

    if not scopes:
        return
    try:
        existing = set(service.secret_scopes())
        for scope in scopes:
            if scope not in existing:
                service.create_secret_scope(scope)
                click.echo(f"secret scope {scope!r} created; put its secrets with "
                           f"`headwater secrets put-secret {scope} KEY`", err=True)
        for grant in grants:
            service.put_secret_acl(grant.scope, grant.principal, grant.permission)
    except HeadwaterError as error:
        click.echo(f"Warning: the bundle's secret scopes ({', '.join(scopes)}) were not made "
                   f"with their permissions: {error}", err=True)
