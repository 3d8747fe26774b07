"""Where a path written in a job's settings points: resolved against the job's directory.

A relative path must stay inside the directory (`../` that leaves it is refused), an absolute
path is taken as written. The check is on the path as written, not through symbolic links: the
job author owns the directory and may link into it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from headwater.errors import InvalidRequest

__all__ = ["resolve_in_workdir"]


def resolve_in_workdir(written: str, workdir: Path, task_key: str, field: str,
                       suffixes: Sequence[str] = (), directory: bool = False) -> Path:
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

    Raises:
        InvalidRequest: when a relative path leaves `workdir`, or no such file or folder
            exists.
    """
    base = Path(os.path.abspath(workdir))
    path = Path(os.path.normpath(base / written))  # lexical: `a/../b` -> `b`
    if not Path(written).is_absolute() and not path.is_relative_to(base):
        raise InvalidRequest(
            f"task {task_key!r}: {field} {written!r} leaves the job directory "
            f"{os.fspath(base)!r}; use a path inside it or an absolute path"
        )
    candidates = [path, *(path.with_name(path.name + suffix) for suffix in suffixes)]
    for candidate in candidates:
        if candidate.is_dir() if directory else candidate.is_file():
            return candidate
    looked = " or ".join(repr(os.fspath(c)) for c in candidates)
    raise InvalidRequest(f"task {task_key!r}: {field} {written!r} not found (looked for {looked})")
