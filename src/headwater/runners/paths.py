"""Where a path written in a job's settings points: resolved against the job's directory.

A relative path must stay inside the directory (`../` that leaves it is refused), an absolute
path is taken as written, and a `/Workspace/...` path names the file in the folder standing for
the workspace (a deployed bundle's copy, or what the Workspace API imported). The check is on
the path as written, not through symbolic links: the job author owns the directory and may
link into it. The rule is the task side's (`headwater.runtime.written_paths`), which
`dbutils.notebook.run` follows too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from headwater.errors import InvalidRequest
from headwater.runtime.written_paths import candidates, first_found, leaves, names_workspace

__all__ = ["resolve_in_workdir"]


def resolve_in_workdir(written: str, workdir: Path, task_key: str, field: str,
                       suffixes: Sequence[str] = (), directory: bool = False,
                       workspace: Path | None = None) -> Path:
    """The absolute path of an existing file (or, with `directory`, folder) named in a task's
    settings.

    Args:
        written: the path as the job author wrote it.
        workdir: the job's directory, where relative paths start.
        task_key: the task, for the error message.
        field: the setting's name (`python_file`, `notebook_path`), for the error message.
        suffixes: suffixes tried, in order, when `written` itself is not a file
            (a Databricks notebook path leaves out `.py`).
        directory: look for a folder (a dbt project) instead of a file.
        workspace: the folder standing for `/Workspace`, if there is one.

    Raises:
        InvalidRequest: when a relative path leaves `workdir`, or no such file or folder
            exists.
    """
    base = Path(os.path.abspath(workdir))
    tried = candidates(written, base, suffixes,
                       os.fspath(workspace) if workspace is not None else None)
    if leaves(written, tried[0], base):
        raise InvalidRequest(
            f"task {task_key!r}: {field} {written!r} leaves the job directory "
            f"{os.fspath(base)!r}; use a path inside it or an absolute path"
        )
    found = first_found(tried, directory)
    if found is not None:
        return found
    looked = " or ".join(repr(os.fspath(c)) for c in tried)
    hint = ("; put it there (on a server: `databricks workspace import`, the SDK's "
            "w.workspace.upload, or a bundle deploy), or write a path relative to the job "
            "file") if workspace is not None and names_workspace(written) else ""
    raise InvalidRequest(f"task {task_key!r}: {field} {written!r} not found (looked for "
                         f"{looked}){hint}")
