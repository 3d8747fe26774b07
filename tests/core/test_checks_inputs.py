"""Inputs that would break e-mail headers or `exec` are refused at validate, located."""

from __future__ import annotations

from pathlib import Path

from headwater.core.checks_inputs import MAX_ARGUMENT_BYTES, MAX_TASK_PARAMETER_BYTES

from .helpers import problems_of


def test_a_job_name_with_a_line_break_is_refused_where_it_is_written(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, r"""
        resources:
          jobs:
            etl:
              name: "nightly\r\nBcc: everyone@example.com"
              tasks:
                - {task_key: a, shell_command_task: {command: "true"}}
        """)
    assert problem.where.endswith("job.yml:4:13")
    assert (problem.path, problem.message) == ("name", (
        "the job name holds a control character ('\\r' at character 8); a name is one line of "
        "printable text"))


def test_an_argument_longer_than_exec_takes_is_refused_at_its_field(tmp_path: Path) -> None:
    long = "x" * (MAX_ARGUMENT_BYTES + 1)
    (problem,) = problems_of(tmp_path, f"""
        resources:
          jobs:
            etl:
              tasks:
                - task_key: load
                  spark_python_task:
                    python_file: load.py
                    parameters: ["--rows", "{long}"]
        """)
    assert problem.where.endswith("job.yml:8:36")
    assert f"{MAX_ARGUMENT_BYTES + 1} bytes is too long for one argument" in problem.message
    assert problem.path == "tasks[0].spark_python_task.parameters[1]"


def test_parameters_that_fit_one_by_one_but_not_together_are_refused_at_the_task(
    tmp_path: Path,
) -> None:
    # Job parameters are pushed down to the task, so they count towards its arguments
    value = "y" * (MAX_ARGUMENT_BYTES - 10)
    count = MAX_TASK_PARAMETER_BYTES // MAX_ARGUMENT_BYTES
    parameters = ", ".join(f"{{name: p{n}, default: {value}}}" for n in range(count))
    (problem,) = problems_of(tmp_path, f"""
        resources:
          jobs:
            etl:
              parameters: [{parameters}]
              tasks:
                - task_key: load
                  notebook_task: {{notebook_path: load.py, base_parameters: {{extra: {value}}}}}
        """)
    assert problem.where.endswith("job.yml:6:11") and problem.path == "tasks[0]"
    assert problem.message.startswith("this task's parameters, with the job parameters pushed "
                                      "to it, take")
