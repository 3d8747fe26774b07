"""A bundle deployed to a server: its files copied there first, as `databricks bundle deploy`
syncs them to the workspace (`core/bundle_sync.py`), so its jobs run the code deployed.

Which files: those under `sync.paths` (default: the bundle's folder) that Git would not ignore
(every `.gitignore` from the checkout's top down, and `.git/info/exclude`), plus those
`sync.include` matches, less those `sync.exclude` matches (both in .gitignore syntax, relative
to the sync root), plus every file a job names, ignored or not (a wheel built into `dist/`).
`.git`, `.databricks` and `.headwater` folders are never copied. They travel as one gzipped tar
archive; the server makes its copy hold exactly them.
"""

from __future__ import annotations

import glob
import io
import os
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pathspec import GitIgnoreSpec

from headwater.cli.bundle_facts import load_bundle_files

if TYPE_CHECKING:
    from headwater.cli.connect import LocalConnection, RemoteConnection
    from headwater.core.bundle_sync import BundleSync
    from headwater.core.load import LoadedBundle

__all__ = ["load_for_deploy", "pack", "synced_files", "upload"]

_NEVER = frozenset({".git", ".databricks", ".headwater"})


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


def synced_files(sync: BundleSync) -> dict[str, Path]:
    """The files a deploy copies, by their path inside the sync root."""
    root = Path(sync.root)
    include = GitIgnoreSpec.from_lines(sync.include)
    exclude = GitIgnoreSpec.from_lines(sync.exclude)
    ignored = _GitIgnored(root)
    chosen: dict[str, Path] = {}
    for folder in sync.paths:
        for path in _walk(Path(folder), root, ignored, include):
            name = path.relative_to(root).as_posix()
            if not exclude.match_file(name):
                chosen[name] = path
    for pattern in sync.referenced:
        for match in sorted(glob.glob(pattern)):
            path = Path(match)
            if path.is_file() and path.is_relative_to(root):
                chosen.setdefault(path.relative_to(root).as_posix(), path)
    return dict(sorted(chosen.items()))


def pack(names: dict[str, Path]) -> bytes:
    """A gzipped tar archive of the files, each under its name (links followed)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", dereference=True) as tar:
        for name, path in names.items():
            tar.add(path, arcname=name, recursive=False)
    return buffer.getvalue()


def _walk(folder: Path, root: Path, ignored: _GitIgnored, include: GitIgnoreSpec
          ) -> Iterator[Path]:
    """The files under `folder` that Git would not ignore, or that `include` names."""
    for current, folders, files in os.walk(folder):
        here = Path(current)
        inside = here.relative_to(root).as_posix() if here != root else ""
        folders[:] = sorted(name for name in folders if name not in _NEVER and (
            include.match_file(f"{inside}/{name}/".lstrip("/"))
            or not ignored(here / name, is_folder=True)))
        for name in sorted(files):
            path = here / name
            if include.match_file(f"{inside}/{name}".lstrip("/")) or not ignored(path):
                yield path


class _GitIgnored:
    """Whether Git would ignore a path under `root`: the `.gitignore` of its folder and of each
    folder above it, up to the checkout's top (the deepest that decides wins), then
    `.git/info/exclude`."""

    def __init__(self, root: Path) -> None:
        self.top = next((folder for folder in (root, *root.parents)
                         if (folder / ".git").exists()), root)
        self.specs: dict[Path, GitIgnoreSpec | None] = {}
        exclude = self.top / ".git" / "info" / "exclude"
        self.excluded = GitIgnoreSpec.from_lines(_lines(exclude))

    def __call__(self, path: Path, is_folder: bool = False) -> bool:
        suffix = "/" if is_folder else ""
        folder = path.parent
        while True:
            spec = self._spec(folder)
            if spec is not None:
                decided = spec.check_file(path.relative_to(folder).as_posix() + suffix).include
                if decided is not None:
                    return decided
            if folder == self.top or folder == folder.parent:
                break
            folder = folder.parent
        return bool(self.excluded.match_file(path.relative_to(self.top).as_posix() + suffix))

    def _spec(self, folder: Path) -> GitIgnoreSpec | None:
        if folder not in self.specs:
            lines = _lines(folder / ".gitignore")
            self.specs[folder] = GitIgnoreSpec.from_lines(lines) if lines else None
        return self.specs[folder]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
