"""ScriptRunner: the interpreter, the file resolved in the job directory, argv byte for byte."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from tests.executors.attempt_processes import LAUNCH

from headwater.core.spec import ShellCommandTask, SparkPythonTask, Task
from headwater.errors import InvalidRequest
from headwater.executors import LocalExecutor
from headwater.ports import AttemptKey, TaskExit
from headwater.runners import ScriptRunner

ECHO_ARGV = "import json, sys\nprint(json.dumps(sys.argv[1:]))\n"
ARGUMENTS = ["plain", "a b", "", "$(touch pwned)", "`touch pwned`", "; touch pwned",
             "x\ntouch pwned", "--output=/x", "-c", "*", "it's \"quoted\"", "ünï ✓"]


def script_task(python_file: str, parameters: list[str] | None = None) -> Task:
    settings = SparkPythonTask(python_file=python_file, parameters=parameters or [])
    return Task(task_key="train", spark_python_task=settings)


def test_argv_is_interpreter_file_then_parameters(make_context, tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "train.py").write_text(ECHO_ARGV)

    spec = ScriptRunner().launch_spec(script_task("jobs/train.py", ["--x", "1"]), make_context())

    script = str(tmp_path / "jobs" / "train.py")
    assert list(spec.argv) == [sys.executable, "-u", script, "--x", "1"]
    assert spec.cwd == tmp_path / "jobs"  # the script runs in its own folder, as on Databricks
    assert spec.env["HEADWATER_TASK_KEY"] == "load"


def test_parameters_arrive_byte_for_byte(make_context, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(ECHO_ARGV)
    spec = ScriptRunner().launch_spec(script_task("train.py", ARGUMENTS), make_context())

    with LocalExecutor(launch=LAUNCH) as executor:
        executor.launch(AttemptKey(1, 1), spec)
        exits: list[TaskExit] = []
        deadline = time.monotonic() + 10
        while not exits and time.monotonic() < deadline:
            exits = executor.wait(1)

    assert [(e.key, e.exit_code, e.signal) for e in exits] == [(AttemptKey(1, 1), 0, None)]
    assert json.loads(spec.log_path.read_text()) == ARGUMENTS
    assert not list(tmp_path.rglob("pwned"))


def test_a_missing_file_is_refused_naming_the_task_and_path(make_context, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as caught:
        ScriptRunner().launch_spec(script_task("missing.py"), make_context())

    message = str(caught.value)
    assert "'train'" in message and "'missing.py'" in message
    assert str(tmp_path / "missing.py") in message


@pytest.mark.parametrize("escape", ["../outside.py", "sub/../../outside.py"])
def test_a_relative_path_leaving_the_job_directory_is_refused(
    make_context, tmp_path: Path, escape: str
) -> None:
    # Given a file that exists, but outside the job directory
    workdir = tmp_path / "job"
    (workdir / "sub").mkdir(parents=True)
    (tmp_path / "outside.py").write_text(ECHO_ARGV)

    with pytest.raises(InvalidRequest, match="leaves the job directory"):
        ScriptRunner().launch_spec(script_task(escape), make_context(workdir=workdir))


def test_dot_dot_that_stays_inside_is_accepted(make_context, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "train.py").write_text(ECHO_ARGV)

    spec = ScriptRunner().launch_spec(script_task("sub/../train.py"), make_context())

    assert spec.argv[2] == str(tmp_path / "train.py")


def test_an_absolute_path_may_live_elsewhere(make_context, tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared" / "tool.py"
    elsewhere.parent.mkdir()
    elsewhere.write_text(ECHO_ARGV)
    workdir = tmp_path / "job"
    workdir.mkdir()

    spec = ScriptRunner().launch_spec(script_task(str(elsewhere)), make_context(workdir=workdir))

    assert spec.argv[2] == str(elsewhere)


def test_the_interpreter_can_be_chosen(make_context, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(ECHO_ARGV)
    spec = ScriptRunner(python="/opt/py/bin/python").launch_spec(script_task("train.py"),
                                                               make_context())
    assert spec.argv[0] == "/opt/py/bin/python"


def test_a_task_of_another_type_is_refused(make_context) -> None:
    task = Task(task_key="train", shell_command_task=ShellCommandTask(command="true"))
    with pytest.raises(InvalidRequest, match="'train' has no spark_python_task"):
        ScriptRunner().launch_spec(task, make_context())
