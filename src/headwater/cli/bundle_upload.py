"""A bundle deployed to a server: its files copied there first, as `databricks bundle deploy`
syncs them to the workspace (`core/bundle_sync.py`), so its jobs run the code deployed. Which
files is `cli/bundle_files.py`'s; they travel as one gzipped tar archive, and the server makes
its copy hold exactly them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from headwater.cli.bundle_facts import load_bundle_files

if TYPE_CHECKING:
    from headwater.cli.connect import LocalConnection, RemoteConnection
    from headwater.core.load import LoadedBundle

__all__ = ["load_for_deploy", "upload"]


def load_for_deploy(where: LocalConnection | RemoteConnection, files: Sequence[Path],
                    target: str | None, var_pairs: Sequence[str], user: str,
                    host: str | None, build: bool = True) -> LoadedBundle:
    """The bundle of `files` (with `build`, its artifacts built) as it deploys `where`: on this
    machine, as it is; on a server, as the server's user makes it, its jobs naming the copy of
    its files that `upload` makes there (a plain job file, not a bundle, has no copy: its
    paths are the server's)."""
    from headwater.cli.connect import RemoteConnection

    if not isinstance(where, RemoteConnection):
        return load_bundle_files(files, target, var_pairs, user, build=build)
    workspace_dir, server_user = where.service.workspace()
    return load_bundle_files(files, target, var_pairs, server_user, host, build=build,
                             workspace_dir=workspace_dir)


def upload(where: LocalConnection | RemoteConnection, loaded: LoadedBundle) -> LoadedBundle:
    """Copy the files of a bundle `load_for_deploy` made for a server there; the bundle with
    each job's source (where it runs) in the copy. Anything else is returned as it is."""
    from headwater.cli.bundle_files import pack, synced_files
    from headwater.cli.connect import RemoteConnection

    sync = loaded.sync
    if not isinstance(where, RemoteConnection) or sync is None or sync.deployed is None:
        return loaded
    names = synced_files(sync)
    copied = where.service.sync_workspace_files(sync.deployed.file_path, pack(names))
    click.echo(f"Uploaded {len(names)} files to {sync.deployed.file_path} ({copied.written} "
               f"changed, {copied.deleted} deleted)", err=True)
    placed = [replace(bundle, jobs=tuple(
        replace(job, source=Path(sync.place(job.source.resolve().as_posix())))
        for job in bundle.jobs)) for bundle in loaded.files]
    return replace(loaded, files=placed)


