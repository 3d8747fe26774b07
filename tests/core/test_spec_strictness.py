"""What the Jobs API refuses and the model once took (audit s37 A, S8): a job cluster without a
cluster, `run_as` naming two principals or none, a for-each's inline `inputs` over 10,000
characters, and numbers or booleans for strings in a typed JSON body (but not in a bundle's
YAML, whose scalars the Databricks CLI turns into text)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from headwater.core.load import load_file, settings_from_body
from headwater.core.spec import TYPED_JSON, JobSettings
from headwater.errors import SpecError

SHELL = {"shell_command_task": {"command": "true"}}


def errors_of(body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        JobSettings.model_validate(body)
    return [(tuple(error["loc"]), error["msg"]) for error in raised.value.errors()]


def test_a_job_cluster_needs_a_cluster_or_serverless_compute() -> None:
    (only,) = errors_of({"job_clusters": [{"job_cluster_key": "k"}]})

    assert only[0] == ("job_clusters", 0)
    assert "job cluster 'k' has no new_cluster; add its cluster spec" in only[1]
    for given in ({"new_cluster": {}}, {"new_cluster": {"num_workers": 2}},
                  {"serverless_compute": {}}, {"serverless_compute_id": "s"}):  # sdk 0.167
        JobSettings.model_validate({"job_clusters": [{"job_cluster_key": "k", **given}]})


@pytest.mark.parametrize(("run_as", "named"), [
    ({"user_name": "a", "service_principal_name": "b"}, "user_name and service_principal_name"),
    ({"user_name": "a", "group_name": "g"}, "user_name and group_name"),
    ({}, "none"),
])
def test_run_as_names_exactly_one_principal(run_as: dict[str, str], named: str) -> None:
    (only,) = errors_of({"run_as": run_as})

    assert only == (("run_as",), "Value error, name exactly one of user_name, "
                                 f"service_principal_name, group_name (got {named}); keep only "
                                 "the one the job runs as")


def body_problems(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Each problem of `body` as a Jobs API body (typed JSON): its path and message."""
    try:
        settings_from_body(body, typed_json=True)
    except SpecError as error:
        return [(problem.path, problem.message) for problem in error.problems]
    return []


def loop(inputs: str) -> dict[str, Any]:
    return {"tasks": [{"task_key": "each", "for_each_task": {
        "inputs": inputs, "task": {"task_key": "one", **SHELL}}}]}


def test_inline_inputs_over_10000_characters_are_refused_in_a_typed_body() -> None:
    inputs = '["' + "a" * 9997 + '"]'  # 10,001 characters

    (only,) = body_problems(loop(inputs))

    assert only[0] == "tasks[0].for_each_task.inputs"
    assert "inputs is 10,001 characters long, more than the 10,000 the Jobs API takes" in only[1]
    assert only[1].endswith("({{tasks.<key>.values.<name>}})")
    for taken in ('["' + "a" * 9996 + '"]', "{{tasks.list.values.items}}"):  # 10,000; a reference
        JobSettings.model_validate(loop(taken), context=TYPED_JSON)
    # A job file, or a job stored before the limit was checked, still reads
    JobSettings.model_validate(loop(inputs))


TYPED_BODY: dict[str, Any] = {
    "tags": {"team": 5},
    "tasks": [
        {"task_key": "n", "notebook_task": {"notebook_path": "n.py",
                                            "base_parameters": {"a": 1, "b": "ok"}}},
        {"task_key": "p", "spark_python_task": {"python_file": "p.py",
                                                "parameters": [1, "two", True]}},
        {"task_key": "each", "for_each_task": {"inputs": "[1]", "task": {
            "task_key": "one", "sql_task": {"warehouse_id": "w", "parameters": {"x": 1.5},
                                            "query": {"query_text": "select :x"}}}}},
    ],
}


