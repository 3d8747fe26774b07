"""A Run Job task in the Jobs API's documents: only the parameters it gives, and its child
named by `job_id` where the name resolves, a for-each's nested task included."""

from __future__ import annotations

from typing import Any

from headwater.api.documents import as_returned, child_job_names, with_child_job_ids

EMPTY_PARAMETERS: dict[str, Any] = {"job_parameters": {}, "notebook_params": {}, "python_params": [],
                    "python_named_params": {}, "sql_params": {}, "jar_params": [],
                    "spark_submit_params": [], "dbt_commands": []}


def _loop_over(run_job: dict[str, Any]) -> dict[str, Any]:
    return {"task_key": "each", "for_each_task": {
        "inputs": "[1, 2]", "task": {"task_key": "each_child", "run_job_task": run_job}}}


def test_a_run_job_task_lists_only_the_parameters_it_gives() -> None:
    stored: dict[str, Any] = {"name": "parent", "tasks": [
        {"task_key": "call", "run_job_task": {"job_name": "child", **EMPTY_PARAMETERS,
                                              "python_params": ["--day", "1"]}},
        _loop_over({"job_id": 7, **EMPTY_PARAMETERS})]}

    call, each = as_returned(stored)["tasks"]

    assert call["run_job_task"] == {"job_name": "child", "python_params": ["--day", "1"]}
    assert each["for_each_task"]["task"]["run_job_task"] == {"job_id": 7}
    assert stored["tasks"][0]["run_job_task"]["jar_params"] == []  # the stored ones untouched


def test_a_child_named_by_name_is_named_by_id_where_the_name_resolves() -> None:
    job: dict[str, Any] = {"job_id": 1, "settings": {"name": "parent", "tasks": [
        {"task_key": "call", "run_job_task": {"job_name": "child", "job_parameters": {"d": "1"}}},
        {"task_key": "early", "run_job_task": {"job_name": "not yet"}},
        {"task_key": "by_id", "run_job_task": {"job_id": 9}},
        _loop_over({"job_name": "child"})]}}
    run = {"run_id": 5, "tasks": [{"task_key": "call", "run_job_task": {"job_name": "child"}}]}
    task_run = {"run_id": 6, "task_key": "call", "run_job_task": {"job_name": "child"}}

    named = with_child_job_ids(job, {"child": 4})

    assert child_job_names(job) == {"child", "not yet"}
    call, early, by_id, each = named["settings"]["tasks"]
    assert call["run_job_task"] == {"job_id": 4, "job_parameters": {"d": "1"}}
    assert early["run_job_task"] == {"job_name": "not yet"}  # no job has the name yet
    assert by_id["run_job_task"] == {"job_id": 9}
    assert each["for_each_task"]["task"]["run_job_task"] == {"job_id": 4}
    assert with_child_job_ids(run, {"child": 4})["tasks"][0]["run_job_task"] == {"job_id": 4}
    assert with_child_job_ids(task_run, {"child": 4})["run_job_task"] == {"job_id": 4}
    assert job["settings"]["tasks"][0]["run_job_task"]["job_name"] == "child"  # untouched
