"""A for-each's `stats.error_message_stats`, as Lakeflow's runs/get gives it: the three errors
its iterations failed with most, counted over each iteration's latest attempt. A real run."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of


def test_a_for_each_counts_its_iterations_most_common_errors(hw: Cli, tmp_path: Path) -> None:
    # Iterations 1..10 exit with their value modulo 5: 5 and 10 succeed; codes 1 to 4 fail
    # twice each, and only three are shown. Each failure is retried once and fails again:
    # only its latest attempt counts.
    loop = {"task_key": "loop", "for_each_task": {
        "inputs": json.dumps(list(range(1, 11))), "concurrency": 4,
        "task": {"task_key": "item", "max_retries": 1,
                 "shell_command_task": {"command": "exit $(( ITEM % 5 ))",
                                        "env": {"ITEM": "{{input}}"}}}}}
    job = write_job(tmp_path / "loop.json", [loop])

    result = hw("run", str(job))

    document = run_document(hw, run_id_of(result.stdout))
    stats = document["tasks"][0]["for_each_task"]["stats"]
    assert stats["task_run_stats"]["failed_iterations"] == 8
    assert stats["error_message_stats"] == [
        {"error_message": f"The task's process exited with code {code}.", "count": 2,
         "termination_category": "RUN_EXECUTION_ERROR"} for code in (1, 2, 3)]
