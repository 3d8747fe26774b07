"""`headwater validate` refuses the references a task's type rules out, which used to pass
validation and fail only at run time: `{{task.notebook_path}}` in a script, and the values of
a for-each task."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cli

JOB = """\
resources:
  jobs:
    j:
      tasks:
        - task_key: show
          spark_python_task:
            python_file: show.py
            parameters: ["{{task.notebook_path}}"]
        - task_key: loop2
          for_each_task:
            inputs: "[1, 2]"
            task: {task_key: item, shell_command_task: {command: "true"}}
        - task_key: after
          depends_on: [{task_key: loop2}]
          shell_command_task:
            command: "true"
            env: {X: "{{tasks.loop2.values.x}}"}
"""


def test_validate_reports_both_at_their_line(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text(JOB)
    (tmp_path / "show.py").write_text("print('hi')\n")

    result = hw("validate", "job.yml")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "2 problems found:",
        "job.yml:8:26: tasks[0].spark_python_task.parameters[0]: {{task.notebook_path}}: only "
        "a notebook_task has a notebook path, and this is a field of a spark_python_task, so it "
        "could never be resolved; write the path itself",
        "job.yml:17:22: tasks[2].shell_command_task.env.X: {{tasks.loop2.values.x}}: task "
        "'loop2' is a for_each_task, which sets no task values (the values its iterations set "
        "are not collected); read the value from the task that set it, or have the iterations "
        "write their results where a task after 'loop2' can read them",
    ]
