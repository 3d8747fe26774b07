"""Runners: each turns one task type's settings into the process that runs an attempt.

Each implements `headwater.ports.Runner`; `runners_by_type` is what `bootstrap.py` wires in.

The runner classes are imported on first use (PEP 562 `__getattr__`): the children's entry
points live in this package too (`python -m headwater.entrypoints.notebook`, ...), and they
must not pay for the job models' import (pydantic, ~0.2 s) on every task start.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.ports import Runner
    from headwater.runners.dbt import DbtRunner
    from headwater.runners.notebook import NotebookRunner
    from headwater.runners.operator import OperatorRunner
    from headwater.runners.script import ScriptRunner
    from headwater.runners.shell import ShellRunner
    from headwater.runners.sql import SqlRunner, Warehouses
    from headwater.runners.wheel import WheelRunner

__all__ = ["DbtRunner", "NotebookRunner", "OperatorRunner", "ScriptRunner", "ShellRunner",
           "SqlRunner", "WheelRunner", "runners_by_type"]

_MODULES = {"DbtRunner": "dbt", "NotebookRunner": "notebook", "OperatorRunner": "operator",
            "ScriptRunner": "script", "ShellRunner": "shell", "SqlRunner": "sql",
            "WheelRunner": "wheel"}


def __getattr__(name: str) -> object:
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def runners_by_type(home: Path | None = None,
                    warehouses: Warehouses | None = None,
                    db_url: str | None = None,
                    run_job_chain: Sequence[int] = ()) -> dict[str, Runner]:
    """A runner for each task type this package can run, keyed by `Task.task_type`.

    Args:
        home: headwater's state directory (`HEADWATER_HOME`); the embedded SQL warehouse is
            `<home>/warehouse.duckdb`, task environments live in `<home>/envs/`. None:
            `<job directory>/.headwater/` instead.
        warehouses: the SQL warehouses (headwater.yml's `warehouses`, by `warehouse_id`); by
            default only the embedded one, in `home`.
        db_url: the state store, for the child engines of Run Job tasks (None: no Run Job).
        run_job_chain: the job ids of the Run Job tasks above this engine, outermost first.
    """
    from headwater.runners import (
        dbt,
        environments,
        notebook,
        operator,
        run_job,
        script,
        shell,
        sql,
        wheel,
    )

    sql_warehouses = warehouses or sql.Warehouses(home=home)
    envs = environments.Environments(home=home)
    runners: dict[str, Runner] = {
        "shell_command_task": shell.ShellRunner(),
        "spark_python_task": script.ScriptRunner(environments=envs),
        "notebook_task": notebook.NotebookRunner(sql_warehouses, environments=envs),
        "python_operator_task": operator.OperatorRunner(environments=envs),
        "python_wheel_task": wheel.WheelRunner(environments=envs),
        "sql_task": sql.SqlRunner(sql_warehouses, environments=envs),
        "dbt_task": dbt.DbtRunner(sql_warehouses, environments=envs),
    }
    if db_url is not None:
        runners["run_job_task"] = run_job.RunJobRunner(db_url, run_job_chain)
    return runners
