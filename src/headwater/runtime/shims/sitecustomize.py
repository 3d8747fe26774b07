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

It also puts `MissingPyspark` last on `sys.meta_path`: a notebook or file written for
Databricks often starts with `from pyspark.sql import functions as F`, and where pyspark is not
installed the import fails saying why (headwater runs without Spark) and what to use instead,
as the notebooks' `spark` does, rather than with a bare "No module named 'pyspark'". Being
last, it is asked only about a module that no other finder found, so it costs nothing to the
imports that succeed, and an installed pyspark imports as ever.

It also puts `SdkRuntime` first on `sys.meta_path`, so that `from databricks.sdk.runtime import
dbutils` (and `import *`), the first line of many Python files written for Databricks, gives
headwater's `dbutils`, whether or not the task's environment has the databricks-sdk; the SDK
itself, where installed, is untouched (see `SdkRuntime` and `SdkParents`). The finders only
answer names; each module is made at its import, in the task's process.

A `sitecustomize` this one hides (the distribution's, a virtual environment's) still runs,
after it, as Python would have run it. Standard library only; the notebook entry points import
this module as `headwater.runtime.shims.sitecustomize` for `install` and `WITHOUT_SPARK`, and
only the start-up's import (as `sitecustomize`) acts.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import os
import sys

# Nothing else at the top: this runs in every Python process of a task, before its code (no
# `typing`, `re` or `importlib.util`, which would cost more than the interpreter's start).

# What a notebook's `spark` says when used (`headwater.runtime.databricks_globals.NoSpark`),
# and an import of pyspark where there is none.
WITHOUT_SPARK = ("headwater runs notebooks without Spark; use a %sql cell (DuckDB by default) "
                 "or a Python library instead")


class _Dbutils:
    """Stands for `headwater.runtime.dbutils` until an attribute is asked for."""

    def __getattr__(self, name: str) -> object:
        from headwater.runtime import dbutils

        setattr(builtins, "dbutils", dbutils)  # noqa: B010 - later uses go straight to it
        return getattr(dbutils, name)

    def __repr__(self) -> str:
        from headwater.runtime import dbutils

        return repr(dbutils)


class MissingPyspark:
    """The last finder on `sys.meta_path`: turns the failed import of pyspark into an error
    that says why it is missing and what to use instead.

    It answers only an import (`import`, `importlib.import_module`), never a probe
    (`importlib.util.find_spec`), which must go on getting None for a missing module: libraries
    probe so for their optional dependencies. A finder put after it is asked first, so a
    pyspark that one can find is found.
    """

    explains = "pyspark"  # the marker `install` looks for: one such finder is enough

    def find_spec(self, name: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != self.explains or not _importing():
            return None
        spec = _later_spec(self, name, path, target)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}: {WITHOUT_SPARK}", name=name)
        return spec


SDK_RUNTIME = "databricks.sdk.runtime"


class SdkRuntime:
    """The first finder on `sys.meta_path`: `databricks.sdk.runtime` is headwater's, holding
    its `dbutils` (`headwater.runtime.databricks_globals`).

    Code written for Databricks starts with `from databricks.sdk.runtime import dbutils` (or
    `import *`), which on a cluster gives the notebook's globals. Being first, this finder
    answers that one name whether the databricks-sdk is installed or not. Its parents are
    imported as usual: the real `databricks.sdk` where the task's environment has it, so that
    the rest of the SDK works as ever (and its `runtime` folder stays this package's path: the
    SDK's `databricks.sdk.runtime.dbutils_stub` imports), else the empty packages of
    `SdkParents`. The module is made at its first import, in the task's own process; a fork
    server holds only the finders, so that each forked task makes its own.
    """

    explains = SDK_RUNTIME

    def find_spec(self, name: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != SDK_RUNTIME:
            return None
        real = importlib.machinery.PathFinder.find_spec(name, path)  # type: ignore[arg-type]
        spec = importlib.machinery.ModuleSpec(name, self,  # type: ignore[arg-type]
                                              is_package=True)
        spec.submodule_search_locations = list(real.submodule_search_locations or []) \
            if real is not None else []
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module

    def exec_module(self, module: object) -> None:
        from headwater.runtime.databricks_globals import fill_sdk_runtime  # only now: it costs

        fill_sdk_runtime(module)  # type: ignore[arg-type]


class SdkParents:
    """A finder at the end of `sys.meta_path` (before `MissingPyspark`): where the task's
    environment has no `databricks` (or no `databricks.sdk`), an empty package in its place, on
    the way to `databricks.sdk.runtime` only, so that code that tries `import databricks.sdk`
    to learn whether the SDK is installed still learns that it is not. (Hence, without the SDK,
    `from databricks.sdk import runtime`, which loads the parent first, fails.)"""

    explains = "databricks.sdk"

    def find_spec(self, name: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name not in ("databricks", "databricks.sdk") or not _importing(SDK_RUNTIME):
            return None
        spec = _later_spec(self, name, path, target)
        if spec is None:
            spec = importlib.machinery.ModuleSpec(name, self,  # type: ignore[arg-type]
                                                  is_package=True)
            spec.submodule_search_locations = []
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module

    def exec_module(self, module: object) -> None:
        module.__doc__ = ("Stands for the databricks-sdk, which this task's environment does "
                          "not have: only databricks.sdk.runtime, headwater's, is here.")


def install() -> None:
    """Put the finders on `sys.meta_path` (`SdkRuntime` first, `SdkParents` and
    `MissingPyspark` last), each unless one is there already: from this module's start-up
    import, or an entry point's import of it, which are two modules."""
    present = {getattr(finder, "explains", None) for finder in sys.meta_path}
    if SdkRuntime.explains not in present:
        sys.meta_path.insert(0, SdkRuntime())
    for finder in (SdkParents, MissingPyspark):
        if finder.explains not in present:
            sys.meta_path.append(finder())


def _later_spec(finder: object, name: str, path: object,
                target: object) -> importlib.machinery.ModuleSpec | None:
    """What the finders after `finder` on `sys.meta_path` find for `name`: one put there
    after it (an editable install's) is asked first."""
    later = sys.meta_path[sys.meta_path.index(finder) + 1:] if finder in sys.meta_path else []
    for other in later:
        find_spec = getattr(other, "find_spec", None)  # a legacy finder may have none
        spec = find_spec(name, path, target) if find_spec else None
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


def _importing(module: str | None = None) -> bool:
    """Whether the finder was asked by the import system's loading of a module, rather than
    by `importlib.util.find_spec`: the frames between are the import system's own (CPython's
    frozen `importlib._bootstrap`), and its loading is `_find_and_load_unlocked`. Given
    `module`: the loading of that module or of one inside it (a parent is loaded within the
    loading of its child)."""
    frame = sys._getframe(2)  # 0: here, 1: `find_spec`, 2: the import system's `_find_spec`
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        if frame.f_code.co_name == "_find_and_load_unlocked":
            loading = frame.f_locals.get("name", "")
            if module is None or loading == module or loading.startswith(module + "."):
                return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


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


if __name__ == "sitecustomize":  # the start-up's import, not an entry point's
    if not hasattr(builtins, "dbutils"):
        setattr(builtins, "dbutils", _Dbutils())  # noqa: B010 - a name Python does not define
    install()
    _run_hidden_sitecustomize()
