"""The runners wired in by task type."""

from __future__ import annotations

from headwater.runners import (
    DbtRunner,
    NotebookRunner,
    OperatorRunner,
    ScriptRunner,
    ShellRunner,
    SqlRunner,
    WheelRunner,
    runners_by_type,
)


def test_each_task_type_has_its_runner() -> None:
    runners = runners_by_type()

    assert set(runners) == {"shell_command_task", "spark_python_task", "notebook_task",
                            "python_operator_task", "python_wheel_task", "sql_task",
                            "dbt_task"}
    assert isinstance(runners["shell_command_task"], ShellRunner)
    assert isinstance(runners["spark_python_task"], ScriptRunner)
    assert isinstance(runners["notebook_task"], NotebookRunner)
    assert isinstance(runners["python_operator_task"], OperatorRunner)
    assert isinstance(runners["python_wheel_task"], WheelRunner)
    assert isinstance(runners["sql_task"], SqlRunner)
    assert isinstance(runners["dbt_task"], DbtRunner)
