"""A real run: a task whose reference cannot be resolved fails to start once, is not retried
(a retry would resolve it the same way), and says so; a task that fails while running is
still retried beside it."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli, write_job
from .test_run import run_id_of

NOT_RETRIED = ("(not retried: a reference resolves the same way on every attempt of a run, so "
               "a retry would fail alike; correct it, then repair the run)")


def test_an_unset_task_value_fails_the_task_once(hw: Cli, tmp_path: Path) -> None:
    # Given b reading a value that a never sets, and c failing while it runs; one retry each
    write_job(tmp_path / "job.json", [
        {"task_key": "a", "shell_command_task": {"command": "true"}},
        {"task_key": "b", "depends_on": [{"task_key": "a"}], "max_retries": 1,
         "shell_command_task": {"command": 'echo "$X"', "env": {"X": "{{tasks.a.values.x}}"}}},
        {"task_key": "c", "depends_on": [{"task_key": "a"}], "max_retries": 1,
         "shell_command_task": {"command": "exit 3"}},
    ])

    # When the job runs
    result = hw("run", "job.json")

    # Then b has one attempt, whose message says why there was no retry; c was retried
    assert result.returncode == 1, result.stdout + result.stderr
    shown = hw("runs", "get", str(run_id_of(result.stdout)), "--json", check=True).stdout
    attempts = [(t["task_key"], t["attempt_number"], t["state"]["state_message"])
                for t in json.loads(shown)["tasks"]]
    assert [(key, number) for key, number, _ in attempts] == [
        ("a", 0), ("b", 0), ("c", 0), ("c", 1)]
    assert attempts[1][2] == ("The task could not start: {{tasks.a.values.x}}: task 'a' has not "
                              f"set a value named 'x' {NOT_RETRIED}")
    assert NOT_RETRIED not in attempts[3][2]
