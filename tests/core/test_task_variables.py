"""A job's `environment_variables` (`core/task_variables.py`): the checks at validate, the
`.env` file format and its limits, and which value wins."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.checks import check_job
from headwater.core.spec import JobSettings
from headwater.core.spec_job import EnvironmentVariablesSpec
from headwater.core.task_variables import (
    EnvFileError,
    cluster_variables,
    merged_variables,
    parse_env_file,
    selected_entry,
)
from headwater.errors import InvalidRequest

SHELL = {"shell_command_task": {"command": "env"}}


def findings(entries: list[dict[str, Any]], *keys: str | None) -> list[tuple[str, str]]:
    tasks = [{"task_key": f"t{i}", **SHELL,
              **({"environment_variables_key": key} if key else {})}
             for i, key in enumerate(keys)]
    return check_job(JobSettings.model_validate(
        {"tasks": tasks, "environment_variables": entries}))


def test_a_task_selects_an_entry_the_job_defines_once() -> None:
    entries = [{"environment_variables_key": "common", "spec": {"variables": {"A": "1"}}},
               {"environment_variables_key": "common"}]
    assert findings(entries, "common", "comon", None) == [
        ("environment_variables[1].environment_variables_key",
         "environment variables 'common' are defined twice; give each entry its own key"),
        ("tasks[1].environment_variables_key",
         "unknown environment variables 'comon' (did you mean 'common'?); define them under "
         "`environment_variables:` with their `spec`"),
    ]


def test_names_values_and_files_are_checked_where_they_are_written() -> None:
    entries = [{"environment_variables_key": "e", "spec": {
        "variables": {"GOOD_1": "x", "1BAD": "x", "LONG": "v" * 513, "EMPTY": ""},
        "files": ["conf/dev.env", "/Workspace/Users/me/prod.env", "../outside.env",
                  "/etc/headwater/shared.env"]}}]
    paths = [path for path, _ in findings(entries, "e")]
    assert paths == ["environment_variables[0].spec.variables.1BAD",
                     "environment_variables[0].spec.variables.LONG",
                     "environment_variables[0].spec.files[1]",
                     "environment_variables[0].spec.files[2]"]
    messages = dict(findings(entries, "e"))
    assert "at most 512" in messages["environment_variables[0].spec.variables.LONG"]
    assert "copy the file next to the job file" in messages[
        "environment_variables[0].spec.files[1]"]


def test_an_env_file_is_key_value_lines_comments_and_blanks() -> None:
    content = (b"# the warehouse\n\nHOST=db.local\nURL=postgres://u@h/db?a=b\n"
               b"EMPTY=\nHOST=later wins \n")
    assert parse_env_file(content, "dev.env") == {
        "HOST": "later wins ", "URL": "postgres://u@h/db?a=b", "EMPTY": ""}


@pytest.mark.parametrize(("content", "message"), [
    (b"A=1\nexport B=2\n", "dev.env:2: 'export B=2' is not KEY=VALUE"),
    (b"A=1\n B=2\n", "dev.env:2: ' B=2' is not KEY=VALUE"),
    (b"NO_EQUALS\n", "dev.env:1: 'NO_EQUALS' is not KEY=VALUE"),
    (b"A=" + b"x" * 1100 + b"\n", "dev.env:1: the line is over 1,024 bytes"),
    (b"A=1\n" * 9000, "dev.env: the file is 36,000 bytes; a .env file holds at most 32,768"),
    (b"A=\xff\n", "dev.env: not UTF-8 text"),
])
def test_a_bad_env_file_names_its_line(content: bytes, message: str) -> None:
    with pytest.raises(EnvFileError) as raised:
        parse_env_file(content, "dev.env")
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, InvalidRequest)  # it fails the attempt, not the engine


def test_inline_variables_win_over_files_and_a_later_file_over_an_earlier() -> None:
    assert merged_variables([{"A": "file1", "B": "file1"}, {"B": "file2", "C": "file2"}],
                            {"C": "inline"}) == {"A": "file1", "B": "file2", "C": "inline"}


def test_the_selected_entry_is_found_by_key() -> None:
    job = JobSettings.model_validate({"environment_variables": [
        {"environment_variables_key": "a", "spec": {"variables": {"X": "1"}}},
        {"environment_variables_key": "b"}], "tasks": [
        {"task_key": "t", "environment_variables_key": "a", **SHELL},
        {"task_key": "u", "environment_variables_key": "b", **SHELL},
        {"task_key": "v", **SHELL},
        {"task_key": "w", "environment_variables_key": "c", **SHELL}]})
    assert selected_entry(job, job.tasks[0]) == EnvironmentVariablesSpec(variables={"X": "1"})
    assert selected_entry(job, job.tasks[1]) == EnvironmentVariablesSpec()
    assert selected_entry(job, job.tasks[2]) is None
    with pytest.raises(InvalidRequest, match="selects environment variables 'c'"):
        selected_entry(job, job.tasks[3])


def test_a_cluster_s_spark_env_vars_are_text() -> None:
    cluster = {"num_workers": 1, "spark_env_vars": {"PORT": 5432, "DEBUG": True, "NAME": "etl"}}
    assert cluster_variables(cluster) == {"PORT": "5432", "DEBUG": "true", "NAME": "etl"}
    assert cluster_variables({"num_workers": 1}) == {}
    assert merged_variables([cluster_variables(cluster), {"NAME": "file"}],
                            {"DEBUG": "false"}) == {"PORT": "5432", "DEBUG": "false",
                                                   "NAME": "file"}
