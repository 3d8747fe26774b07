"""Stands for the Databricks runtime's `dbruntime` module in a task's process.

Code written for Databricks often starts with `from databricks.sdk.runtime import dbutils`. On a
cluster, `databricks.sdk.runtime` takes the notebook's globals from
`dbruntime.UserNamespaceInitializer.getOrCreate().get_namespace_globals()`; elsewhere it builds a
remote `dbutils` that needs a workspace. headwater's runners put this module on the task's
`PYTHONPATH`, so that the SDK finds headwater's `dbutils` (widgets, task values, notebook exit),
`getArgument` and a `display` that prints, and the code runs unchanged. Nothing else of the
runtime is here: the SDK's other probes (`dbruntime.sdk_credential_provider`, ...) fail to
import, as it expects off a cluster.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["UserNamespaceInitializer"]


def display(value: object) -> None:
    """Databricks' `display`, as a print."""
    print(value)


class UserNamespaceInitializer:
    """The one object the SDK asks for the notebook's globals."""

    _instance: ClassVar[UserNamespaceInitializer | None] = None

    @classmethod
    def getOrCreate(cls) -> UserNamespaceInitializer:  # the SDK calls it by this name
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def get_namespace_globals(self) -> dict[str, Any]:
        from headwater.runtime import dbutils  # the task's own, read when the SDK asks

        return {"dbutils": dbutils, "display": display, "displayHTML": display,
                "getArgument": dbutils.widgets.getArgument}
