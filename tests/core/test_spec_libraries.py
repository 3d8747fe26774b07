"""A task's `libraries`: their requirement lines, the environment they make, their checks."""

from __future__ import annotations

import pytest

from headwater.core.spec import Library, Task
from headwater.core.spec_libraries import (
    RUNTIME_BASE,
    library_problems,
    requirement_lines,
    with_libraries,
)
from headwater.entrypoints import environment
from tests.core.test_checks import findings, task


def libraries(*entries: dict[str, object]) -> list[Library]:
    return Task.model_validate({"task_key": "t", "libraries": list(entries)}).libraries


def test_python_libraries_are_requirement_lines_in_their_order() -> None:
    lines = requirement_lines(libraries(
        {"whl": "/b/dist/*.whl"},
        {"pypi": {"package": "pandas==2.2.2"}},
        {"jar": "/b/x.jar"},
        {"maven": {"coordinates": "org.example:thing:1.0"}},
        {"pypi": {"package": "private-lib", "repo": "https://pypi.example.com/simple"}},
        {"requirements": "/b/requirements.txt"},
        {"cran": {"package": "forecast"}},
        {"egg": "/b/x.egg"},
    ))

    # JVM, R and egg libraries are kept in the settings, not installed
    assert lines == ["/b/dist/*.whl", "pandas==2.2.2",
                     "--extra-index-url https://pypi.example.com/simple", "private-lib",
                     "-r /b/requirements.txt"]


def test_a_task_with_libraries_gets_an_environment_on_top_of_the_runtime() -> None:
    wheel = libraries({"whl": "/b/dist/*.whl"})

    assert with_libraries(None, wheel) == {"base": RUNTIME_BASE,
                                           "dependencies": ["/b/dist/*.whl"]}
    # a named environment gets the libraries added to its own dependencies, and stays clean
    named = {"client": "1", "dependencies": ["six"]}
    assert with_libraries(named, wheel) == {"client": "1",
                                            "dependencies": ["six", "/b/dist/*.whl"]}
    # nothing to install: the task runs as it would without libraries
    assert with_libraries(None, libraries({"jar": "/b/x.jar"})) is None
    assert with_libraries(named, []) is named


def test_the_child_names_the_runtime_base_as_the_core_does() -> None:
    assert environment.RUNTIME_BASE == RUNTIME_BASE


@pytest.mark.parametrize(("entry", "where", "message"), [
    ({"whl": "a.whl", "jar": "b.jar"}, "[0].jar", "a library is exactly one of pypi, whl, "
     "requirements, jar, egg, maven, cran, but this one sets whl, jar"),
    ({}, "[0]", "but this one sets none"),
    ({"pypi": {"package": "--index-url=http://elsewhere"}}, "[0].pypi.package",
     "is a pip option, not a library"),
    ({"whl": "a.whl\nsix"}, "[0].whl", "whl must be one non-empty line"),
    ({"requirements": " "}, "[0].requirements", "requirements must be one non-empty line"),
    ({"pypi": {"package": "x", "repo": "https://a\n--trusted-host evil"}}, "[0].pypi.repo",
     "repo must be one index URL"),
])
def test_an_entry_that_is_not_one_library_is_refused_where_it_is(
        entry: dict[str, object], where: str, message: str) -> None:
    [(found_where, found)] = list(library_problems(libraries(entry)))

    assert found_where == where and message in found


def test_the_job_checks_report_libraries_at_their_path_nested_tasks_too() -> None:
    loop = task("loop", for_each_task={"inputs": "[1]", "task": task(
        "inner", libraries=[{"pypi": {"package": "-e ."}}])})

    found = findings(task("a", libraries=[{"whl": "ok.whl"}, {}]), loop)

    assert [path for path, _ in found] == [
        "tasks[0].libraries[1]", "tasks[1].for_each_task.task.libraries[0].pypi.package"]
