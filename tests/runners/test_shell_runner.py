"""ShellRunner: `/bin/sh -c` with parameters in the environment, never in the command."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.executors.attempt_processes import LAUNCH

from headwater.core.spec import ShellCommandTask, SparkPythonTask, Task
from headwater.errors import InvalidRequest
from headwater.executors import LocalExecutor
from headwater.ports import AttemptKey, TaskExit
from headwater.runners import ShellRunner
from headwater.runners.environment import SHIMS, parameter_variable

PAYLOADS = [
    "$(touch pwned); rm -rf ~",
    "`touch pwned`",
    "x; touch pwned",
    "x\ntouch pwned",
    "a && touch pwned || touch pwned",
    "x | touch pwned",
    "it's \"unbalanced",
    "--output=/x",
    "*",
    "${HOME} $0 \\n %s",
    "ünïcødé ✓",
    "",
]


def shell_task(command: str, env: dict[str, str] | None = None) -> Task:
    settings = ShellCommandTask(command=command, env=env or {})
    return Task(task_key="load", shell_command_task=settings)


def test_argv_is_the_command_as_written(make_context) -> None:
    spec = ShellRunner().launch_spec(shell_task("echo hi"), make_context({"x": "; rm -rf /"}))

    assert list(spec.argv) == ["/bin/sh", "-c", "echo hi"]
    assert spec.cwd == make_context().workdir
    assert spec.log_path == make_context().log_path


def test_context_task_env_and_parameters_are_in_the_environment(make_context) -> None:
    task = shell_task("true", env={"MODE": "full", "HEADWATER_RUN_ID": "forged"})
    context = make_context({"table": "sales", "run-date": "2024-05-01"})

    env = ShellRunner().launch_spec(task, context).env

    assert env == {
        "MODE": "full",
        "HEADWATER_PARAM_TABLE": "sales",
        "HEADWATER_PARAM_RUN_DATE": "2024-05-01",
        "HEADWATER_RUN_ID": "41",  # the task's env cannot forge the context
        "HEADWATER_TASK_RUN_ID": "4102",
        "HEADWATER_TASK_KEY": "load",
        "HEADWATER_ATTEMPT": "2",
        "HEADWATER_JOB_ID": "7",
        "HEADWATER_JOB_NAME": "nightly etl",
        # a Python started by the task finds headwater's dbruntime (dbutils for the SDK)
        "PYTHONPATH": str(SHIMS),
    }


@pytest.mark.parametrize(
    ("name", "variable"),
    [("table", "HEADWATER_PARAM_TABLE"), ("run-date", "HEADWATER_PARAM_RUN_DATE"),
     ("a.b c", "HEADWATER_PARAM_A_B_C"), ("été", "HEADWATER_PARAM__T_"),
     ("9lives", "HEADWATER_PARAM_9LIVES")],
)
def test_parameter_variable_naming_rule(name: str, variable: str) -> None:
    assert parameter_variable(name) == variable


def test_parameters_mapping_to_one_variable_are_refused(make_context) -> None:
    context = make_context({"run-date": "a", "run_date": "b"})
    with pytest.raises(InvalidRequest, match=r"'run-date' and 'run_date'.*PARAM_RUN_DATE"):
        ShellRunner().launch_spec(shell_task("true"), context)


def test_a_nul_byte_in_a_parameter_is_refused(make_context) -> None:
    with pytest.raises(InvalidRequest, match=r"'load'.*HEADWATER_PARAM_X.*NUL"):
        ShellRunner().launch_spec(shell_task("true"), make_context({"x": "a\0b"}))


def test_a_bad_variable_name_in_the_task_env_is_refused(make_context) -> None:
    with pytest.raises(InvalidRequest, match="'A=B' is not a valid environment variable"):
        ShellRunner().launch_spec(shell_task("true", env={"A=B": "x"}), make_context())


def test_a_task_of_another_type_is_refused(make_context) -> None:
    task = Task(task_key="load", spark_python_task=SparkPythonTask(python_file="x.py"))
    with pytest.raises(InvalidRequest, match="'load' has no shell_command_task"):
        ShellRunner().launch_spec(task, make_context())


def test_injection_payloads_arrive_byte_for_byte_and_run_nothing(
    make_context, tmp_path: Path
) -> None:
    # Given a sandbox HOME with a canary, so that even a broken test could only hurt the sandbox
    home = tmp_path / "home"
    home.mkdir()
    (home / "canary").write_text("alive")
    parameters = {f"p{index}": payload for index, payload in enumerate(PAYLOADS)}
    command = "".join(
        f'printf "%s\\036" "${parameter_variable(name)}"; ' for name in parameters
    )
    task = shell_task(command, env={"HOME": str(home)})
    spec = ShellRunner().launch_spec(task, make_context(parameters))

    # When the task runs for real
    with LocalExecutor(launch=LAUNCH) as executor:
        executor.launch(AttemptKey(1, 1), spec)
        exits: list[TaskExit] = []
        deadline = time.monotonic() + 10
        while not exits and time.monotonic() < deadline:
            exits = executor.wait(1)

    # Then every value is echoed back byte-identical and no payload ran
    assert [(e.key, e.exit_code, e.signal) for e in exits] == [(AttemptKey(1, 1), 0, None)]
    assert spec.log_path.read_bytes().split(b"\x1e")[:-1] == [p.encode() for p in PAYLOADS]
    assert not list(tmp_path.rglob("pwned"))
    assert (home / "canary").read_text() == "alive"
