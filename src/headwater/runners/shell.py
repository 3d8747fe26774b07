"""`ShellRunner`: runs a `shell_command_task` with `/bin/sh -c`.

The command string is the job author's, passed to the shell as written. Run parameters never
enter it: they arrive as environment variables (see `headwater.runners.environment` for the
naming rule), so a command reads them as `"$HEADWATER_PARAM_NAME"`, quoted, and a value such
as `$(touch x); rm -rf ~` stays data.
"""

from __future__ import annotations

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment

__all__ = ["SHELL", "ShellRunner"]

SHELL = "/bin/sh"


class ShellRunner:
    """Builds the launch of a `shell_command_task`; implements `headwater.ports.Runner`."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`/bin/sh -c <command>` in the job's directory, with the task's env and parameters.

        Raises:
            InvalidRequest: when the task is not a shell command task, or its environment
                cannot be passed to a process.
        """
        settings = task.shell_command_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no shell_command_task")
        return LaunchSpec(
            argv=[SHELL, "-c", settings.command],
            env=attempt_environment(context, settings.env),
            cwd=context.workdir,
            log_path=context.log_path,
        )
