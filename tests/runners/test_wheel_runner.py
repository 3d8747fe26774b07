"""WheelRunner against real child processes and a real installed distribution: a tiny wheel,
zipped here by hand (the environment has no `wheel` package to build one, and needs none),
installed by pip into a directory of its own (`pip install --target`) and found through
PYTHONPATH, so the test depends on no package of the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from task_attempts import attempt_context, log_of, result_of, run_attempt
from tests.wheels import build_tiny_wheel

from headwater.core.spec import PythonWheelTask, Task
from headwater.runners import WheelRunner


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_wheel(tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("site"))


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(site))  # the executor passes its environment on
    return site


def wheel_task(entry_point: str, parameters: list[str] | None = None,
               named: dict[str, str] | None = None, package: str = "hw-tiny") -> Task:
    settings = PythonWheelTask(package_name=package, entry_point=entry_point,
                               parameters=parameters or [], named_parameters=named or {})
    return Task(task_key="report", python_wheel_task=settings)


def test_a_console_script_gets_parameters_then_named_parameters(installed: Path,
                                                                tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    task = wheel_task("tiny-report", ["a b", "$(touch pwned)"], {"day": "2024-01-02"})

    exit_ = run_attempt(WheelRunner().launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert 'ARGV=["a b", "$(touch pwned)", "--day=2024-01-02"]' in log_of(context)
    assert not list(tmp_path.rglob("pwned"))


def test_an_entry_point_of_another_group_and_its_failure(installed: Path,
                                                         tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")

    exit_ = run_attempt(WheelRunner().launch_spec(wheel_task("fail", ["sales"]), context))

    assert exit_.exit_code == 1
    assert result_of(context)["error"] == "ValueError: no data for sales"
    assert "hw_tiny.py" in result_of(context)["error_trace"]


def test_a_function_of_the_package_is_called_when_no_entry_point_has_the_name(
        installed: Path, tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")

    exit_ = run_attempt(WheelRunner().launch_spec(wheel_task("direct"), context))

    assert exit_.exit_code == 3  # the returned int is the exit code
    assert "direct call" in log_of(context)


def test_a_missing_entry_point_lists_those_that_exist(installed: Path, tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")

    assert run_attempt(WheelRunner().launch_spec(wheel_task("nope"), context)).exit_code == 1

    assert result_of(context)["error"] == (
        "LookupFailed: package 'hw-tiny' has no entry point 'nope' and hw_tiny.nope is not a "
        "function; its entry points: console_scripts:tiny-report, headwater.tasks:fail")


def test_a_package_that_is_not_installed_is_named(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")

    assert run_attempt(WheelRunner().launch_spec(wheel_task("main", package="hw-absent"),
                                                 context)).exit_code == 1
    assert result_of(context)["error"].startswith(
        "LookupFailed: package 'hw-absent' is not installed")
