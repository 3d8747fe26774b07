"""run-now's legacy task parameters: which tasks each kind reaches and how (maps merged over
the task's own, lists replacing them, a for-each's nested task too), and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.run_scope import RunScope
from headwater.core.spec import JobSettings
from headwater.core.task_parameters import MAX_BYTES, apply, checked
from headwater.errors import InvalidRequest

from .helpers import task

WHEEL = {"package_name": "etl", "entry_point": "main", "parameters": ["--all"],
         "named_parameters": {"env": "dev", "day": "today"}}


def job(*tasks: dict[str, Any], **settings: Any) -> JobSettings:
    return JobSettings.model_validate({"name": "legacy", "tasks": list(tasks), **settings})


MIXED = job(
    task("nb", notebook_task={"notebook_path": "nb.py", "base_parameters": {"a": "1", "b": "2"}}),
    task("wheel", python_wheel_task=WHEEL),
    task("script", spark_python_task={"python_file": "s.py", "parameters": ["x"]}),
    task("query", sql_task={"query": {"query_text": "select :day"}, "parameters": {"day": "d"}}),
    task("dbt", dbt_task={"commands": ["dbt run"]}),
    task("shell"),
    {"task_key": "each", "for_each_task": {"inputs": "[1]", "task": task(
        "each_nb", notebook_task={"notebook_path": "nb.py",
                                  "base_parameters": {"item": "{{input}}"}})}},
)


def test_each_kind_reaches_every_task_of_its_type() -> None:
    given = {"notebook_params": {"b": "run"}, "python_params": ["--day", "1"],
             "python_named_params": {"day": "1"}, "sql_params": {"day": "1"},
             "dbt_commands": ["dbt build"]}

    tasks = {t.task_key: t for t in apply(MIXED, checked(MIXED, given)).tasks}

    assert tasks["nb"].notebook_task.base_parameters == {"a": "1", "b": "run"}  # type: ignore[union-attr]
    wheel = tasks["wheel"].python_wheel_task
    assert wheel is not None and wheel.parameters == ["--day", "1"]
    assert wheel.named_parameters == {"env": "dev", "day": "1"}
    assert tasks["script"].spark_python_task.parameters == ["--day", "1"]  # type: ignore[union-attr]
    assert tasks["query"].sql_task.parameters == {"day": "1"}  # type: ignore[union-attr]
    assert tasks["dbt"].dbt_task.commands == ["dbt build"]  # type: ignore[union-attr]
    assert tasks["shell"] == MIXED.tasks[5]
    nested = tasks["each"].for_each_task.task.notebook_task  # type: ignore[union-attr]
    assert nested is not None and nested.base_parameters == {"item": "{{input}}", "b": "run"}


def test_the_job_itself_is_unchanged_and_a_run_without_them_plans_it_as_is() -> None:
    before = MIXED.model_dump()
    apply(MIXED, {"notebook_params": {"b": "run"}})
    assert MIXED.model_dump() == before
    assert RunScope().settings(MIXED) is MIXED


def test_empty_values_count_as_not_given() -> None:
    assert checked(MIXED, {"notebook_params": {}, "jar_params": [], "python_params": []}) is None


def test_what_would_be_ignored_is_refused_each_with_its_field() -> None:
    plain = job(task("shell"))
    with pytest.raises(InvalidRequest) as raised:
        checked(plain, {"jar_params": ["a"], "spark_submit_params": ["b"],
                        "pipeline_params": {"full_refresh": True}, "notebook_params": {"a": "1"}})
    message = str(raised.value)
    assert "jar_params: headwater runs no JAR tasks (spark_jar_task); remove it" in message
    assert "spark_submit_params: headwater runs no spark_submit_task" in message
    assert "pipeline_params: headwater runs no pipeline tasks" in message
    assert "notebook_params: the job has no notebook_task to take it" in message


def test_a_job_with_job_parameters_takes_those_only() -> None:
    declared = job(task("nb", notebook_task={"notebook_path": "nb.py"}),
                   parameters=[{"name": "day", "default": "today"}])

    with pytest.raises(InvalidRequest, match=r"notebook_params: the job declares job parameters "
                                             r"\(day\).*pass job_parameters instead"):
        checked(declared, {"notebook_params": {"day": "1"}})


def test_more_than_10000_bytes_of_one_kind_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=f"python_params: .* more than the {MAX_BYTES}"):
        checked(MIXED, {"python_params": ["x" * MAX_BYTES]})
