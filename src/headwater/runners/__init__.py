"""Runners: each turns one task type's settings into the process that runs an attempt.

Each implements `headwater.ports.Runner`; `runners_by_type` is what `bootstrap.py` wires in.
"""

from headwater.ports import Runner
from headwater.runners.script import ScriptRunner
from headwater.runners.shell import ShellRunner

__all__ = ["ScriptRunner", "ShellRunner", "runners_by_type"]


def runners_by_type() -> dict[str, Runner]:
    """A runner for each task type this package can run, keyed by `Task.task_type`."""
    return {
        "shell_command_task": ShellRunner(),
        "spark_python_task": ScriptRunner(),
    }