def test_numbers_and_booleans_for_strings_are_found_in_a_typed_body() -> None:
    found = body_problems(TYPED_BODY)

    assert sorted(found) == [
        ("tags.team", "must be a string (got 5); put it in quotes"),
        ("tasks[0].notebook_task.base_parameters.a", "must be a string (got 1); put it in quotes"),
        ("tasks[1].spark_python_task.parameters[0]", "must be a string (got 1); put it in quotes"),
        ("tasks[1].spark_python_task.parameters[2]",
         "must be a string (got true); put it in quotes"),
        ("tasks[2].for_each_task.task.sql_task.parameters.x",
         "must be a string (got 1.5); put it in quotes"),
    ]
    # `name` is a string in job files too: its own problem, named once
    assert body_problems({"tags": {"team": "5"}, "name": 5}) == [
        ("name", "must be a string (got 5); put it in quotes")]


def test_a_bundle_s_yaml_scalars_stay_text(tmp_path: Path) -> None:
    # Given a bundle that writes numbers and booleans where the Jobs API has strings
    path = tmp_path / "databricks.yml"
    path.write_text(textwrap.dedent("""
        resources:
          jobs:
            etl:
              tags: {team: 5}
              tasks:
                - task_key: n
                  notebook_task: {notebook_path: n.py, base_parameters: {a: 1}}
                - task_key: p
                  spark_python_task: {python_file: p.py, parameters: [1, true]}
    """))

    # When it is loaded, then they are text, as the Databricks CLI makes them
    (job,) = load_file(path)
    assert job.settings.tags == {"team": "5"}
    notebook, script = job.settings.tasks
    assert notebook.notebook_task is not None and script.spark_python_task is not None
    assert notebook.notebook_task.base_parameters == {"a": "1"}
    assert script.spark_python_task.parameters == ["1", "true"]
    # and the same settings sent as a typed JSON body are refused at each place
    assert len(body_problems(job.settings.model_dump() | {"tags": {"team": 5}})) == 1


def test_a_bundle_s_run_as_naming_two_principals_is_refused_where_written(
        tmp_path: Path) -> None:
    path = tmp_path / "databricks.yml"
    path.write_text(textwrap.dedent("""
        resources:
          jobs:
            etl:
              run_as: {user_name: a@example.com, service_principal_name: robot}
              job_clusters:
                - job_cluster_key: small
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
    """))

    with pytest.raises(SpecError) as raised:
        load_file(path)

    assert [(p.where, p.path) for p in raised.value.problems] == [
        (f"{path}:5:15", "run_as"), (f"{path}:7:11", "job_clusters[0]")]
    assert "name exactly one of" in raised.value.problems[0].message


def test_a_typed_body_wrong_only_in_its_types_is_checked_as_a_valid_one() -> None:
    # Given a Jobs API body that the model takes but for a number for a string, with an unknown
    # dependency and an unknown webhook destination
    body = {"name": "j", "tags": {"team": 5},
            "tasks": [{"task_key": "a", "depends_on": [{"task_key": "b"}], **SHELL}],
            "webhook_notifications": {"on_failure": [{"id": "pager"}]}}

    # When it is read, then its graph and destinations are checked too, in the one report
    with pytest.raises(SpecError) as raised:
        settings_from_body(body, "new_settings", destinations={"hook"}, typed_json=True)

    assert [problem.where for problem in raised.value.problems] == [
        "$.new_settings.tasks[0].depends_on[0].task_key",
        "$.new_settings.webhook_notifications.on_failure[0].id",
        "$.new_settings.tags.team"]


def test_a_body_the_model_refuses_still_has_its_unknown_webhook_named() -> None:
    # Given a body with an unknown field and a webhook id the server does not define
    body = {"name": "j", "tasks": [{"task_key": "a", "colour": "red", **SHELL}],
            "webhook_notifications": {"on_failure": [{"id": "pager"}]}}

    # When it is read, then both are in the one report
    with pytest.raises(SpecError) as raised:
        settings_from_body(body, destinations={"hook"}, typed_json=True)

    assert [problem.where for problem in raised.value.problems] == [
        "$.tasks[0].colour", "$.webhook_notifications.on_failure[0].id"]
