"""A `dbutils` compatible with the parts of Databricks' that a job's notebook uses:
`widgets`, `jobs.taskValues`, `notebook.exit` and `notebook.run` (another notebook in a child
process, `runtime/notebook_runs.py`), the notebook context (`notebook.entry_point.getDbutils()
.notebook().getContext()`, `runtime/notebook_context.py`), `secrets` (from this machine's
secret scopes, `runtime/secret_store.py`) and `fs` (DBFS and volumes as a folder,
`runtime/dbfs.py`).

A notebook starts with `from headwater.runtime import dbutils` and otherwise runs unchanged;
the notebook executor also injects `dbutils` into the notebook's globals, so a notebook copied
from a workspace runs without the import. Widget values are the task's parameters (a
notebook task's `base_parameters`, with the job parameters pushed down); a widget defined with
`text`/`dropdown`/... gives the default for a parameter the run does not set. A notebook that
`%run ./other $name=value` includes reads `value` as its widget `name` (`run_arguments`).

The only state is the widget defaults a notebook defines and the arguments of the `%run` under
way, kept on the `dbutils` instance.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from headwater.runtime import api, channel, notebook_runs, redaction
from headwater.runtime.dbfs import FsUtils
from headwater.runtime.notebook_context import CommandContext, EntryPoint, current_command_context
from headwater.runtime.secret_store import SecretStore

__all__ = ["DBUtils", "JobsUtils", "NotebookUtils", "SecretMetadata", "SecretScope",
           "SecretsUtils", "TaskValuesUtils", "WidgetNotDefined", "WidgetsUtils", "dbutils",
           "run_arguments"]


class WidgetNotDefined(KeyError):
    """Raised by `widgets.get` for a name that is neither a parameter nor a defined widget."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        names = ", ".join(sorted(known)) or "none"
        self.message = (f"no widget or parameter named {name!r} (known: {names}); pass it in "
                        f"the task's base_parameters or define it with "
                        f"dbutils.widgets.text({name!r}, '<default>')")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class WidgetsUtils:
    """`dbutils.widgets`: the run's parameters, with defaults the notebook defines."""

    def __init__(self) -> None:
        self._defaults: dict[str, str] = {}
        self._arguments: dict[str, str] = {}  # of the `%run` under way (`run_arguments`)

    def _values(self) -> dict[str, str]:
        return {**self._defaults, **api.Parameters(), **self._arguments}

    def get(self, name: str) -> str:
        """The parameter `name`, else the widget's default.

        Raises:
            WidgetNotDefined: naming the parameters and widgets that exist.
        """
        values = self._values()
        if name not in values:
            raise WidgetNotDefined(name, values)
        return values[name]

    def getArgument(self, name: str, optional: str | None = None) -> str | None:
        """Deprecated Databricks spelling of `get`, returning `optional` when undefined."""
        return self._values().get(name, optional)

    def getAll(self) -> dict[str, str]:
        """Every widget and parameter with its value."""
        return self._values()

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:
        """Define a text widget: `defaultValue` applies when the run does not set `name`."""
        self._defaults[name] = str(defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str],
                 label: str | None = None) -> None:
        """Define a dropdown widget; the default must be one of `choices`."""
        if defaultValue not in choices:
            raise ValueError(f"widget {name!r}: default {defaultValue!r} is not one of "
                             f"{choices!r}")
        self._defaults[name] = str(defaultValue)

    def combobox(self, name: str, defaultValue: str, choices: list[str],
                 label: str | None = None) -> None:
        """Define a combobox widget (any value allowed)."""
        self._defaults[name] = str(defaultValue)

    def multiselect(self, name: str, defaultValue: str, choices: list[str],
                    label: str | None = None) -> None:
        """Define a multiselect widget; its value is a comma-separated string."""
        self._defaults[name] = str(defaultValue)

    def remove(self, name: str) -> None:
        """Forget a widget's default."""
        self._defaults.pop(name, None)

    def removeAll(self) -> None:
        """Forget every widget default."""
        self._defaults.clear()


