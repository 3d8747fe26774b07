"""`NotebookRunner`: runs a `notebook_task` in a child process
(`python -m headwater.entrypoints.notebook`, see there for how each format runs).

`notebook_path` is resolved in the job's directory like a script's path (a relative path may
not leave it); as in a Databricks workspace it may leave out the suffix: `etl/ingest` finds
`etl/ingest.py`, else `etl/ingest.sql`, else `etl/ingest.ipynb`. The notebook runs in its own
folder, as on Databricks (runtime 14+); `HEADWATER_JOB_DIR` tells it the job's directory.
`base_parameters` (with the job parameters pushed down) reach the notebook as widgets,
through the attempt's context.json; `%sql` cells run on the warehouse that `warehouse_id`
names (see `headwater.runners.sql.Warehouses`). An `.ipynb` notebook asks for a fork server
that has its kernel's libraries imported (`LaunchSpec.preload`): its kernel is then forked
from the task (see `headwater.entrypoints.ipynb_kernel`).
"""

from __future__ import annotations

import os

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment
from headwater.runners.paths import resolve_in_workdir
from headwater.runners.sql import WarehouseRunner
from headwater.runtime.written_paths import NOTEBOOK_SUFFIXES  # as dbutils.notebook.run

__all__ = ["NOTEBOOK_SUFFIXES", "NotebookRunner"]

JOB_DIR_VARIABLE = "HEADWATER_JOB_DIR"  # as in headwater.entrypoints.notebook
# What the fork server of `.ipynb` tasks imports: their kernel is then forked from the task.
IPYNB_PRELOAD = ("headwater.entrypoints.ipynb_warm",)


class NotebookRunner(WarehouseRunner):
    """Builds the launch of a `notebook_task` (`%sql` cells run on its warehouses);
    implements `headwater.ports.Runner`."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`python -u -m headwater.entrypoints.notebook <notebook>` in the notebook's folder.

        Raises:
            InvalidRequest: when the task is not a notebook task, or the notebook is missing or
                outside the job directory.
        """
        settings = task.notebook_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no notebook_task")
        path = resolve_in_workdir(settings.notebook_path, context.code_root, task.task_key,
                                  "notebook_path", NOTEBOOK_SUFFIXES,
                                  workspace=context.workspace_dir)
        env = attempt_environment(context)
        env.update(self._warehouses.environment(settings.warehouse_id, context.workdir))
        env[JOB_DIR_VARIABLE] = os.path.abspath(context.code_root)
        return LaunchSpec(
            argv=self._environments.wrap(
                [self._python, "-u", "-m", "headwater.entrypoints.notebook", os.fspath(path)],
                task, context),
            env=env,
            cwd=path.parent,
            log_path=context.log_path,
            python=True,
            preload=IPYNB_PRELOAD if path.suffix == ".ipynb" else (),
        )
