"""Static checks of dynamic value references: each rule, its path and its message, and the
wiring into `check_job` and `load_file` (file:line:col)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from headwater.core.checks import check_job
from headwater.core.checks_refs import check_references, upstream_closure
from headwater.core.load import load_file
from headwater.core.spec import JobSettings
from headwater.errors import SpecError


def shell(key: str, *upstream: str, env: dict[str, str] | None = None,
          command: str = "true") -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_key": key,
        "shell_command_task": {"command": command, "env": env or {}},
    }
    if upstream:
        body["depends_on"] = [{"task_key": name} for name in upstream]
    return body


def findings(*tasks: dict[str, Any], parameters: dict[str, str] | None = None,
             ) -> list[tuple[str, str]]:
    declared = [{"name": n, "default": d} for n, d in (parameters or {}).items()]
    settings = JobSettings.model_validate({"tasks": list(tasks), "parameters": declared})
    return check_references(settings)


def test_a_job_using_references_well_has_no_findings() -> None:
    # Given every field type using references a static check can prove fine
    tasks = [
        shell("extract", env={"DAY": "{{job.parameters.day}}", "RUN": "{{job.run_id}}"}),
        {"task_key": "check", "depends_on": [{"task_key": "extract"}],
         "condition_task": {"op": "GREATER_THAN", "left": "{{tasks.extract.values.rows}}",
                            "right": "0"}},
        {"task_key": "loop", "depends_on": [{"task_key": "check", "outcome": "true"}],
         "for_each_task": {"inputs": "{{tasks.extract.values.tables}}", "task": {
             "task_key": "loop_item",
             "notebook_task": {"notebook_path": "n.py", "base_parameters": {
                 "table": "{{input.name}}", "all": "{{input}}", "up": "{{tasks.extract.run_id}}",
             }}}}},
        {"task_key": "report", "depends_on": [{"task_key": "loop"}],
         "spark_python_task": {"python_file": "r.py", "parameters": [
             "--day={{job.parameters.day}}", "{{job.start_time.iso_date}}", "{{task.name}}",
             "{{tasks.check.result_state}}", "{{foo}}", "{{run_id}}", "{{job.parameters.`x-y`}}",
         ]}},
    ]
    # Then nothing is reported
    assert findings(*tasks, parameters={"day": "{{job.start_time.iso_date}}", "x-y": "1"}) == []


FIELD_CASES = [
    ({"notebook_task": {"notebook_path": "n.py", "base_parameters": {"p": "{{job.naem}}"}}},
     "tasks[0].notebook_task.base_parameters.p"),
    ({"spark_python_task": {"python_file": "f.py", "parameters": ["ok", "{{job.naem}}"]}},
     "tasks[0].spark_python_task.parameters[1]"),
    ({"python_wheel_task": {"package_name": "p", "entry_point": "e",
                            "parameters": ["{{job.naem}}"]}},
     "tasks[0].python_wheel_task.parameters[0]"),
    ({"python_wheel_task": {"package_name": "p", "entry_point": "e",
                            "named_parameters": {"n": "{{job.naem}}"}}},
     "tasks[0].python_wheel_task.named_parameters.n"),
    ({"python_operator_task": {"main": "m.f", "parameters": [
        {"name": "a", "value": "1"}, {"name": "b", "value": "{{job.naem}}"}]}},
     "tasks[0].python_operator_task.parameters[1].value"),
    ({"sql_task": {"query": {"query_text": "select 1"}, "parameters": {"d": "{{job.naem}}"}}},
     "tasks[0].sql_task.parameters.d"),
    ({"run_job_task": {"job_id": 1, "job_parameters": {"d": "{{job.naem}}"}}},
     "tasks[0].run_job_task.job_parameters.d"),
    ({"condition_task": {"op": "EQUAL_TO", "left": "{{job.naem}}", "right": "x"}},
     "tasks[0].condition_task.left"),
    ({"condition_task": {"op": "EQUAL_TO", "left": "x", "right": "{{job.naem}}"}},
     "tasks[0].condition_task.right"),
    ({"for_each_task": {"inputs": "{{job.naem}}", "task": {
        "task_key": "i", "shell_command_task": {"command": "true"}}}},
     "tasks[0].for_each_task.inputs"),
    ({"for_each_task": {"inputs": "[1]", "task": {
        "task_key": "i", "shell_command_task": {"command": "true", "env": {"V": "{{job.naem}}"}}}}},
     "tasks[0].for_each_task.task.shell_command_task.env.V"),
    ({"shell_command_task": {"command": "true", "env": {"V": "{{job.naem}}"}}},
     "tasks[0].shell_command_task.env.V"),
]


@pytest.mark.parametrize(("body", "path"), FIELD_CASES)
def test_every_reference_field_is_checked_at_its_path(body: dict[str, Any], path: str) -> None:
    task = {"task_key": "t", **body}
    assert findings(task) == [
        (path, "{{job.naem}}: unknown reference (did you mean {{job.name}}?)")
    ]


def test_a_job_parameter_default_is_checked() -> None:
    assert findings(shell("t"), parameters={"a": "x", "b": "{{job.start_time.iso_dat}}"}) == [
        ("parameters[1].default",
         "{{job.start_time.iso_dat}}: unknown time argument 'iso_dat' (did you mean "
         "'iso_date'?); use one of iso_weekday, is_weekday, iso_date, iso_datetime, year, "
         "month, day, hour, minute, second, timestamp_ms"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{job.parameters.envv}}",
         "{{job.parameters.envv}}: no job parameter 'envv' (did you mean 'env'?); declare it "
         "under the job's parameters"),
        ("{{job.parameters.zzz}}",
         "{{job.parameters.zzz}}: no job parameter 'zzz'; declare it under the job's parameters"),
        ("{{job.trigger.time.weekday}}",
         "{{job.trigger.time.weekday}}: unknown time argument 'weekday' (did you mean "
         "'is_weekday'?); use one of iso_weekday, is_weekday, iso_date, iso_datetime, year, "
         "month, day, hour, minute, second, timestamp_ms"),
        ("{{input}}",
         "{{input}}: only the nested task of a for_each_task (for_each_task.task) has an input; "
         "reference the element there"),
        ("{{input.table}}",
         "{{input.table}}: only the nested task of a for_each_task (for_each_task.task) has an "
         "input; reference the element there"),
        ("{{tasks.lod.run_id}}", "{{tasks.lod.run_id}}: no task 'lod' in this job (did you mean "
         "'load'?)"),
        ("{{tasks.t.values.x}}",
         "{{tasks.t.values.x}}: task 't' cannot read its own run; only tasks it depends on have "
         "finished"),
        ("{{tasks.other.values.x}}",
         "{{tasks.other.values.x}}: task 'other' is not upstream of 't' (not in its depends_on, "
         "directly or through other tasks), so it may not have finished when 't' starts; add "
         "{task_key: other} to the depends_on of 't'"),
        ("{{tasks.load.output.rows}}",
         "{{tasks.load.output.rows}}: task 'load' is not a sql_task: only a SQL task has an "
         "output; have it set a task value and read {{tasks.<key>.values.<name>}}"),
        ("{{backfill.iso_dat}}", "{{backfill.iso_dat}}: unknown time argument 'iso_dat' (did "
         "you mean 'iso_date'?); use one of iso_weekday, is_weekday, iso_date, iso_datetime, "
         "year, month, day, hour, minute, second, timestamp_ms"),
        ("{{job.parameters.run-date}}",
         "{{job.parameters.run-date}}: looks like a reference but is not valid syntax, so it "
         "would stay literal text; check the braces, and wrap names with characters other than "
         "letters, digits and '_' in backticks: {{job.parameters.`run-date`}}"),
        ("{{job.id}",
         "{{job.id}: looks like a reference but is not valid syntax, so it would stay literal "
         "text; check the braces, and wrap names with characters other than letters, digits and "
         "'_' in backticks: {{job.parameters.`run-date`}}"),
    ],
)
def test_each_static_rule_reports_its_message(text: str, message: str) -> None:
    # Given task t reading `text`, with load upstream and other beside it
    tasks = [shell("load"), shell("other"), shell("t", "load", env={"V": text})]
    # Then the finding sits on the env value
    assert findings(*tasks, parameters={"env": "x"}) == [
        ("tasks[2].shell_command_task.env.V", message)
    ]


def test_a_sql_tasks_output_is_read_by_a_task_downstream() -> None:
    query = {"task_key": "tables", "sql_task": {"query": {"query_text": "SELECT 1 AS n"}}}
    loop = {"task_key": "each", "depends_on": [{"task_key": "tables"}], "for_each_task": {
        "inputs": "{{tasks.tables.output.rows}}", "task": shell("one", env={
            "N": "{{tasks.tables.output.first_row.n}}", "ROW": "{{tasks.tables.output.first_row}}"
        })}}
    assert findings(query, loop) == []


@pytest.mark.parametrize(
    "text",
    [
        "{{foo}}", "{{ my.value }}", "plain", "{{tasks.load.values.anything}}",
        "{{tasks.load.error_code}}", "{{job.trigger.time.iso_date}}", "{{workspace.url}}",
    ],
)
def test_literals_and_run_time_only_facts_are_not_static_errors(text: str) -> None:
    tasks = [shell("load"), shell("t", "load", env={"V": text})]
    assert findings(*tasks) == []


def test_an_indirect_upstream_counts() -> None:
    # Given a -> b -> c, c may read a
    tasks = [shell("a"), shell("b", "a"), shell("c", "b", env={"V": "{{tasks.a.run_id}}"})]
    assert findings(*tasks) == []


def test_a_downstream_task_is_not_upstream() -> None:
    tasks = [shell("a", env={"V": "{{tasks.b.run_id}}"}), shell("b", "a")]
    ((path, message),) = findings(*tasks)
    assert path == "tasks[0].shell_command_task.env.V"
    assert "task 'b' is not upstream of 'a'" in message
    assert "add {task_key: b} to the depends_on of 'a'" in message


def test_the_nested_task_of_a_for_each_reads_what_its_parent_depends_on() -> None:
    loop = {"task_key": "loop", "depends_on": [{"task_key": "a"}], "for_each_task": {
        "inputs": "[1, 2]",
        "task": {"task_key": "item", "shell_command_task": {"command": "true", "env": {
            "A": "{{tasks.a.values.v}}", "B": "{{tasks.b.values.v}}", "I": "{{input}}",
            "L": "{{tasks.loop.run_id}}"}}},
    }}
    found = findings(shell("a"), shell("b"), loop)
    assert [(path, message.split(":")[0]) for path, message in found] == [
        ("tasks[2].for_each_task.task.shell_command_task.env.B", "{{tasks.b.values.v}}"),
        ("tasks[2].for_each_task.task.shell_command_task.env.L", "{{tasks.loop.run_id}}"),
    ]


def test_for_each_inputs_are_not_inside_the_loop() -> None:
    loop = {"task_key": "loop", "for_each_task": {
        "inputs": "{{input}}", "task": {"task_key": "i", "shell_command_task": {"command": "true"}},
    }}
    assert [path for path, _ in findings(loop)] == ["tasks[0].for_each_task.inputs"]


@pytest.mark.parametrize(
    "text", ["{{task.name}}", "{{tasks.t.run_id}}", "{{input}}", "{{run_id}}", "{{task_key}}",
             "{{task_retry_count}}"],
)
def test_job_parameter_defaults_cannot_use_task_references(text: str) -> None:
    assert findings(shell("t"), parameters={"p": text}) == [
        ("parameters[0].default",
         f"{text}: job parameter defaults are resolved once per run, before any task runs, so "
         "they cannot use task references; move it into the task's own parameters"),
    ]


SHELL_ADVICE = (
    "shell_command_task.command runs as written and is never substituted, so this would "
    "reach the shell as literal text; use $HEADWATER_PARAM_<NAME> or the task's env "
    '(env: {RUN_ID: "{{job.run_id}}"}, then "$RUN_ID"): references are resolved there, never '
    "spliced into shell code"
)


def test_a_reference_in_a_shell_command_is_an_error() -> None:
    # Given a command that would splice values into shell code, twice, and one literal
    command = 'echo "{{job.parameters.env}}"; rm -rf {{input}} {{job.id} {{foo}}'
    task = {"task_key": "t", "shell_command_task": {"command": command}}
    # Then both references (even well-formed and declared ones) and the malformed one are errors
    assert findings(task, parameters={"env": "x"}) == [
        ("tasks[0].shell_command_task.command", f"{{{{job.parameters.env}}}}: {SHELL_ADVICE}"),
        ("tasks[0].shell_command_task.command", f"{{{{input}}}}: {SHELL_ADVICE}"),
        ("tasks[0].shell_command_task.command", f"{{{{job.id}}: {SHELL_ADVICE}"),
    ]


def test_a_plain_shell_command_is_fine() -> None:
    assert findings(shell("t", command='echo "$HEADWATER_PARAM_ENV" ${HOME} {{foo}}')) == []


def test_upstream_closure_tolerates_cycles_and_unknown_keys() -> None:
    closure = upstream_closure({"a": ["c"], "b": ["a"], "c": ["b", "ghost"]})
    assert closure == {
        "a": frozenset({"b", "c", "ghost"}),
        "b": frozenset({"a", "c", "ghost"}),
        "c": frozenset({"a", "b", "ghost"}),
    }


def test_check_job_includes_the_reference_findings() -> None:
    settings = JobSettings.model_validate({"tasks": [shell("t", env={"V": "{{job.naem}}"})]})
    assert ("tasks[0].shell_command_task.env.V",
            "{{job.naem}}: unknown reference (did you mean {{job.name}}?)") in check_job(settings)


def test_a_load_error_points_at_the_line_and_column(tmp_path: Path) -> None:
    # Given a job file whose second parameter names an unknown task
    path = tmp_path / "job.yml"
    path.write_text(textwrap.dedent("""
        resources:
          jobs:
            etl:
              tasks:
                - task_key: load
                  spark_python_task:
                    python_file: load.py
                    parameters:
                      - --day
                      - "{{tasks.extract.values.day}}"
    """).lstrip("\n"))
    # When it is loaded
    with pytest.raises(SpecError) as raised:
        load_file(path)
    # Then the problem is located at the parameter
    (problem,) = raised.value.problems
    assert problem.where == f"{path}:10:17"
    assert problem.message == "{{tasks.extract.values.day}}: no task 'extract' in this job"
