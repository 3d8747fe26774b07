"""`OperatorRunner`: runs a `python_operator_task` (`main: "pkg.module.function"`, `parameters:
[{name, value}]` as keyword arguments) in a child process,
`python -m headwater.entrypoints.operator` (see there for how `main` is found and called).
"""

from __future__ import annotations

import json

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment
from headwater.runners.environments import PythonRunner

__all__ = ["OperatorRunner"]


class OperatorRunner(PythonRunner):
    """Builds the launch of a `python_operator_task`; implements `headwater.ports.Runner`.
    """

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """`python -u -m headwater.entrypoints.operator MAIN KWARGS_JSON` in the job directory.

        Raises:
            InvalidRequest: when the task is not an operator task, or two parameters share a
                name.
        """
        settings = task.python_operator_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no python_operator_task")
        keywords: dict[str, str] = {}
        for parameter in settings.parameters:
            if parameter.name in keywords:
                raise InvalidRequest(f"task {task.task_key!r}: parameter {parameter.name!r} "
                                     "is given twice")
            keywords[parameter.name] = parameter.value
        argv = [self._python, "-u", "-m", "headwater.entrypoints.operator", settings.main,
                json.dumps(keywords)]
        return LaunchSpec(
            argv=self._environments.wrap(argv, task, context),
            env=attempt_environment(context),
            cwd=context.workdir,
            log_path=context.log_path,
            python=True,
        )
