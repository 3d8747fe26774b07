"""The notebook context: `dbutils.notebook.entry_point.getDbutils().notebook().getContext()`,
which Databricks notebooks read to learn which job, run and task they are.

On Databricks the chain reaches through Py4J into the JVM and returns Scala values: `Option`s
(`.get()`, `.isDefined()`, `.getOrElse(x)`; `get` of an empty one raises), a `RunId` whose
`.id()` is the number, and a `Map` of string tags (`.get(key)` an `Option`, `.apply(key)` the
value). This module gives the same shapes, filled from what the engine tells the attempt
(`headwater.runtime.channel`) and, in a notebook, the notebook's path (the notebook entry point
sets `HEADWATER_NOTEBOOK_PATH`). Only what headwater knows is filled, in Databricks' places:

    currentRunId(), rootRunId()   RunId(<the task run id>): on Databricks, the task's own run
    tags: jobId, jobName, multitaskParentRunId (the job run id), idInJob (the task run id),
          taskKey, user; all strings
    jobId(), idInJob()            the tags' values
    userName()                    who the run runs as (its run_as, else the job's creator)
    notebookPath()                the notebook's file, its suffix left out as in a workspace
    toJson(), safeToJson()        those values as Databricks' JSON documents

Everything else is empty, and outside a run (no `HEADWATER_ATTEMPT_DIR`) every id is, as in a
notebook run by hand. Nothing is kept: each `getContext()` reads the (cached) context anew.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from headwater.runtime import channel

__all__ = ["NOTEBOOK_PATH_VARIABLE", "CommandContext", "EntryPoint", "NoSuchElementException",
           "Option", "RunId", "ScalaMap", "current_command_context"]

NOTEBOOK_PATH_VARIABLE = "HEADWATER_NOTEBOOK_PATH"  # set by headwater.entrypoints.notebook
_OUTSIDE_A_RUN = "outside a headwater run (no HEADWATER_ATTEMPT_DIR) there are no run ids"
_NO_NOTEBOOK = "this process is not a notebook (a Python file task has no notebook path)"

T = TypeVar("T")
D = TypeVar("D")


class NoSuchElementException(LookupError):  # Scala's name for what `None.get` throws
    """Raised by `Option.get` on an empty option and by `ScalaMap.apply` for a missing key."""


@dataclass(frozen=True, slots=True)
class Option(Generic[T]):
    """A Scala `Option`: `value`, or nothing (`None`) and why (`missing`)."""

    value: T | None
    missing: str = ""

    def get(self) -> T:
        """The value.

        Raises:
            NoSuchElementException: when there is none, saying why.
        """
        if self.value is None:
            raise NoSuchElementException(f"None.get: {self.missing}")
        return self.value

    def isDefined(self) -> bool:
        return self.value is not None

    def isEmpty(self) -> bool:
        return self.value is None

    def getOrElse(self, default: D) -> T | D:
        return default if self.value is None else self.value

    def toString(self) -> str:
        """`Some(<value>)` or `None`, as Scala prints it."""
        return "None" if self.value is None else f"Some({self.value})"

    def __str__(self) -> str:  # Py4J's `str` of a Java object is its `toString()`
        return self.toString()


@dataclass(frozen=True, slots=True)
class RunId:
    """Databricks' `RunId`: the run's number is `id()`; it prints as `RunId(<number>)`."""

    number: int

    def id(self) -> int:
        return self.number

    def toString(self) -> str:
        return f"RunId({self.number})"

    def __str__(self) -> str:
        return self.toString()


class ScalaMap:
    """A Scala `Map[String, String]` (the context's `tags()` and `extraContext()`)."""

    def __init__(self, entries: Mapping[str, str], name: str) -> None:
        self._entries, self._name = dict(entries), name

    def get(self, key: str) -> Option[str]:
        """The value of `key` as an option (empty when there is none)."""
        return Option(self._entries.get(key), f"{self._name} has no {key!r} (it has: "
                                              f"{self._known()})")

    def apply(self, key: str) -> str:
        """The value of `key`, as Scala's `tags("jobId")`.

        Raises:
            NoSuchElementException: when there is none, naming the keys there are.
        """
        if key not in self._entries:
            raise NoSuchElementException(f"key not found: {key} ({self._name} has: "
                                         f"{self._known()})")
        return self._entries[key]

    def contains(self, key: str) -> bool:
        return key in self._entries

    def getOrElse(self, key: str, default: D) -> str | D:
        return self._entries.get(key, default)

    def _known(self) -> str:
        return ", ".join(sorted(self._entries)) or "nothing"

    def toString(self) -> str:
        return "Map(" + ", ".join(f"{k} -> {v}" for k, v in self._entries.items()) + ")"

    def __str__(self) -> str:
        return self.toString()


class CommandContext:
    """What `getContext()` returns (Databricks' `CommandContext`), for one attempt.

    Args:
        context: the attempt's context, as the engine wrote it.
        notebook_path: the running notebook's file; None outside a notebook.
    """

    def __init__(self, context: channel.Context, notebook_path: str | None) -> None:
        self._context, self._notebook_path = context, notebook_path

    def currentRunId(self) -> Option[RunId]:
        """The task run's id (on Databricks a notebook task is a run of its own)."""
        task_run_id = self._context.task_run_id
        return Option(None if task_run_id is None else RunId(task_run_id), _OUTSIDE_A_RUN)

    def rootRunId(self) -> Option[RunId]:
        """The same run: headwater starts no run inside a task (a `dbutils.notebook.run`
        child is part of its caller's task run)."""
        return self.currentRunId()

    def jobId(self) -> Option[str]:
        return self.tags().get("jobId")

    def idInJob(self) -> Option[str]:
        """The task run's id, as a string (the tag `idInJob`)."""
        return self.tags().get("idInJob")

    def notebookPath(self) -> Option[str]:
        """The notebook's file, without its suffix (a workspace notebook's path has none)."""
        path = self._notebook_path
        return Option(os.path.splitext(path)[0] if path else None, _NO_NOTEBOOK)

    def userName(self) -> Option[str]:
        """Who the run runs as (the tag `user`): its `run_as`, else the job's creator."""
        return self.tags().get("user")

    def tags(self) -> ScalaMap:
        return ScalaMap(self._tags(), "the notebook context's tags")

    def extraContext(self) -> ScalaMap:
        return ScalaMap(self._extra(), "the notebook context's extraContext")

    def _tags(self) -> dict[str, str]:
        context = self._context
        if context.task_run_id is None:
            return {}
        tags = {"jobId": context.job_id, "jobName": context.job_name,
                "multitaskParentRunId": context.run_id, "idInJob": context.task_run_id,
                "taskKey": context.task_key, "user": context.user}
        return {name: str(value) for name, value in tags.items() if value not in (None, "")}

    def _extra(self) -> dict[str, str]:
        path = self.notebookPath().getOrElse(None)
        return {"notebook_path": path} if path else {}

    def toJson(self) -> str:
        """The context as Databricks' `toJson()` writes it (the parts headwater fills)."""
        run_id = self.currentRunId().getOrElse(None)
        run = None if run_id is None else {"id": run_id.id()}
        return json.dumps({"rootRunId": run, "currentRunId": run, "tags": self._tags(),
                           "extraContext": self._extra()})

    def safeToJson(self) -> str:
        """The context as Databricks' `safeToJson()` writes it: one flat `attributes` map."""
        run_id = self.currentRunId().getOrElse(None)
        runs = {} if run_id is None else {"currentRunId": str(run_id.id()),
                                          "rootRunId": str(run_id.id())}
        return json.dumps({"attributes": {**self._tags(), **self._extra(), **runs}})

    def __getattr__(self, name: str) -> object:  # apiUrl, clusterId, ...: say what there is
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"getContext().{name}(): headwater's notebook context has "
                             "currentRunId, rootRunId, jobId, idInJob, notebookPath, userName, "
                             "tags, extraContext, toJson and safeToJson only")


def current_command_context(environ: Mapping[str, str] | None = None) -> CommandContext:
    """The context of the running attempt and notebook (`environ`: `os.environ` by default)."""
    environ = os.environ if environ is None else environ
    return CommandContext(channel.current_context(), environ.get(NOTEBOOK_PATH_VARIABLE) or None)


class _NotebookHandle:
    """What `getDbutils().notebook()` returns: the way to the context."""

    def getContext(self) -> CommandContext:
        return current_command_context()


class _DbutilsHandle:
    """What `entry_point.getDbutils()` returns (on Databricks, the JVM's `dbutils`)."""

    def notebook(self) -> _NotebookHandle:
        return _NotebookHandle()


class EntryPoint:
    """`dbutils.notebook.entry_point`: on Databricks the Py4J gateway into the JVM; here only
    the way to the notebook context, `getDbutils().notebook().getContext()`."""

    def getDbutils(self) -> _DbutilsHandle:
        return _DbutilsHandle()

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"dbutils.notebook.entry_point.{name}: headwater has no JVM; its "
                             "entry point has getDbutils().notebook().getContext() only")
