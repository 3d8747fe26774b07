"""`DbtRunner`: runs a `dbt_task`'s commands in a child process (`headwater.entrypoints.dbt`).

As on Databricks, the commands run in order in the project directory (`project_directory`,
resolved in the job's directory; the job's directory itself when unset), and the profile comes
from one of two places:

- `warehouse_id` set: headwater writes the profile, for that warehouse (Databricks writes one
  for its SQL warehouse). The warehouse is found as a SQL task's is (`Warehouses`): one
  configured in headwater.yml (a DuckDB file, or a PostgreSQL database for dbt-postgres), else
  the embedded DuckDB file, which the child then locks per command as a SQL task does.
  `catalog` and `schema` say where the models go.
- otherwise the project's own profiles: `profiles_directory` (relative to the project), or the
  project directory itself.

dbt itself (dbt-core and the adapter the profile names: `dbt-duckdb` for headwater's
warehouse) must be importable by the task's interpreter: the task's environment
(`environment_key`, or its `libraries`), or the one headwater runs in (`headwater[dbt]`).
dbt's artifacts (`target/`) and its log go to the attempt's folder, not the project's, so two
runs at once do not share them and each attempt keeps its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment
from headwater.runners.paths import resolve_in_workdir
from headwater.runners.sql import URL_VARIABLE, WarehouseRunner

__all__ = ["ENTRY_MODULE", "DbtRunner"]

ENTRY_MODULE = "headwater.entrypoints.dbt"
ARTIFACTS = "dbt"  # the attempt's dbt folder: target/ and logs/


class DbtRunner(WarehouseRunner):
    """Builds the launch of a `dbt_task`; implements `headwater.ports.Runner`."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`python -m headwater.entrypoints.dbt SPEC_JSON` in the project directory.

        Raises:
            InvalidRequest: when the task is not a dbt task, its project or profiles folder is
                missing or outside the job directory, or it has no profile to use.
        """
        settings = task.dbt_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no dbt_task")
        project = resolve_in_workdir(settings.project_directory or ".", context.code_root,
                                     task.task_key, "project_directory", directory=True,
                                     workspace=context.workspace_dir)
        if not (project / "dbt_project.yml").is_file():
            raise InvalidRequest(f"task {task.task_key!r}: project_directory "
                                 f"{os.fspath(project)!r} has no dbt_project.yml; name the "
                                 "folder of your dbt project")
        env = attempt_environment(context)
        spec: dict[str, object] = {"commands": list(settings.commands),
                                   "project_dir": os.fspath(project)}
        if settings.warehouse_id is not None:
            env.update(self._warehouses.environment(settings.warehouse_id, context.workdir))
            spec["warehouse"] = {"url": env[URL_VARIABLE], "schema": settings.schema,
                                 "catalog": settings.catalog}
        else:
            spec["profiles_dir"] = os.fspath(self._profiles(task, project, context.code_root))
        if context.attempt_dir is not None:
            spec["artifacts_dir"] = os.fspath(Path(context.attempt_dir) / ARTIFACTS)
        argv = [self._python, "-m", ENTRY_MODULE, json.dumps(spec)]
        return LaunchSpec(
            argv=self._environments.wrap(argv, task, context),
            env=env,
            cwd=project,
            log_path=context.log_path,
            python=True,
        )

    @staticmethod
    def _profiles(task: Task, project: Path, workdir: Path) -> Path:
        """The folder of the project's own profiles.yml (written relative to the project)."""
        settings = task.dbt_task
        assert settings is not None
        if settings.profiles_directory is None:
            if not (project / "profiles.yml").is_file():
                raise InvalidRequest(
                    f"task {task.task_key!r}: dbt_task has no profile: the project "
                    f"{os.fspath(project)!r} has no profiles.yml; set warehouse_id to run on "
                    "headwater's warehouse (the profile is then written for you), or "
                    "profiles_directory to the folder of your profiles.yml")
            return project
        # Relative to the project, and bounded by the job's folder as every path is; a project
        # named by an absolute path (outside it) takes its profiles as written from there.
        inside = Path(os.path.abspath(project)).is_relative_to(os.path.abspath(workdir))
        base = os.path.relpath(project, workdir) if inside else os.fspath(project)
        found = resolve_in_workdir(os.path.join(base, settings.profiles_directory), workdir,
                                   task.task_key, "profiles_directory", directory=True)
        if not (found / "profiles.yml").is_file():
            raise InvalidRequest(f"task {task.task_key!r}: profiles_directory "
                                 f"{os.fspath(found)!r} has no profiles.yml")
        return found
