"""The names a Databricks notebook finds in its globals, and `databricks.sdk.runtime` exports,
that headwater has: `dbutils`, `getArgument` (the legacy way to read a widget), `display` and
`displayHTML` (a print: a task's output is its log), and a `spark` that says, when used, that
headwater runs without Spark.

One set for every place that gives them: a source-format notebook's namespace
(`entrypoints.notebook`), an `.ipynb` notebook's kernel (`entrypoints.ipynb_cells`, which keeps
IPython's own `display`), the `databricks.sdk.runtime` module of a task's Python (which the
task's `sitecustomize` finds, see `fill_sdk_runtime`), and the `dbruntime` shim that the
databricks-sdk asks for them on a cluster.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from headwater.runtime.dbutils import dbutils
from headwater.runtime.shims.sitecustomize import WITHOUT_SPARK

__all__ = ["NoSpark", "display", "fill_sdk_runtime", "notebook_globals"]


class NoSpark:
    """Stands for `spark`, which headwater does not have, and says so when used."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"spark.{name}: {WITHOUT_SPARK}")


def display(value: object = None, *args: object, **kwargs: object) -> None:
    """Databricks' `display`, as a print (a `%sql` result as a small text table)."""
    print(value)


def notebook_globals() -> dict[str, Any]:
    """`dbutils`, `getArgument`, `display`, `displayHTML` and `spark`, as a notebook has them."""
    return {"dbutils": dbutils, "getArgument": dbutils.widgets.getArgument,
            "display": display, "displayHTML": display, "spark": NoSpark()}


def fill_sdk_runtime(module: ModuleType) -> None:
    """Make `module` headwater's `databricks.sdk.runtime`: `notebook_globals`, all of them
    under `import *`.

    Also the SDK's four runtime-authentication hooks, saying "not on a cluster" (None, or
    `(None, None)`): the SDK imports them from this module when `DATABRICKS_RUNTIME_VERSION` is
    set, which code that tests for Databricks may set, and then goes on to its other ways of
    authenticating, as off a cluster.
    """
    names = notebook_globals()
    vars(module).update(names, __all__=sorted(names), init_runtime_native_unified=None,
                        init_runtime_native_auth=None, init_runtime_repl_auth=_not_on_a_cluster,
                        init_runtime_legacy_auth=_not_on_a_cluster)


def _not_on_a_cluster() -> tuple[None, None]:
    """The SDK's REPL and legacy authentication hooks: no host and no token here."""
    return None, None
