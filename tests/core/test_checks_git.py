"""Which tasks read from the job's Git repository, and the rules of `git_source`, checked at
validate: every problem at once, each where it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headwater.core.checks import check_job
from headwater.core.git_source import GitReference, reads_git, reference_of
from headwater.core.spec import GitSource, JobSettings

from .helpers import problems_of

SOURCE = {"git_url": "https://github.com/org/repo", "git_provider": "gitHub",
          "git_branch": "main"}


def job(*tasks: dict[str, Any], **fields: Any) -> JobSettings:
    return JobSettings.model_validate({"name": "j", "tasks": list(tasks), **fields})


def script(key: str, **fields: Any) -> dict[str, Any]:
    return {"task_key": key, "spark_python_task": {"python_file": "etl/a.py", **fields}}


@pytest.mark.parametrize(("source", "task", "expected"), [
    (SOURCE, script("t"), True),  # a job's git_source is the default of its code tasks
    (SOURCE, script("t", source="WORKSPACE"), False),
    (None, script("t"), False),
    (None, script("t", source="GIT"), True),  # (refused by the checks: no git_source)
    (SOURCE, {"task_key": "t", "sql_task": {"file": {"path": "q.sql"}, "warehouse_id": "w"}},
     True),
    (SOURCE, {"task_key": "t", "dbt_task": {"commands": ["dbt run"], "source": "WORKSPACE"}},
     False),
    (SOURCE, {"task_key": "t", "shell_command_task": {"command": "ls"}}, False),  # no code
    (SOURCE, {"task_key": "t", "sql_task": {"query": {"query_text": "select 1"},
                                            "warehouse_id": "w"}}, False),
])
def test_a_task_reads_git_when_it_says_so_or_its_job_has_a_git_source(
        source: dict[str, str] | None, task: dict[str, Any], expected: bool) -> None:
    settings = job(task, **({"git_source": source} if source else {}))
    assert reads_git(settings.tasks[0], settings) is expected


def test_the_reference_is_the_one_named() -> None:
    def of(**fields: str) -> GitReference | None:
        return reference_of(GitSource.model_validate({"git_url": "u", "git_provider": "gitHub",
                                                      **fields}))
    assert of(git_tag="v1") == GitReference("tag", "v1")
    assert str(of(git_commit="abc")) == "commit 'abc'"
    assert of() is None and of(git_branch="main", git_tag="v1") is None


def test_a_valid_git_job_has_no_problem() -> None:
    assert check_job(job(script("t"), script("u", source="WORKSPACE"), git_source={
        **SOURCE, "sparse_checkout": {"patterns": ["etl", "lib/common/"]}})) == []


def test_every_problem_of_a_git_source_is_reported_where_it_is_written(
        tmp_path: Path) -> None:
    problems = problems_of(tmp_path, """
        resources:
          jobs:
            etl:
              git_source:
                git_url: https://github.com/org/repo
                git_provider: gitHub
                git_branch: main
                git_commit: 0123abc
                sparse_checkout: {patterns: [etl, ../secrets, /abs]}
              tasks:
                - task_key: load
                  spark_python_task: {python_file: ../outside.py}
                - task_key: report
                  notebook_task: {notebook_path: /Workspace/Users/ann/report}
                - task_key: local
                  spark_python_task: {python_file: ../outside.py, source: WORKSPACE}
        """)
    found = {(p.where.rsplit("job.yml:", 1)[1], p.path): p.message for p in problems}
    assert set(found) == {
        ("5:9", "git_source"),
        ("9:43", "git_source.sparse_checkout.patterns[1]"),
        ("9:55", "git_source.sparse_checkout.patterns[2]"),
        ("12:44", "tasks[0].spark_python_task.python_file"),
        ("14:42", "tasks[1].notebook_task.notebook_path"),
        ("16:44", "tasks[2].spark_python_task.python_file"),
    }, found
    assert found["5:9", "git_source"].startswith(
        "name exactly one of git_branch, git_tag and git_commit (got git_branch, git_commit)")
    assert "is not a folder of the repository" in found[
        "9:43", "git_source.sparse_checkout.patterns[1]"]
    assert "paths start at the repository's root" in found[
        "12:44", "tasks[0].spark_python_task.python_file"]
    assert "paths start at the repository's root" in found[
        "14:42", "tasks[1].notebook_task.notebook_path"]
    assert "leaves the bundle's folder" in found[
        "16:44", "tasks[2].spark_python_task.python_file"]


def test_source_git_without_a_git_source_is_refused_at_the_source() -> None:
    (finding,) = check_job(job({"task_key": "t", "for_each_task": {"inputs": "[1]", "task": {
        "task_key": "inner", "notebook_task": {"notebook_path": "nb", "source": "GIT"}}}}))
    assert finding[0] == "tasks[0].for_each_task.task.notebook_task.source"
    assert "the job has no git_source: add git_source" in finding[1]


def test_a_git_source_without_a_reference_is_refused() -> None:
    (finding,) = check_job(job(script("t"), git_source={
        "git_url": "https://github.com/org/repo", "git_provider": "gitHub"}))
    assert finding == ("git_source", "name exactly one of git_branch, git_tag and git_commit: "
                                     "it is the version of the code every task of a run uses")


def test_a_url_that_git_would_read_as_an_option_is_refused() -> None:
    (finding,) = check_job(job(script("t"), git_source={
        **SOURCE, "git_url": "--upload-pack=touch /tmp/pwned"}))
    assert finding == ("git_source.git_url",
                       "give the repository's URL, e.g. https://github.com/org/repo")


def test_a_sql_file_read_from_git_in_a_bundle_keeps_its_path_as_written(
        tmp_path: Path) -> None:
    # A bundle's paths become this machine's, but not one read from Git: `sql/x.sql` is a
    # path in the repository, and only the missing git_source is a problem
    problems = problems_of(tmp_path, """
        resources:
          jobs:
            g:
              tasks:
                - task_key: s
                  sql_task: {warehouse_id: w, file: {path: sql/x.sql, source: GIT}}
        """)
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        ("tasks[0].sql_task.file.source",
         "this task reads its code from Git (source")]
