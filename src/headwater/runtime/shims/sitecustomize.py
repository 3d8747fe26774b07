"""Gives a task's Python processes the `dbutils` that Databricks' Python tasks find without
an import.

On Databricks, a Python file (`spark_python_task`, a pipeline's source) uses `dbutils` as a
notebook does, without importing it; Databricks' own bundle example `job_read_secret` reads
its secret so. Python imports `sitecustomize` from `sys.path` as it starts, and headwater's
runners put this folder first on a task's `PYTHONPATH`, so this module makes `dbutils` a
builtin there: found by the script, and by the modules it imports (which on Databricks would
need the import, a difference that only lets more code run). It stands for headwater's
`dbutils` until first used, so a task that never uses it pays nothing for it; a fork server
starts with it too, so a forked task has it as a spawned one does.

A `sitecustomize` this one hides (the distribution's, a virtual environment's) still runs,
after it, as Python would have run it. Standard library only.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import os
import sys

# Nothing else at the top: this runs in every Python process of a task, before its code (no
# `typing`, `re` or `importlib.util`, which would cost more than the interpreter's start).


class _Dbutils:
    """Stands for `headwater.runtime.dbutils` until an attribute is asked for."""

    def __getattr__(self, name: str) -> object:
        from headwater.runtime import dbutils

        setattr(builtins, "dbutils", dbutils)  # noqa: B010 - later uses go straight to it
        return getattr(dbutils, name)

    def __repr__(self) -> str:
        from headwater.runtime import dbutils

        return repr(dbutils)


def _run_hidden_sitecustomize() -> None:
    """Run the next `sitecustomize` on `sys.path` after this folder, as `site` would."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    from importlib.util import module_from_spec

    try:
        spec.loader.exec_module(module_from_spec(spec))
    except Exception as error:  # as `site.execsitecustomize` reports it, and goes on
        sys.stderr.write(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
                         f"{type(error).__name__}: {error}\n")


if not hasattr(builtins, "dbutils"):
    setattr(builtins, "dbutils", _Dbutils())  # noqa: B010 - a name Python does not define
_run_hidden_sitecustomize()
