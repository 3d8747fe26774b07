"""Stands for the Databricks runtime's `dbruntime` module in a task's process.

The databricks-sdk tells a cluster by this module: `WorkspaceClient().dbutils` is
`databricks.sdk.runtime.dbutils` where `dbruntime` imports (else a remote `dbutils` that needs
a workspace), and the SDK's own `databricks.sdk.runtime` takes the notebook's globals from
`dbruntime.UserNamespaceInitializer.getOrCreate().get_namespace_globals()`. headwater's runners
put this module on the task's `PYTHONPATH`, so that `w.dbutils` is headwater's `dbutils`
(widgets, task values, secrets, ...). `databricks.sdk.runtime` itself is headwater's (see
`sitecustomize.SdkRuntime`); should the SDK's own be imported (a Python started without
`site`), it finds the same globals here (`headwater.runtime.databricks_globals`). Nothing else
of the runtime is here: the SDK's other probes (`dbruntime.sdk_credential_provider`, ...) fail
to import, as it expects off a cluster.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["UserNamespaceInitializer"]


class UserNamespaceInitializer:
    """The one object the SDK asks for the notebook's globals."""

    _instance: ClassVar[UserNamespaceInitializer | None] = None

    @classmethod
    def getOrCreate(cls) -> UserNamespaceInitializer:  # the SDK calls it by this name
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def get_namespace_globals(self) -> dict[str, Any]:
        from headwater.runtime.databricks_globals import notebook_globals  # when the SDK asks

        return notebook_globals()
