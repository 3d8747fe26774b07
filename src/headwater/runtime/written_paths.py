"""Where a path that a job's author wrote points. One rule for the engine, which resolves a
task's `notebook_path` or `python_file` (`headwater.runners.paths`), and for the task, which
resolves the notebook that `dbutils.notebook.run` names (`headwater.runtime.notebook_runs`).

The path is taken lexically (`a/../b` is `b`), from a folder unless it is absolute; a
`/Workspace/...` path names the file in the folder standing for the workspace, and so does
`/Users/...` or `/Shared/...` (Databricks' own form of a notebook's workspace path) when no
such file is on this machine. A relative
path must stay inside the job's directory; the check is on the path as written, not through
symbolic links: the job author owns the directory and may link into it. As in a Databricks
workspace, a notebook's path may leave out its suffix: `etl/ingest` finds `etl/ingest.py`,
else `etl/ingest.sql`, else `etl/ingest.ipynb`.

Standard library only: the task side imports it.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["NOTEBOOK_SUFFIXES", "WORKSPACE_VARIABLE", "candidates", "first_found",
           "in_workspace_folder", "leaves", "names_workspace", "workspace_file"]

NOTEBOOK_SUFFIXES = (".py", ".sql", ".ipynb")  # tried in this order after the path as written
# The folder standing for `/Workspace` (`.headwater/workspace`), in every attempt's environment.
WORKSPACE_VARIABLE = "HEADWATER_WORKSPACE_DIR"
_WORKSPACE = "/Workspace/"
_WORKSPACE_TOPS = ("/Users/", "/Shared/")  # the workspace's folders, as notebook paths name them


def candidates(written: str, start: Path, suffixes: Sequence[str] = (),
               workspace_dir: str | None = None) -> list[Path]:
    """The absolute paths `written` may name from the folder `start`, in the order to try
    them: as written, then with each of `suffixes` added. With `workspace_dir` (the folder
    standing for `/Workspace`), a `/Workspace/...` path is in it, and `/Users/...` or
    `/Shared/...` (a workspace path as Databricks writes a notebook's) is tried as written
    first (a macOS home folder), then in it."""
    forms = [written]
    if workspace_dir:
        placed = workspace_file(written, workspace_dir)
        if placed != written:
            forms = [placed]
        elif written.startswith(_WORKSPACE_TOPS):
            forms.append(workspace_file(_WORKSPACE + written[1:], workspace_dir))
    found: list[Path] = []
    for form in forms:
        path = Path(os.path.normpath(Path(os.path.abspath(start)) / form))
        found += [path, *(path.with_name(path.name + suffix) for suffix in suffixes)]
    return found


def first_found(tried: Sequence[Path], folder: bool = False) -> Path | None:
    """The first of `tried` (from `candidates`) that is a file (with `folder`, a folder)."""
    return next((path for path in tried if (path.is_dir() if folder else path.is_file())), None)


def leaves(written: str, path: Path, directory: Path) -> bool:
    """Whether `path`, what the relative `written` names, is outside `directory` (an absolute
    `written` is taken as written: never refused)."""
    return not Path(written).is_absolute() and not path.is_relative_to(os.path.abspath(directory))


def names_workspace(written: str) -> bool:
    """Whether `written` is a workspace path: `/Workspace/...`, `/Users/...` or `/Shared/...`."""
    return written.startswith((_WORKSPACE, *_WORKSPACE_TOPS))


def workspace_file(written: str, workspace_dir: str) -> str:
    """Where `written` is on this machine: a `/Workspace/...` path in `workspace_dir` (the folder
    standing for `/Workspace`), any other path as written."""
    normal = posixpath.normpath(written) if written.startswith(_WORKSPACE) else ""
    if not normal.startswith(_WORKSPACE):
        return written  # not in the workspace, or `..` out of it: an absolute path as written
    return posixpath.join(workspace_dir, normal[len(_WORKSPACE):])


def in_workspace_folder(environment: Mapping[str, object], workspace_dir: str
                        ) -> Mapping[str, object]:
    """An environment spec whose `/Workspace/...` dependencies (a wheel, `-r` a requirements
    file) name the files in `workspace_dir`."""
    listed = environment.get("dependencies")
    if not isinstance(listed, list):
        return environment
    placed: list[object] = []
    for line in listed:
        if isinstance(line, str):
            prefix = "-r " if line.startswith("-r ") else ""
            line = prefix + workspace_file(line.removeprefix(prefix).strip() if prefix else line,
                                           workspace_dir)
        placed.append(line)
    return {**environment, "dependencies": placed}
