"""`headwater runs logs --repair R --attempt A`: every attempt of every repair of a run keeps a
readable log, a for-each iteration's retries too, on this machine and through a server; `runs
get` names the repair of each attempt and how to read its log. Real runs, real processes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import Cli, write_job
from .test_client import client_env
from .test_run import run_id_of

# Prints "<name> try <n>", n counting the runs of <name>; fails until `fixed` exists, but "x".
COUNTED = """\
import pathlib, sys
state = pathlib.Path({state!r})
name = sys.argv[1]
count = state / (name + ".count")
tries = int(count.read_text()) if count.exists() else 0
count.write_text(str(tries + 1))
print(f"{{name}} try {{tries}}")
if name != "x" and not (state / "fixed").exists():
    raise SystemExit(1)
"""


def counted(script: Path, key: str, name: str) -> dict[str, object]:
    """A task running COUNTED for `name`, retried once."""
    return {"task_key": key, "max_retries": 1,
            "spark_python_task": {"python_file": str(script), "parameters": [name]}}


def repaired_twice(hw: Cli, tmp_path: Path, env: dict[str, str]) -> int:
    """A run where `b`, and iteration 1 ("y") of the for-each `loop`, failed both attempts,
    then failed both again in repair 1, and succeeded in repair 2; iteration 0 ("x")
    succeeded at once, so the repairs kept it. Its run id."""
    state = tmp_path / "state"
    state.mkdir()
    script = tmp_path / "counted.py"
    script.write_text(COUNTED.format(state=str(state)))
    loop = {"task_key": "loop", "for_each_task": {
        "inputs": '["x", "y"]', "task": counted(script, "item", "{{input}}")}}
    job = write_job(tmp_path / "job.json", [counted(script, "b", "b"), loop])
    run_id = run_id_of(hw("run", str(job), extra_env=env).stdout)
    hw("runs", "repair", str(run_id), "--all-failed", extra_env=env)
    (state / "fixed").touch()
    hw("runs", "repair", str(run_id), "--all-failed", extra_env=env, check=True)
    return run_id


@pytest.fixture(params=["local", "server"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The variables that point the CLI at its local state store, or at a server."""
    if request.param == "local":
        return {}
    server = request.getfixturevalue("server")
    return client_env(server, server.token("alice"))


def test_every_attempt_of_every_repair_has_its_log(hw: Cli, tmp_path: Path,
                                                   env: dict[str, str]) -> None:
    # Given a run repaired twice, with retries in the original run and in each repair
    run_id = repaired_twice(hw, tmp_path, env)

    def logs(*args: str) -> str:
        return hw("runs", "logs", str(run_id), *args, extra_env=env, check=True).stdout

    # Then --repair picks the repair, --attempt the attempt in it; each defaults to the latest
    assert logs("b", "--repair", "0", "--attempt", "0") == "b try 0\n"
    assert logs("b", "--repair", "1", "--attempt", "0") == "b try 2\n"
    assert logs("b", "--repair", "1") == "b try 3\n"
    assert logs("b", "--attempt", "0") == "b try 4\n"
    assert logs("b") == "b try 4\n"
    # and for an iteration, --attempt counts the iteration's own attempts, in each repair
    assert logs("loop", "--iteration", "1", "--repair", "0", "--attempt", "1") == "y try 1\n"
    assert logs("loop", "--iteration", "1", "--repair", "1", "--attempt", "0") == "y try 2\n"
    assert logs("loop", "--iteration", "1") == "y try 4\n"
    # an iteration a repair kept reads the log of the attempt that ran it
    assert logs("loop", "--iteration", "0", "--repair", "2") == "x try 0\n"
    # and --follow of an earlier repair prints its latest attempt and how it ended, and ends
    assert logs("b", "--repair", "0", "--follow") == (
        "b try 1\n--- attempt 1 ended FAILED: The task's process exited with code 1; its last "
        "output line: b try 1 ---\n")


def test_an_attempt_that_is_not_in_the_repair_is_refused_naming_those_that_are(
        hw: Cli, tmp_path: Path, env: dict[str, str]) -> None:
    run_id = repaired_twice(hw, tmp_path, env)

    # When attempt 1 is asked of `b`, which repair 2 ran once
    refused = hw("runs", "logs", str(run_id), "b", "--attempt", "1", extra_env=env)
    missing = hw("runs", "logs", str(run_id), "loop", "--iteration", "1", "--repair", "3",
                 extra_env=env)

    # Then the error says where the attempts are, and how to pick one
    assert refused.returncode == 1
    assert refused.stderr == (
        f"error: Task 'b' of run {run_id} has no attempt 1 in repair 2 (its latest); it has "
        "attempts 0-1 in repair 0 (the original run), attempts 0-1 in repair 1, attempt 0 in "
        "repair 2: pick one with --repair R --attempt A\n")
    assert missing.returncode == 1
    assert missing.stderr == (
        f"error: Iteration 1 of task 'loop' of run {run_id} has no attempt in repair 3; it has "
        "attempts 0-1 in repair 0 (the original run), attempts 0-1 in repair 1, attempt 0 in "
        "repair 2: pick one with --repair R --attempt A\n")


def test_runs_get_names_the_repair_of_each_attempt_and_how_to_read_its_log(
        hw: Cli, tmp_path: Path) -> None:
    run_id = repaired_twice(hw, tmp_path, {})

    shown = hw("runs", "get", str(run_id), check=True).stdout

    # Then each attempt of `b` says which repair ran it (none: the original run), and a line
    # says how to read any attempt's log
    rows = [line.split()[:5] for line in shown.splitlines() if line.startswith("  b ")]
    assert rows == [["b", "attempt", "0", "TERMINATED", "FAILED"],
                    ["b", "attempt", "1", "TERMINATED", "FAILED"],
                    ["b", "repair", "1", "attempt", "0"], ["b", "repair", "1", "attempt", "1"],
                    ["b", "repair", "2", "attempt", "0"]]
    assert (f"  The log of any attempt: headwater runs logs {run_id} TASK_KEY --repair R "
            "--attempt A  (R: 0 for the original run, the rows without a repair)") in shown
    # and the command shown for a failed iteration of the original run reads that one's log
    hints = re.findall(r"\(headwater (runs logs .*)\)$", shown, re.MULTILINE)
    assert hints == [f"runs logs {run_id} loop --iteration 1 --repair 0",
                     f"runs logs {run_id} loop --iteration 1 --repair 1"]
    assert hw(*hints[0].split(), check=True).stdout == "y try 1\n"
