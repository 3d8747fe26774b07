"""A dbt task's rules are checked at validate, every problem at once, each where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.core.checks import check_job
from headwater.core.checks_dbt import MAX_DBT_COMMANDS, command_problem
from headwater.core.spec import JobSettings

from .helpers import problems_of


def dbt_job(**fields: object) -> JobSettings:
    return JobSettings.model_validate(
        {"name": "j", "tasks": [{"task_key": "t", "dbt_task": {"commands": ["dbt run"],
                                                               **fields}}]})


def test_a_valid_dbt_task_has_no_problem() -> None:
    assert check_job(dbt_job(project_directory="shop", warehouse_id="w", catalog="main",
                             schema="analytics")) == []
    assert check_job(dbt_job(profiles_directory="profiles")) == []


def test_every_problem_of_a_dbt_task_is_reported_where_it_is_written(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, """
        resources:
          jobs:
            shop:
              tasks:
                - task_key: transform
                  dbt_task:
                    project_directory: shop
                    profiles_directory: profiles
                    warehouse_id: local
                    commands:
                      - dbt deps
                      - python -m dbt run
                      - "dbt run --vars '{a: 1}"
                - task_key: report
                  dbt_task:
                    catalog: main
                    schema: analytics
                    commands: [dbt]
        """)
    found = {(p.where.rsplit("job.yml:", 1)[1], p.path): p.message for p in problems}
    assert set(found) == {
        ("12:17", "tasks[0].dbt_task.commands[1]"),
        ("13:17", "tasks[0].dbt_task.commands[2]"),
        ("8:33", "tasks[0].dbt_task.profiles_directory"),
        ("16:22", "tasks[1].dbt_task.catalog"),
        ("17:21", "tasks[1].dbt_task.schema"),
        ("18:24", "tasks[1].dbt_task.commands[0]"),
    }, found
    assert "does not start with `dbt`" in found["12:17", "tasks[0].dbt_task.commands[1]"]
    assert "close its quotes" in found["13:17", "tasks[0].dbt_task.commands[2]"]
    assert "exclude each other" in found["8:33", "tasks[0].dbt_task.profiles_directory"]
    assert "set warehouse_id too" in found["16:22", "tasks[1].dbt_task.catalog"]
    assert "`dbt` alone runs nothing" in found["18:24", "tasks[1].dbt_task.commands[0]"]


def test_commands_must_be_one_to_ten() -> None:
    assert check_job(dbt_job(commands=[])) == [
        ("tasks[0].dbt_task.commands",
         'give at least one dbt command, e.g. ["dbt deps", "dbt build"]')]
    (finding,) = check_job(dbt_job(commands=["dbt run"] * (MAX_DBT_COMMANDS + 1)))
    assert finding[0] == "tasks[0].dbt_task.commands"
    assert f"at most {MAX_DBT_COMMANDS} commands (got 11)" in finding[1]


def test_a_dbt_task_nested_in_a_for_each_is_checked_too() -> None:
    settings = JobSettings.model_validate({"name": "j", "tasks": [{
        "task_key": "each", "for_each_task": {"inputs": "[1]", "task": {
            "task_key": "inner", "dbt_task": {"commands": ["ls"]}}}}]})
    (finding,) = check_job(settings)
    assert finding[0] == "tasks[0].for_each_task.task.dbt_task.commands[0]"


@pytest.mark.parametrize("command", ["dbt run", "dbt build --select tag:nightly",
                                     'dbt run --vars "{day: {{job.start_time.iso_date}}}"'])
def test_dbt_command_lines_are_accepted(command: str) -> None:
    assert command_problem(command) is None


def test_the_project_directory_may_not_leave_the_bundle_folder(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, """
        resources:
          jobs:
            shop:
              tasks:
                - task_key: t
                  dbt_task: {project_directory: ../elsewhere, warehouse_id: w, commands: [dbt run]}
        """)
    assert problem.path == "tasks[0].dbt_task.project_directory"
    assert "leaves the bundle's folder" in problem.message
