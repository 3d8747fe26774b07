"""`ScriptRunner`: runs a `spark_python_task`'s Python file with the engine's interpreter.

`python_file` is resolved against the job's directory (`TaskContext.workdir`); a relative path
must stay inside it (`../` that leaves it is refused), an absolute path is taken as written
(a bundle's paths arrive absolute: the loader resolved them from the file that wrote them).
The check is on the path as written, not through symbolic links: the job author owns the
directory and may link into it. The script runs in its own folder, as on Databricks (runtime
14+), so that it opens and imports the files beside it. `parameters` become argv elements
after the file, one each, byte for byte; no shell is involved. Run parameters also arrive in
the environment (see `headwater.runners.environment`).
"""

from __future__ import annotations

import os
from pathlib import Path

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment
from headwater.runners.environments import PythonRunner
from headwater.runners.paths import resolve_in_workdir

__all__ = ["ScriptRunner", "resolve_script"]


def resolve_script(python_file: str, workdir: Path, task_key: str,
                   workspace: Path | None = None) -> Path:
    """The absolute path of the script to run (`workspace`: the folder standing for
    `/Workspace`, if any).

    Raises:
        InvalidRequest: when a relative path leaves `workdir`, or the file does not exist.
    """
    return resolve_in_workdir(python_file, workdir, task_key, "python_file",
                              workspace=workspace)


class ScriptRunner(PythonRunner):
    """Builds the launch of a `spark_python_task`; implements `headwater.ports.Runner`.
    """

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`python -u <file> *parameters` in the file's folder (and the task's environment).

        Raises:
            InvalidRequest: when the task is not a Python script task, the file is missing or
                outside the job directory, or its environment cannot be passed to a process.
        """
        settings = task.spark_python_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no spark_python_task")
        script = resolve_script(settings.python_file, context.code_root, task.task_key,
                                context.workspace_dir)
        return LaunchSpec(
            argv=self._environments.wrap(
                [self._python, "-u", os.fspath(script), *settings.parameters], task, context),
            env=attempt_environment(context),
            cwd=script.parent,
            log_path=context.log_path,
            python=True,
        )
