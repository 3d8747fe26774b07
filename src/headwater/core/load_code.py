"""Whether the notebooks, scripts, SQL files and dbt projects a loaded job names are there.

As `databricks bundle validate` (and `deploy`, and `run`: every command that loads a bundle)
refuses a notebook or file that is not in the bundle, loading a job file reports each code path
that names nothing on this machine, in the same report as the file's other problems and at the
line that names it. The path is looked for as a run looks for it
(`headwater.runtime.written_paths`: a notebook may leave out its `.py`, `.sql` or `.ipynb`).
Paths in the job's Git repository, workspace paths (`/Workspace/...`, `/Users/...`) and cloud
paths are not this machine's files, so they are left to the run.

This is the one check of a job that reads the disk; `core/load.py` reads the files themselves.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path

from headwater.core.bundle_sync import BundleSync
from headwater.core.checks import PathPart, local_code_paths, parse_path
from headwater.core.load_salvage import salvage
from headwater.core.spec import JobSettings
from headwater.runtime.written_paths import NOTEBOOK_SUFFIXES, candidates, first_found

__all__ = ["missing_code"]


def missing_code(job: JobSettings | object, start: Path, sync: BundleSync | None = None,
                 ) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """Each code path of `job` that names no file (a dbt project: no folder), with what to do.

    Args:
        job: the job's settings, or its data when they do not validate (what of it does is
            checked, so that one report names every problem).
        start: the folder relative paths start from (a plain job file's folder).
        sync: a bundle's sync, whose deployed copy (on a server) the paths may name: the
            files looked for are this machine's, which the deploy copies.
    """
    checked = _checkable(job)
    if checked is None:
        return
    settings, original = checked
    for path, written in local_code_paths(settings):
        loc = original(path)
        if loc is None:  # the value itself is invalid, and reported so
            continue
        folder = path.endswith("project_directory")
        tried = candidates(_on_this_machine(written, sync), start,
                           NOTEBOOK_SUFFIXES if path.endswith("notebook_path") else ())
        if first_found(tried, folder) is None:
            others = " (nor with .py, .sql or .ipynb)" if len(tried) > 1 else ""
            yield loc, (f"no such {'folder' if folder else 'file'}: {tried[0]}{others}; put "
                        "it there or correct the path")


def _checkable(job: JobSettings | object
               ) -> tuple[JobSettings, Callable[[str], tuple[PathPart, ...] | None]] | None:
    """Settings to take the code paths from, and how a path of theirs maps back to the job."""
    if isinstance(job, JobSettings):
        return job, parse_path
    salvaged = salvage(job)
    return (salvaged.settings, salvaged.original) if salvaged is not None else None


def _on_this_machine(written: str, sync: BundleSync | None) -> str:
    """The file on this machine that a path of a bundle deployed to a server names there."""
    if sync is None or sync.deployed is None:
        return written
    copy = sync.deployed.file_dir
    if not written.startswith(copy.rstrip("/") + "/"):
        return written
    return posixpath.join(sync.root, posixpath.relpath(written, copy))
