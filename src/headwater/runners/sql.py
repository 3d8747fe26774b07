"""`SqlRunner`: runs a `sql_task` in a child process (`headwater.entrypoints.sql`).

The SQL comes from `query.query_text` (a headwater extension; passed as one argv element, so
at most 128 KiB) or from `file.path` (resolved in the job's directory like a script).
`parameters` are bound to `:name` markers by the driver, never spliced into the text.
`query.query_id` (a saved query of a Databricks workspace) is refused.

Warehouses (`Warehouses`): `warehouse_id` names one of the warehouses of headwater.yml (a
DuckDB file or a SQLAlchemy URL); without one, or with an id headwater does not know (a job
copied from a workspace), the task runs on the embedded DuckDB file
`<HEADWATER_HOME or job directory/.headwater>/warehouse.duckdb`. The log says which warehouse
ran the SQL. The writes to a warehouse other than a DuckDB file (whose log is beside it) are
logged in `<home>/warehouses/<id>.commits.jsonl` (`HEADWATER_WAREHOUSE_COMMITS`), for
table-update triggers (`commit_logs`: every log the engine watches).
The URL reaches the child as `HEADWATER_WAREHOUSE_URL` and its password apart, as
`HEADWATER_WAREHOUSE_PASSWORD` (a value read from the engine's environment now, or a secret
reference resolved where the attempt starts), never in argv, which any user of the machine
may read.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from headwater.core.spec import Task
from headwater.entrypoints.sql import (  # the child's names for them: one definition
    COMMITS_SUFFIX,
    COMMITS_VARIABLE,
    DUCKDB_PREFIX,
    NOTICE_VARIABLE,
    PASSWORD_VARIABLE,
    URL_VARIABLE,
    commit_log,
)
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment
from headwater.runners.environments import Environments, PythonRunner
from headwater.runners.paths import resolve_in_workdir

__all__ = ["COMMITS_VARIABLE", "NOTICE_VARIABLE", "PASSWORD_VARIABLE", "URL_VARIABLE",
           "SqlRunner", "Warehouse", "Warehouses"]



@dataclass(frozen=True, slots=True)
class Warehouse:
    """One configured warehouse: its URL (without a password) and where its password is."""

    url: str
    password_env: str | None = None  # a variable of the engine's environment
    password_secret: str | None = None  # `scope/key` of headwater's secret scopes


@dataclass(frozen=True, slots=True)
class Warehouses:
    """The SQL warehouses a task may name, and the embedded default."""

    home: Path | None = None  # HEADWATER_HOME; None: `<job directory>/.headwater`
    by_id: Mapping[str, Warehouse] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)  # where password_env is read

    def default_url(self, workdir: Path) -> str:
        """`duckdb:///<home>/warehouse.duckdb`, with an absolute path."""
        return f"duckdb:///{os.path.abspath(self._home(workdir) / 'warehouse.duckdb')}"

    def url_of(self, warehouse_id: str | None, workdir: Path) -> str:
        """The URL a task naming `warehouse_id` (None: none) connects to, never with its
        password."""
        if warehouse_id and warehouse_id in self.by_id:
            return self.by_id[warehouse_id].url
        return self.default_url(workdir)

    def _home(self, workdir: Path) -> Path:
        return self.home if self.home is not None else workdir / ".headwater"

    def commit_log(self, warehouse_id: str, workdir: Path) -> Path:
        """Where the writes to a configured warehouse are logged: beside a DuckDB file, else
        in the home's `warehouses/` folder."""
        beside = commit_log(self.by_id[warehouse_id].url, {})
        return beside or Path(os.path.abspath(self._home(workdir) / "warehouses" /
                                              (warehouse_id + COMMITS_SUFFIX)))

    def commit_logs(self, workdir: Path) -> tuple[Path, ...]:
        """Every commit log a table-update trigger reads: the embedded warehouse's and each
        configured one's."""
        embedded = self.default_url(workdir)[len(DUCKDB_PREFIX):] + COMMITS_SUFFIX
        return (Path(embedded), *(self.commit_log(w, workdir) for w in self.by_id))

    def environment(self, warehouse_id: str | None, workdir: Path) -> dict[str, str]:
        """The variables that tell a child which warehouse to use, and the line its log
        starts with to say which it is (and why, on a fallback).

        Raises:
            InvalidRequest: when the warehouse's password variable is not set.
        """
        if warehouse_id and warehouse_id in self.by_id:
            return self._configured(warehouse_id, self.by_id[warehouse_id], workdir)
        url = self.default_url(workdir)
        if not warehouse_id:
            return {URL_VARIABLE: url}
        return {URL_VARIABLE: url,
                NOTICE_VARIABLE: f"warehouse_id {warehouse_id!r} is not configured in headwater;"
                                 f" running on the embedded warehouse {url}"}

    def _configured(self, warehouse_id: str, warehouse: Warehouse,
                    workdir: Path) -> dict[str, str]:
        env = {URL_VARIABLE: warehouse.url,
               NOTICE_VARIABLE: f"warehouse_id {warehouse_id!r}: {warehouse.url}",
               COMMITS_VARIABLE: os.fspath(self.commit_log(warehouse_id, workdir))}
        if warehouse.password_secret is not None:
            env[PASSWORD_VARIABLE] = "{{secrets/" + warehouse.password_secret + "}}"
        elif warehouse.password_env is not None:
            if warehouse.password_env not in self.environ:
                raise InvalidRequest(
                    f"warehouse {warehouse_id!r}: its password_env {warehouse.password_env} is "
                    "not set in the engine's environment; set it where the engine starts, or "
                    "use password_secret")
            env[PASSWORD_VARIABLE] = self.environ[warehouse.password_env]
        return env


