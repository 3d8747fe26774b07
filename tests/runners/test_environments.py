"""Task environments: real venvs, real pip from PyPI, real attempts.

The builds are shared by the module (`home`): two environments are built once, at the same
time, then reused by the later tests, which is itself what they check.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.executors.attempt_processes import LAUNCH
from tests.runners.task_attempts import attempt_context, log_of, result_of

from headwater.core.spec import PythonOperatorTask, SparkPythonTask, Task
from headwater.engine.cache_pruning import prune_caches
from headwater.entrypoints.environment import MARKER, summary_of
from headwater.errors import InvalidRequest
from headwater.executors import LocalExecutor
from headwater.ports import AttemptKey, LaunchSpec, TaskContext, TaskExit
from headwater.runners import OperatorRunner, ScriptRunner, runners_by_type
from headwater.runners.environments import (
    ENTRY_MODULE,
    Environments,
    environment_hash,
    environment_python,
)

NEW_SIX = {"dependencies": ["six==1.16.0"]}
OLD_SIX = {"dependencies": ["six==1.15.0"]}
BUILDING = "headwater: building environment"
PRINT_SIX = ("import six, sys\nfrom headwater.runtime import parameters\n"
             "print('six', six.__version__, 'in', sys.prefix)\n")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def script_task(key: str, environment_key: str | None) -> Task:
    return Task(task_key=key, environment_key=environment_key,
                spark_python_task=SparkPythonTask(python_file="print_six.py"))


def in_environment(workdir: Path, key: str, spec: Mapping[str, object] | None) -> TaskContext:
    context = attempt_context(workdir, key)  # creates the job directory
    (workdir / "print_six.py").write_text(PRINT_SIX)
    return dataclasses.replace(context, environment=spec)


def run_all(specs: list[LaunchSpec], timeout: float = 180.0) -> list[TaskExit]:
    """Launch every spec at once on a real LocalExecutor; their exits in launch order."""
    exits: dict[AttemptKey, TaskExit] = {}
    with LocalExecutor(launch=LAUNCH) as executor:
        for number, spec in enumerate(specs):
            executor.launch(AttemptKey(41, number), spec)
        while len(exits) < len(specs):
            for found in executor.wait(timeout):
                exits[found.key] = found
            assert executor.running() or len(exits) == len(specs), "an attempt was lost"
    return [exits[AttemptKey(41, number)] for number in range(len(specs))]


# --- the argv, without processes ------------------------------------------------------------


def test_a_task_without_environment_runs_in_headwater_interpreter(tmp_path: Path) -> None:
    context = in_environment(tmp_path, "plain", None)

    spec = ScriptRunner().launch_spec(script_task("plain", None), context)

    assert spec.argv[0] == sys.executable
    assert ENTRY_MODULE not in spec.argv


def test_a_task_with_environment_runs_through_env_main(tmp_path: Path, home: Path) -> None:
    context = in_environment(tmp_path, "new", NEW_SIX)

    spec = ScriptRunner(environments=Environments(home)).launch_spec(
        script_task("new", "new_six"), context)

    directory = home.absolute() / "envs" / environment_hash(NEW_SIX)
    assert list(spec.argv[:8]) == [
        sys.executable, "-m", ENTRY_MODULE, str(directory), "new_six",
        json.dumps(NEW_SIX, separators=(",", ":")), "--", str(environment_python(directory))]
    assert list(spec.argv[8:]) == ["-u", str(tmp_path / "print_six.py")]


def test_the_hash_is_canonical_and_follows_the_spec() -> None:
    reordered = {"environment_version": "2", "dependencies": ["six==1.16.0"]}
    assert environment_hash({"dependencies": ["six==1.16.0"], "environment_version": "2"}) \
        == environment_hash(reordered)
    assert environment_hash(NEW_SIX) != environment_hash(OLD_SIX)
    assert environment_hash(NEW_SIX, (3, 11)) != environment_hash(NEW_SIX, (3, 12))


def test_the_hash_follows_the_content_of_the_local_files_it_installs(tmp_path: Path) -> None:
    wheel, requirements = tmp_path / "dist" / "acme-0.1-py3-none-any.whl", tmp_path / "req.txt"
    wheel.parent.mkdir()
    spec = {"dependencies": [str(wheel), "-r req.txt", "six==1.16.0"]}
    environments = Environments(tmp_path / "home")

    def directory_with(wheel_text: str, requirements_text: str) -> Path:
        wheel.write_text(wheel_text)
        requirements.write_text(requirements_text)
        return environments.directory(spec, tmp_path)

    first = directory_with("v1", "six")
    # (sizes differ: two writes within a clock tick may share a modification time)
    assert directory_with("v2-rebuilt", "six") != first  # same name and version, new code
    assert directory_with("v1", "pyyaml") != first  # a requirements file changed
    assert directory_with("v1", "six") == first  # rewritten as it was: the same content
    assert environments.directory(NEW_SIX, tmp_path).name == environment_hash(NEW_SIX)


def test_without_home_environments_live_in_the_job_directory(tmp_path: Path) -> None:
    directory = Environments().directory(NEW_SIX, tmp_path)

    assert directory == tmp_path / ".headwater" / "envs" / environment_hash(NEW_SIX)


def test_the_registry_passes_home_to_the_python_runners(tmp_path: Path) -> None:
    runner = runners_by_type(home=tmp_path)["python_operator_task"]
    task = Task(task_key="op", environment_key="e",
                python_operator_task=PythonOperatorTask(main="json.dumps"))
    context = in_environment(tmp_path / "job", "op", NEW_SIX)

    spec = runner.launch_spec(task, context)

    assert spec.argv[3] == str(tmp_path.absolute() / "envs" / environment_hash(NEW_SIX))


@pytest.mark.parametrize("dependencies", [["six\n--index-url=http://evil"], "six", [3]])
def test_dependencies_must_be_requirement_lines(tmp_path: Path, dependencies: object) -> None:
    context = in_environment(tmp_path, "bad", {"dependencies": dependencies})

    with pytest.raises(InvalidRequest, match="environment 'e'"):
        OperatorRunner().launch_spec(
            Task(task_key="bad", environment_key="e",
                 python_operator_task=PythonOperatorTask(main="json.dumps")), context)


def test_the_error_summary_keeps_pip_error_lines() -> None:
    output = ("Looking in indexes: x\nERROR: Could not find a version that satisfies the "
              "requirement nope==1.0 (from versions: none)\n\nERROR: No matching distribution "
              "found for nope==1.0\n")

    assert summary_of(output) == (
        "ERROR: Could not find a version that satisfies the requirement nope==1.0 (from "
        "versions: none) ERROR: No matching distribution found for nope==1.0")
    assert summary_of("") == "no output"


# --- real builds ----------------------------------------------------------------------------


def test_two_environments_give_two_versions_of_one_package(tmp_path: Path, home: Path) -> None:
    # Given two tasks whose environments pin different versions of six
    runner = ScriptRunner(environments=Environments(home))
    new = in_environment(tmp_path / "a", "new", NEW_SIX)
    old = in_environment(tmp_path / "b", "old", OLD_SIX)

    # When both start at once
    exits = run_all([runner.launch_spec(script_task("new", "new_six"), new),
                     runner.launch_spec(script_task("old", "old_six"), old)])

    # Then each imports its own version, from its own venv, and headwater.runtime imports too
    assert [e.exit_code for e in exits] == [0, 0], log_of(new) + log_of(old)
    assert "six 1.16.0 in " + str(home.absolute() / "envs") in log_of(new)
    assert "six 1.15.0 in " + str(home.absolute() / "envs") in log_of(old)
    assert BUILDING in log_of(new) and BUILDING in log_of(old)
    assert isinstance(result_of(new)["setup_seconds"], float)


def test_an_environment_is_reused_not_rebuilt(tmp_path: Path, home: Path) -> None:
    # Given the environment the previous test built (built here if run alone)
    runner = ScriptRunner(environments=Environments(home))
    first = in_environment(tmp_path / "first", "first", NEW_SIX)
    assert run_all([runner.launch_spec(script_task("first", "new_six"), first)])[0].exit_code == 0
    marker = home / "envs" / environment_hash(NEW_SIX) / MARKER
    built = marker.stat().st_mtime_ns

    # When another attempt needs it
    again = in_environment(tmp_path / "again", "again", NEW_SIX)
    exit_ = run_all([runner.launch_spec(script_task("again", "new_six"), again)])[0]

    # Then it runs in it without a build: the marker is untouched, the log says no build
    assert exit_.exit_code == 0, log_of(again)
    assert "six 1.16.0" in log_of(again)
    assert BUILDING not in log_of(again)
    assert marker.stat().st_mtime_ns == built
    assert isinstance(result_of(again)["setup_seconds"], float)


def test_concurrent_attempts_build_an_environment_once_afresh(tmp_path: Path) -> None:
    # Given what an interrupted build left (no marker), and two attempts needing it
    runner = ScriptRunner(environments=Environments(tmp_path / "home"))
    leftover = tmp_path / "home" / "envs" / environment_hash(OLD_SIX) / "half-built"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("")
    contexts = [in_environment(tmp_path / key, key, OLD_SIX) for key in ("one", "two")]

    # When they start at the same moment
    exits = run_all([runner.launch_spec(script_task(c.task_key, "old_six"), c)
                     for c in contexts])

    # Then one built it while the other waited on the lock, and both ran in it
    logs = [log_of(c) for c in contexts]
    assert [e.exit_code for e in exits] == [0, 0], logs
    assert sum(BUILDING in log for log in logs) == 1, logs
    assert all("six 1.15.0" in log for log in logs)
    assert not leftover.exists()


def test_a_dependency_that_cannot_install_fails_the_task(tmp_path: Path) -> None:
    # Given an environment with a package that does not exist
    runner = ScriptRunner(environments=Environments(tmp_path / "home"))
    broken = {"dependencies": ["this-package-does-not-exist-hw==1.0"]}
    context = in_environment(tmp_path / "job", "broken", broken)

    # When the task starts
    exit_ = run_all([runner.launch_spec(script_task("broken", "broken_env"), context)])[0]

    # Then it fails before the script, naming the environment and pip's reason
    assert exit_.exit_code == 1
    error = result_of(context)["error"]
    assert error.startswith("environment 'broken_env' could not be built: ERROR: ")
    assert "this-package-does-not-exist-hw" in error
    assert "this-package-does-not-exist-hw" in log_of(context)  # pip's output, on stderr
    assert not re.search(r"^six \S+ in ", log_of(context), re.MULTILINE)  # never ran
    directory = tmp_path / "home" / "envs" / environment_hash(broken)
    assert not (directory / MARKER).exists()  # so the next attempt tries again


WAIT_FOR_GO = ("import pathlib, time\n"
               "pathlib.Path('started').write_text('')\n"
               "while not pathlib.Path('go').exists():\n"
               "    time.sleep(0.05)\n")


def test_an_environment_in_use_is_never_pruned_and_one_unused_is(tmp_path: Path) -> None:
    # Given an attempt running in an environment of its own (no dependencies: a bare venv)
    home = tmp_path / "home"
    bare: dict[str, object] = {"dependencies": []}
    context = in_environment(tmp_path / "job", "waits", bare)
    (tmp_path / "job" / "print_six.py").write_text(WAIT_FOR_GO)
    spec = ScriptRunner(environments=Environments(home)).launch_spec(
        script_task("waits", "bare"), context)
    directory = home.absolute() / "envs" / environment_hash(bare)
    with LocalExecutor(launch=LAUNCH) as executor:
        executor.launch(AttemptKey(41, 0), spec)
        try:
            deadline = time.monotonic() + 120
            while not (tmp_path / "job" / "started").exists():
                assert time.monotonic() < deadline, log_of(context)
                time.sleep(0.1)

            # When a prune counts every environment as unused, while the attempt runs
            later = datetime.now(UTC) + timedelta(days=1)
            assert prune_caches(home, later).folders == 0

            # Then it stays; and once the attempt ended, the next prune removes it
            assert (directory / MARKER).is_file()
        finally:  # the attempt ends whatever happened: no process outlives the test
            (tmp_path / "job" / "go").write_text("")
        exits: list[TaskExit] = []
        while not exits:
            exits = executor.wait(30)
    assert exits[0].exit_code == 0, log_of(context)
    assert prune_caches(home, later).folders == 1
    assert not directory.exists()
