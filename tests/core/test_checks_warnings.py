"""What a valid job likely did not mean, or what would not deploy to Databricks: a `run_if`
with no dependency to look at, a `sql_task` without `warehouse_id`, an enum value in another
case than the Jobs API's (`core/checks_warnings.py`)."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.checks_warnings import job_warnings, written_case_warnings
from headwater.core.plan import build_plan
from headwater.core.spec import JobSettings
from headwater.core.states import ResultState
from headwater.testing import simulate

NEVER_RUNS = "the task never runs: every run ends it EXCLUDED"
ALWAYS_RUNS = ("headwater runs the task every time, as though the rule were met (what "
               "Databricks does with it is not documented)")
NO_WAREHOUSE = ("no warehouse_id: headwater runs this SQL on its embedded warehouse "
                "(.headwater/warehouse.duckdb), but the Jobs API requires warehouse_id, so the "
                "job would not deploy to Databricks; set it to the id of a Databricks SQL "
                "warehouse (headwater.yml's warehouses can map that id to a local database)")


def settings(*tasks: dict[str, Any]) -> JobSettings:
    return JobSettings.model_validate({"name": "j", "tasks": list(tasks)})


def shell(key: str, *upstream: str, **fields: Any) -> dict[str, Any]:
    depends = [{"task_key": name} for name in upstream]
    return {"task_key": key, "depends_on": depends,
            "shell_command_task": {"command": "true"}, **fields}


def sql(key: str, **query: Any) -> dict[str, Any]:
    return {"task_key": key, "sql_task": {"query": {"query_text": "SELECT 1"}, **query}}


def run_if_message(rule: str, effect: str) -> str:
    return (f"run_if {rule} on a task without depends_on: the rule looks at the task's "
            f"dependencies, and it has none, so {effect}; add the depends_on it was meant for, "
            "or remove run_if")


@pytest.mark.parametrize(
    ("rule", "effect"),
    [
        ("AT_LEAST_ONE_FAILED", NEVER_RUNS),
        ("ALL_FAILED", ALWAYS_RUNS),
        ("AT_LEAST_ONE_SUCCESS", ALWAYS_RUNS),
        ("NONE_FAILED", ALWAYS_RUNS),
    ],
)
def test_a_rule_about_dependencies_on_a_task_without_any_is_warned(rule: str,
                                                                  effect: str) -> None:
    assert job_warnings(settings(shell("first"), shell("cleanup", run_if=rule))) == [
        ("tasks[1].run_if", run_if_message(rule, effect))]


@pytest.mark.parametrize(
    "task",
    [
        shell("t"), shell("t", run_if="ALL_SUCCESS"), shell("t", run_if="ALL_DONE"),
        shell("t", "first", run_if="AT_LEAST_ONE_FAILED"), shell("t", "first", run_if="ALL_FAILED"),
    ],
)
def test_a_rule_that_needs_no_dependency_or_has_some_is_not_warned(task: dict[str, Any]
                                                                   ) -> None:
    assert job_warnings(settings(shell("first"), task)) == []


@pytest.mark.parametrize(
    ("rule", "result"),
    [("AT_LEAST_ONE_FAILED", ResultState.EXCLUDED), ("ALL_FAILED", ResultState.SUCCESS)],
)
def test_what_the_warning_says_is_what_a_run_does(rule: str, result: ResultState) -> None:
    # Given the rule on the only task of a job
    job = settings(shell("cleanup", run_if=rule))
    # When it runs, on a simulated clock
    run = simulate(build_plan(job)).state
    # Then the task ends as the warning says
    assert run.latest_run("cleanup").result is result  # type: ignore[union-attr]
    effect = NEVER_RUNS if result is ResultState.EXCLUDED else ALWAYS_RUNS
    assert job_warnings(job) == [("tasks[0].run_if", run_if_message(rule, effect))]


def test_a_sql_task_without_a_warehouse_is_warned_even_in_a_loop() -> None:
    loop = {"task_key": "each", "for_each_task": {"inputs": "[1]", "task": sql("one")}}
    job = settings(sql("bare"), sql("named", warehouse_id="a1b2c3"), loop)
    assert job_warnings(job) == [("tasks[0].sql_task", NO_WAREHOUSE),
                                 ("tasks[2].for_each_task.task.sql_task", NO_WAREHOUSE)]


def test_a_reference_inside_inline_sql_is_warned_with_the_way_to_pass_it() -> None:
    text = ("SELECT * FROM sales WHERE region = {{job.parameters.region}} "
            "AND day = {{job.start_time.iso_date}} AND region <> {{job.parameters.region}}")
    warnings = job_warnings(settings(sql("q", warehouse_id="w", query={"query_text": text})))
    assert warnings == [
        ("tasks[0].sql_task.query.query_text",
         "{{job.parameters.region}} is not filled in inside SQL (references are filled in in "
         "the task's settings only); job parameters reach a SQL task as its parameters: write "
         ":region"),
        ("tasks[0].sql_task.query.query_text",
         "{{job.start_time.iso_date}} is not filled in inside SQL (references are filled in in "
         "the task's settings only); pass it as a parameter, sql_task.parameters: {iso_date: "
         "\"{{job.start_time.iso_date}}\"}, and write :iso_date in the SQL"),
    ]
    assert job_warnings(settings(sql("q", warehouse_id="w", query={
        "query_text": "SELECT {{region}}, :day"}))) == []  # markers, not references


def test_a_bracketed_reference_is_among_the_warnings() -> None:
    task = {"task_key": "t", "spark_python_task": {
        "python_file": "m.py", "parameters": ["{{job.parameters.[input]}}"]}}
    ((path, message),) = job_warnings(settings(task))
    assert path == "tasks[0].spark_python_task.parameters[0]"
    assert message.startswith("{{job.parameters.[input]}}: Databricks leaves this as literal")


def case_message(text: str, value: str) -> str:
    return (f"{text!r} is read as {value}, the Jobs API's spelling; Databricks may refuse "
            f"another case (`databricks bundle validate` warns of it too): write {value}")


def test_an_enum_value_in_another_case_is_warned_where_it_is_written() -> None:
    # Given a job as written in a bundle, before its text is read into enums
    data = {
        "name": "all_done",  # text, not an enum: as written
        "schedule": {"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC",
                     "pause_status": "Paused"},
        "git_source": {"git_url": "https://example.com/r.git", "git_provider": "github"},
        "tasks": [
            {"task_key": "gate", "condition_task": {"op": "equal_to", "left": "a", "right": "b"}},
            {"task_key": "all_done", "run_if": "all_done", "depends_on": [{"task_key": "gate"}]},
            {"task_key": "each", "for_each_task": {"inputs": "[1]", "task": {
                "task_key": "one", "run_if": "ALL_SUCCESS",
                "health": {"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "greater_than",
                                      "value": 10}]}}}},
        ],
    }
    # Then each differs from the API's spelling only in case, except git_provider, which the
    # Jobs API documents as case insensitive
    assert written_case_warnings(data) == [
        ("schedule.pause_status", case_message("Paused", "PAUSED")),
        ("tasks[0].condition_task.op", case_message("equal_to", "EQUAL_TO")),
        ("tasks[1].run_if", case_message("all_done", "ALL_DONE")),
        ("tasks[2].for_each_task.task.health.rules[0].op",
         case_message("greater_than", "GREATER_THAN")),
    ]


@pytest.mark.parametrize("data", [{"tasks": [{"run_if": "SOMETIMES"}]}, {"tasks": "x"}, [], None])
def test_what_is_no_case_difference_is_left_to_validation(data: object) -> None:
    assert written_case_warnings(data) == []


def test_a_backfill_reference_in_a_parameter_default_is_warned() -> None:
    job = JobSettings.model_validate({"tasks": [{"task_key": "t", "shell_command_task": {
        "command": "true"}}], "parameters": [
            {"name": "day", "default": "{{backfill.iso_date}}"},
            {"name": "when", "default": "{{job.trigger.time.iso_date}}"}]})

    assert job_warnings(job) == [(
        "parameters[0].default",
        "{{backfill.iso_date}} has a value only in a backfill's runs: every other run (a "
        "schedule's, run-now) fails as it starts; for a scheduled job write "
        "{{job.trigger.time.iso_date}}, which a backfill's runs set to their time too, or give "
        "the value only to the backfill: `jobs backfill --param day={{backfill.iso_date}}`")]


def test_a_reference_whose_namespace_is_a_near_miss_is_warned_with_the_one_meant() -> None:
    inner = {"task_key": "one", "spark_python_task": {"python_file": "e.py", "parameters": [
        "{{inputs}}", "{{Input}}", "{{jobs.id}}", "{{input}}", "{{foo}}", "{{catalog}}"]}}
    job = settings({"task_key": "loop", "for_each_task": {"inputs": "[1]", "task": inner}})

    assert job_warnings(job) == [
        (f"tasks[0].for_each_task.task.spark_python_task.parameters[{index}]",
         f"{raw} is left as written: no reference starts with {name!r}; did you mean {meant}?")
        for index, raw, name, meant in [(0, "{{inputs}}", "inputs", "{{input}}"),
                                        (1, "{{Input}}", "Input", "{{input}}"),
                                        (2, "{{jobs.id}}", "jobs", "{{job.id}}")]]
