"""Where a path that a job's author wrote points. One rule for the engine, which resolves a
task's `notebook_path` or `python_file` (`headwater.runners.paths`), and for the task, which
resolves the notebook that `dbutils.notebook.run` names (`headwater.runtime.notebook_runs`).

The path is taken lexically (`a/../b` is `b`), from a folder unless it is absolute. A relative
path must stay inside the job's directory; the check is on the path as written, not through
symbolic links: the job author owns the directory and may link into it. As in a Databricks
workspace, a notebook's path may leave out its suffix: `etl/ingest` finds `etl/ingest.py`,
else `etl/ingest.sql`, else `etl/ingest.ipynb`.

Standard library only: the task side imports it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["NOTEBOOK_SUFFIXES", "candidates", "leaves"]

NOTEBOOK_SUFFIXES = (".py", ".sql", ".ipynb")  # tried in this order after the path as written


def candidates(written: str, start: Path, suffixes: Sequence[str] = ()) -> list[Path]:
    """The absolute paths `written` may name from the folder `start`, in the order to try
    them: as written, then with each of `suffixes` added."""
    path = Path(os.path.normpath(Path(os.path.abspath(start)) / written))
    return [path, *(path.with_name(path.name + suffix) for suffix in suffixes)]


def leaves(written: str, path: Path, directory: Path) -> bool:
    """Whether `path`, what the relative `written` names, is outside `directory` (an absolute
    `written` is taken as written: never refused)."""
    return not Path(written).is_absolute() and not path.is_relative_to(os.path.abspath(directory))
