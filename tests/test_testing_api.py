"""`headwater.testing`'s public what-if API, as a team's own test suite uses it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import headwater.testing
from headwater.errors import SpecError
from headwater.testing import ScenarioError, simulate_failures, simulate_job

BODY = {"name": "orders", "tasks": [
    {"task_key": "load", "shell_command_task": {"command": "true"}, "max_retries": 1},
    {"task_key": "gate", "depends_on": [{"task_key": "load"}],
     "condition_task": {"op": "EQUAL_TO", "left": "{{tasks.load.values.ok}}", "right": "1"}},
    {"task_key": "publish", "depends_on": [{"task_key": "gate", "outcome": "true"}],
     "shell_command_task": {"command": "true"}},
    {"task_key": "each", "depends_on": [{"task_key": "load"}], "for_each_task": {
        "inputs": "[1, 2, 3]", "task": {"task_key": "one", "shell_command_task": {
            "command": "true"}}}}]}
BUNDLE = """
resources:
  jobs:
    first: {name: first, tasks: [{task_key: a, shell_command_task: {command: "true"}}]}
    second: {name: second, tasks: [{task_key: b, shell_command_task: {command: "true"}}]}
"""


def test_the_public_names_are_pinned() -> None:
    assert {"simulate_job", "simulate_failures", "SimulatedRun", "SimulatedTask",
            "SimulatedAttempt", "SimulatedAlert", "Assumption", "FailureCase", "Scenario",
            "ScenarioError"} <= set(headwater.testing.__all__)
    assert all(hasattr(headwater.testing, name) for name in headwater.testing.__all__)


def test_a_job_body_a_file_and_friendly_arguments(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(BODY))

    from_file = simulate_job(path, fail={"load": 1}, outcomes={"gate": "false"},
                             fail_iterations={"each": [0, 2]}, durations={"publish": 5})
    from_body = simulate_job(BODY, fail={"load": 1}, outcomes={"gate": False},
                             fail_iterations={"each": [0, 2]}, durations={"publish": 5})

    assert from_file == from_body
    assert [a.result_state for a in from_file.task("load").attempts] == ["FAILED", "SUCCESS"]
    assert from_file.task("publish").result_state == "EXCLUDED"
    assert from_file.task("each").state_message == (
        "2 of 3 iterations failed: iteration 0 (input 1): The task's process exited with code 1; "
        "iteration 2 (input 3): The task's process exited with code 1.")
    assert from_file.wall_time == timedelta(0)


def test_a_bundle_with_several_jobs_needs_a_job_name(tmp_path: Path) -> None:
    path = tmp_path / "databricks.yml"
    path.write_text(BUNDLE)

    with pytest.raises(ValueError, match=r"2 jobs, not one \(its jobs: first, second\)"):
        simulate_job(path)
    assert simulate_job(path, job_name="second").tasks[0].task_key == "b"


def test_mistakes_are_reported_clearly() -> None:
    with pytest.raises(ScenarioError, match=r"no task 'lod' in the job \(did you mean 'load'"):
        simulate_job(BODY, fail=["lod"])
    with pytest.raises(ValueError, match="outcomes\\['gate'\\]: 'yes' is not a branch"):
        simulate_job(BODY, outcomes={"gate": "yes"})
    with pytest.raises(SpecError, match="tasks"):
        simulate_job({"name": "x", "tasks": [{"task_key": "a"}]})
    with pytest.raises(KeyError, match=r"no task 'publsh' in job 'orders' \(did you mean"):
        simulate_job(BODY).task("publsh")


def test_every_failure_in_turn() -> None:
    cases = {case.task_key: case for case in simulate_failures(BODY)}

    assert cases["load"].attempts == 2
    assert cases["load"].not_run == ("gate", "each", "publish")  # in the plan's order
    assert not cases["load"].handled  # no alerts and no handler in this job
