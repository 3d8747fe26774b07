"""The runners wired in by task type."""

from __future__ import annotations

from headwater.runners import ScriptRunner, ShellRunner, runners_by_type


def test_each_task_type_has_its_runner() -> None:
    runners = runners_by_type()

    assert set(runners) == {"shell_command_task", "spark_python_task"}
    assert isinstance(runners["shell_command_task"], ShellRunner)
    assert isinstance(runners["spark_python_task"], ScriptRunner)