class WarehouseRunner(PythonRunner):
    """A runner whose child runs SQL (a SQL task, a notebook's `%sql` cells).

    Args:
        warehouses: where the SQL runs.
        python: the interpreter of the child; the engine's own by default.
        environments: where a task's environment (`environment_key`) is built; it must then
            list the warehouse's driver (`duckdb` for the embedded one).
    """

    def __init__(self, warehouses: Warehouses | None = None, python: str = sys.executable,
                 environments: Environments | None = None) -> None:
        super().__init__(python, environments)
        self._warehouses = warehouses or Warehouses()


class SqlRunner(WarehouseRunner):
    """Builds the launch of a `sql_task`; implements `headwater.ports.Runner`."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`python -m headwater.entrypoints.sql PARAMETERS (--file F | --query Q)`.

        Raises:
            InvalidRequest: when the task is not a SQL task, names a saved query, has no SQL,
                or its file is missing or outside the job directory.
        """
        settings = task.sql_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no sql_task")
        if settings.file is not None:
            path = resolve_in_workdir(settings.file.path, context.code_root, task.task_key,
                                      "file.path", workspace=context.workspace_dir)
            source = ["--file", os.fspath(path)]
        elif settings.query is not None and settings.query.query_text is not None:
            source = ["--query", settings.query.query_text]
        elif settings.query is not None and settings.query.query_id is not None:
            raise InvalidRequest(f"task {task.task_key!r}: query_id names a saved query of a "
                                 "Databricks workspace; give the SQL as query.query_text or "
                                 "file.path")
        else:
            raise InvalidRequest(f"task {task.task_key!r}: sql_task needs query.query_text "
                                 "or file.path")
        env = attempt_environment(context)
        env.update(self._warehouses.environment(settings.warehouse_id, context.workdir))
        argv = [self._python, "-m", "headwater.entrypoints.sql",
                json.dumps(dict(settings.parameters)), *source]
        return LaunchSpec(
            argv=self._environments.wrap(argv, task, context),
            env=env,
            cwd=context.workdir,
            log_path=context.log_path,
            python=True,
        )