class TaskValuesUtils:
    """`dbutils.jobs.taskValues`."""

    def set(self, key: str, value: object) -> None:
        """Set a task value (JSON, at most 48 KiB); see `headwater.runtime.task_values`."""
        api.TaskValues().set(key, value)

    def get(self, taskKey: str, key: str, default: object = None,
            debugValue: object = None) -> object:
        """The value `key` set by task `taskKey` in this run.

        Outside a run, `debugValue`. Inside a run, the value, else `default`.

        Raises:
            TypeError: outside a run when `debugValue` is None (as Databricks does).
            ValueError: inside a run when `taskKey` is not upstream of this task, whatever
                `default` is, or when the value is missing and `default` is None (as
                Databricks does).
        """
        if channel.current_directory() is None:
            if debugValue is None:
                raise TypeError("dbutils.jobs.taskValues.get outside a job run returns "
                                "debugValue, which is None; pass debugValue=... to try the "
                                "notebook by hand")
            return debugValue
        values = api.upstream_values(taskKey)
        if key in values:
            return values[key]
        if default is not None:
            return default
        tasks = ", ".join(sorted(channel.current_context().task_values)) or "none"
        raise ValueError(f"task {taskKey!r} set no value {key!r} in this run (tasks that set "
                         f"values: {tasks}); check the task key and that it runs before "
                         "this one, or pass default=...")


class JobsUtils:
    """`dbutils.jobs`."""

    def __init__(self) -> None:
        self.taskValues = TaskValuesUtils()


class NotebookUtils:
    """`dbutils.notebook`; its `entry_point` leads to the notebook context only."""

    def __init__(self) -> None:
        self.entry_point = EntryPoint()

    def getContext(self) -> CommandContext:
        """The notebook context, as Scala's `dbutils.notebook.getContext` (and
        `entry_point.getDbutils().notebook().getContext()`) returns it."""
        return current_command_context()

    def exit(self, value: object) -> None:
        """End the notebook successfully with `value` as its output (first 5 MB of its str)."""
        api.Notebook().exit(value)

    def run(self, path: str, timeout_seconds: int,
            arguments: Mapping[str, str] | None = None) -> str:
        """Run the notebook at `path` as a run of its own, with `arguments` as its widgets, and
        wait for it (see `headwater.runtime.notebook_runs`).

        Args:
            path: relative to this notebook's folder, or absolute; `.py`, `.sql` or `.ipynb`
                may be left out.
            timeout_seconds: past it, the notebook and what it started are killed; 0: no limit.
            arguments: the widgets the notebook reads with `dbutils.widgets.get`.

        Returns:
            The value it passed to `dbutils.notebook.exit`, "" when it did not call it.

        Raises:
            NotebookRunFailed: when it failed (with its error), or `NotebookRunTimedOut`.
            FileNotFoundError: when there is no such notebook.
        """
        return notebook_runs.run_notebook(path, timeout_seconds, arguments)


@dataclass(frozen=True)
class SecretScope:
    """An entry of `dbutils.secrets.listScopes()`."""

    name: str


@dataclass(frozen=True)
class SecretMetadata:
    """An entry of `dbutils.secrets.list(scope)`."""

    key: str


class SecretsUtils:
    """`dbutils.secrets`: the secret scopes of the machine running the task (where the engine
    says, `HEADWATER_SECRETS_DIR`) that the run's user may read (`HEADWATER_READABLE_SCOPES`;
    `listScopes` lists only those). A missing scope or secret, or a scope the user may not
    read, raises `SecretError` (a `KeyError`) saying how to add it or whom to ask."""

    def get(self, scope: str, key: str) -> str:
        """The secret as text (UTF-8)."""
        return self.getBytes(scope, key).decode("utf-8")

    def getBytes(self, scope: str, key: str) -> bytes:
        """The secret's bytes; from now on the task's output shows `[REDACTED]` for them."""
        value = SecretStore.for_task().get(scope, key)
        redaction.remember(value)
        return value

    def list(self, scope: str) -> list[SecretMetadata]:
        return [SecretMetadata(key) for key in SecretStore.for_task().list_secrets(scope)]

    def listScopes(self) -> builtins.list[SecretScope]:  # `list` is the method above
        return [SecretScope(name) for name in SecretStore.for_task().list_scopes()]


class DBUtils:
    """The `dbutils` object: `widgets`, `jobs.taskValues`, `notebook`, `secrets`, `fs`."""

    def __init__(self) -> None:
        self.widgets = WidgetsUtils()
        self.jobs = JobsUtils()
        self.notebook = NotebookUtils()
        self.secrets = SecretsUtils()
        self.fs = FsUtils()

    def __repr__(self) -> str:
        return "<headwater dbutils: widgets, jobs.taskValues, notebook, secrets, fs>"


dbutils = DBUtils()


@contextlib.contextmanager
def run_arguments(arguments: Mapping[str, str]) -> Iterator[None]:
    """While it lasts, `arguments` are widget values, over the run's parameters and the
    widgets' defaults: the `$name=value` arguments of `%run`, which Databricks passes to the
    included notebook as its widgets. A `%run` inside it adds its own; the including
    notebook reads its own values again once the included one has run."""
    widgets = dbutils.widgets
    before = widgets._arguments
    widgets._arguments = {**before, **arguments}
    try:
        yield
    finally:
        widgets._arguments = before
