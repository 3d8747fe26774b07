"""A bundle deployed to a server: its files copied there first, as `databricks bundle deploy`
syncs them to the workspace (`core/bundle_sync.py`), so its jobs run the code deployed. Which
files is `cli/bundle_files.py`'s. The server is asked first which of them (by SHA-256) its copy
lacks; they travel as one gzipped tar archive listing the others by digest alone, and the
server makes its copy hold exactly them. If a file listed so changed on the server meanwhile
(another deploy of the folder), the server refuses the archive and this asks again.
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
    from headwater.ports import SyncedFiles

__all__ = ["load_for_deploy", "upload"]

_ATTEMPTS = 3  # comparisons a deploy makes while other deploys change the folder meanwhile


def load_for_deploy(where: LocalConnection | RemoteConnection, files: Sequence[Path],
                    target: str | None, var_pairs: Sequence[str], user: str,
                    host: str | None, build: bool = True) -> LoadedBundle:
    """The bundle of `files` (with `build`, its artifacts built) as it deploys `where`: on this
    machine, as it is; on a server, as the server's user makes it, its jobs naming the copy of
    its files that `upload` makes there (a plain job file, not a bundle, has no copy: its
    paths are the server's)."""
    from headwater.cli.connect import RemoteConnection

    if not isinstance(where, RemoteConnection):  # (the server checks its own destinations)
        return load_bundle_files(files, target, var_pairs, user, build=build,
                                 destinations=where.service.destinations)
    workspace_dir, server_user = where.service.workspace()
    return load_bundle_files(files, target, var_pairs, server_user, host, build=build,
                             workspace_dir=workspace_dir)


def upload(where: LocalConnection | RemoteConnection, loaded: LoadedBundle) -> LoadedBundle:
    """Copy the files of a bundle `load_for_deploy` made for a server there; the bundle with
    each job's source (where it runs) in the copy. Anything else is returned as it is. A job
    of the bundle the caller may not manage stops it before any file is copied."""
    from headwater.cli.bundle_files import synced_files
    from headwater.cli.connect import RemoteConnection

    sync = loaded.sync
    if not isinstance(where, RemoteConnection) or sync is None or sync.deployed is None:
        return loaded
    where.service.check_may_deploy([job.deployment_key for job in loaded.jobs])
    names = synced_files(sync)
    copied, sent = _send_changed(where, sync.deployed.file_path, names)
    click.echo(f"Synced {len(names)} files to {sync.deployed.file_path} ({sent} sent, "
               f"{copied.written} changed, {copied.deleted} deleted)", err=True)
    placed = [replace(bundle, jobs=tuple(
        replace(job, source=Path(sync.place(job.source.resolve().as_posix())))
        for job in bundle.jobs)) for bundle in loaded.files]
    return replace(loaded, files=placed)


def _send_changed(where: RemoteConnection, path: str,
                  names: dict[str, Path]) -> tuple[SyncedFiles, int]:
    """Make the server's folder of `path` hold the files `names`, sending only those it lacks;
    what changed there, and how many files were sent."""
    from headwater.cli.bundle_files import digests, pack
    from headwater.errors import Conflict

    content = digests(names)
    for attempt in range(1, _ATTEMPTS + 1):
        changed = set(where.service.changed_workspace_files(path, content))
        kept = {name: digest for name, digest in content.items() if name not in changed}
        try:
            return where.service.sync_workspace_files(path, pack(names, kept)), len(changed)
        except Conflict:  # another deploy changed the folder since the comparison
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
