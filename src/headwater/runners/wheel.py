"""`WheelRunner`: runs a `python_wheel_task` in a child process,
`python -m headwater.entrypoints.wheel` (see there for how the entry point is found).

The distribution must be installed where the task's interpreter finds it (the engine's own
environment, or the task's environment). Arguments, as Databricks passes them: `parameters`
as they are, then each of `named_parameters` as `--name=value` (job parameters are pushed
down into `named_parameters` unless the task has positional `parameters`).
"""

from __future__ import annotations

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment
from headwater.runners.environments import PythonRunner

__all__ = ["WheelRunner"]


class WheelRunner(PythonRunner):
    """Builds the launch of a `python_wheel_task`; implements `headwater.ports.Runner`.
    """

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`python -u -m headwater.entrypoints.wheel PACKAGE ENTRY_POINT ARGS...`.

        Raises:
            InvalidRequest: when the task is not a wheel task.
        """
        settings = task.python_wheel_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no python_wheel_task")
        named = [f"--{name}={value}" for name, value in settings.named_parameters.items()]
        argv = [self._python, "-u", "-m", "headwater.entrypoints.wheel",
                settings.package_name, settings.entry_point, *settings.parameters, *named]
        return LaunchSpec(
            argv=self._environments.wrap(argv, task, context),
            env=attempt_environment(context),
            cwd=context.workdir,
            log_path=context.log_path,
            python=True,
        )
