"""References that the task types rule out, refused before any run: `{{task.notebook_path}}`
outside a notebook task, and the values of a for-each or condition task, which set none
(`core/checks_refs.py`)."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.checks import check_job
from headwater.core.spec import JobSettings

NOT_A_NOTEBOOK = ("{{task.notebook_path}}: only a notebook_task has a notebook path, and this "
                  "is a field of a KIND, so it could never be resolved; write the path itself")
LOOP_VALUES = ("{{tasks.loop.values.x}}: task 'loop' is a for_each_task, which sets no task "
               "values (the values its iterations set are not collected); read the value from "
               "the task that set it, or have the iterations write their results where a task "
               "after 'loop' can read them")
CONDITION_VALUES = ("{{tasks.gate.values.x}}: task 'gate' is a condition_task, which sets no "
                    "task values, only its outcome; read the value from the task its operands "
                    "come from, or branch on the outcome with depends_on: [{task_key: gate, "
                    'outcome: "true"}]')


def findings(*tasks: dict[str, Any]) -> list[tuple[str, str]]:
    return check_job(JobSettings.model_validate({"tasks": list(tasks)}))


def script(key: str, *parameters: str, after: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"task_key": key, "spark_python_task": {
        "python_file": "s.py", "parameters": list(parameters)}}
    return {**body, "depends_on": [{"task_key": after}]} if after else body


def loop(key: str, nested: dict[str, Any], inputs: str = "[1]") -> dict[str, Any]:
    return {"task_key": key, "for_each_task": {"inputs": inputs, "task": nested}}


GATE = {"task_key": "gate", "condition_task": {"op": "EQUAL_TO", "left": "a", "right": "a"}}


@pytest.mark.parametrize(
    ("task", "path", "kind"),
    [
        (script("show", "{{task.notebook_path}}"), "tasks[0].spark_python_task.parameters[0]",
         "spark_python_task"),
        ({"task_key": "t", "shell_command_task": {
            "command": "true", "env": {"P": "{{task.notebook_path}}"}}},
         "tasks[0].shell_command_task.env.P", "shell_command_task"),
        (loop("each", script("item", "{{task.notebook_path}}")),
         "tasks[0].for_each_task.task.spark_python_task.parameters[0]", "spark_python_task"),
        (loop("each", script("item"), inputs='["{{task.notebook_path}}"]'),
         "tasks[0].for_each_task.inputs", "for_each_task"),
    ],
)
def test_a_notebook_path_outside_a_notebook_task_is_an_error(
        task: dict[str, Any], path: str, kind: str) -> None:
    assert findings(task) == [(path, NOT_A_NOTEBOOK.replace("KIND", kind))]


def test_a_notebook_task_may_name_its_notebook_path() -> None:
    notebook = {"notebook_path": "n.py", "base_parameters": {"p": "{{task.notebook_path}}"}}
    assert findings({"task_key": "n", "notebook_task": notebook},
                    loop("each", {"task_key": "item", "notebook_task": notebook})) == []


def test_the_values_of_a_for_each_task_are_an_error() -> None:
    # Given a loop whose iterations may set x, and a task after it reading x from the loop
    tasks = [loop("loop", script("item")), script("after", "{{tasks.loop.values.x}}",
                                                 after="loop")]
    # Then the reference is refused where it is written, with what to do instead
    assert findings(*tasks) == [("tasks[1].spark_python_task.parameters[0]", LOOP_VALUES)]


def test_the_values_of_a_condition_task_are_an_error() -> None:
    tasks = [GATE, script("after", "{{tasks.gate.values.x}}", after="gate")]
    assert findings(*tasks) == [("tasks[1].spark_python_task.parameters[0]", CONDITION_VALUES)]


def test_what_a_for_each_or_condition_task_does_have_may_be_read() -> None:
    # Given their run id, result state and the like: every task has those
    tasks = [loop("loop", script("item")), GATE,
             script("after", "{{tasks.loop.result_state}}", "{{tasks.loop.run_id}}",
                    "{{tasks.gate.result_state}}", "{{tasks.gate.execution_count}}",
                    after="loop"),
             script("values", "{{tasks.after.values.x}}", after="after")]
    tasks[2]["depends_on"].append({"task_key": "gate", "outcome": "true"})
    # Then nothing is reported, nor for the values of a task that runs code
    assert findings(*tasks) == []
