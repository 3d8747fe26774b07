"""The what-if simulation against real runs: for random small jobs and random scripted
outcomes, `simulate_run` and a real run (the engine in this process, real shell processes,
the real SQLite store) end every task, attempt and iteration in the same state with the same
message, and the run alike.

Each task's shell command does what the scenario says of its attempt, by `$HEADWATER_ATTEMPT`
(and `$ITEM`, an iteration's element): `exit 1` for a failure, `sleep` past a one-second
timeout for a hang. Conditions compare literals, a job parameter or an upstream task's
`result_state`, as the engine resolves them.

CI runs a modest sample (`HEADWATER_SIMULATION_EXAMPLES`, 12 by default); `make
test-simulation` runs 150.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.bootstrap import App, application
from headwater.config import Settings
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.whatif import simulate_run
from headwater.core.whatif_results import SimulatedRun
from headwater.core.whatif_scenario import Scenario

EXAMPLES = int(os.environ.get("HEADWATER_SIMULATION_EXAMPLES", "12"))
RUN_IFS = ["ALL_SUCCESS", "ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE",
           "AT_LEAST_ONE_FAILED", "ALL_FAILED"]
HANG = "exec sleep 30"


@dataclass
class Example:
    """A job and what goes wrong in it, as settings and as a scenario."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, int | None] = field(default_factory=dict)
    timeout: dict[str, int | None] = field(default_factory=dict)
    fail_iterations: dict[str, dict[int, int | None]] = field(default_factory=dict)

    def settings(self) -> JobSettings:
        return JobSettings.model_validate({
            "name": "property", "tasks": self.tasks, "max_concurrent_runs": 100,
            "parameters": [{"name": "mode", "default": "a"}]})

    def scenario(self) -> Scenario:
        return Scenario(fail=self.fail, timeout=self.timeout,
                        fail_iterations=self.fail_iterations)


def command(trouble: str | None, count: int | None) -> str:
    """What a shell attempt does: fail (exit 1) or hang for its first `count` attempts."""
    if trouble is None:
        return "true"
    action = "exit 1" if trouble == "fail" else HANG
    return action if count is None else f'[ "$HEADWATER_ATTEMPT" -ge {count} ] || {action}'


@st.composite
def examples(draw: st.DrawFn) -> Example:
    example = Example()
    conditions: list[str] = []
    hung = False
    for index in range(draw(st.integers(1, 5))):
        key = f"t{index}"
        deps = draw(st.lists(st.integers(0, index - 1), max_size=2, unique=True)) if index else []
        depends = [{"task_key": f"t{d}", **({"outcome": draw(st.sampled_from(["true", "false"]))}
                                            if f"t{d}" in conditions and draw(st.booleans())
                                            else {})} for d in deps]
        body: dict[str, Any] = {"task_key": key, "depends_on": depends,
                                "run_if": draw(st.sampled_from(RUN_IFS))}
        kind = draw(st.sampled_from(["shell"] * 5 + ["condition", "loop"]))
        if kind == "condition":
            body["condition_task"] = draw(_conditions(deps))
            conditions.append(key)
        elif kind == "loop":
            body["for_each_task"] = _loop(draw, example, key)
        elif draw(st.integers(0, 9)) == 0:
            body.update(disabled=True, shell_command_task={"command": "true"})
        else:
            hung = _shell(draw, example, body, hang=not hung) or hung
        example.tasks.append(body)
    return example


def _conditions(deps: list[int]) -> st.SearchStrategy[dict[str, str]]:
    literal = st.fixed_dictionaries({"op": st.just("EQUAL_TO"), "left": st.sampled_from("ab"),
                                     "right": st.sampled_from("ab")})
    parameter = st.fixed_dictionaries({"op": st.just("NOT_EQUAL"),
                                       "left": st.just("{{job.parameters.mode}}"),
                                       "right": st.sampled_from("ab")})
    broken = st.just({"op": "GREATER_THAN", "left": "many", "right": "3"})
    choices = [literal, parameter, broken]
    if deps:
        choices.append(st.fixed_dictionaries({
            "op": st.just("EQUAL_TO"),
            "left": st.sampled_from([f"{{{{tasks.t{d}.result_state}}}}" for d in deps]),
            "right": st.sampled_from(["success", "failed", "upstream_failed", "excluded"])}))
    return st.one_of(*choices)


def _troubles(draw: st.DrawFn) -> tuple[str | None, int | None]:
    trouble = draw(st.sampled_from([None, None, "fail"]))
    count = draw(st.sampled_from([None, 1, 2])) if trouble else None
    return trouble, count


def _shell(draw: st.DrawFn, example: Example, body: dict[str, Any], hang: bool) -> bool:
    """A shell task; at most one per job hangs (a real timeout costs a real second)."""
    key = body["task_key"]
    body["max_retries"] = draw(st.integers(0, 2))
    trouble, count = _troubles(draw)
    if hang and draw(st.integers(0, 5)) == 0:
        trouble, body["timeout_seconds"] = "hang", 1
        body["retry_on_timeout"] = draw(st.booleans())
        body["max_retries"] = min(body["max_retries"], 1)
    body["shell_command_task"] = {"command": command(trouble, count)}
    if trouble == "fail":
        example.fail[key] = count
    elif trouble == "hang":
        example.timeout[key] = count
    return trouble == "hang"


def _loop(draw: st.DrawFn, example: Example, key: str) -> dict[str, Any]:
    """A for-each over 1-3 literal items; some iterations fail their first attempts."""
    items = draw(st.integers(1, 3))
    failing = draw(st.dictionaries(st.integers(0, items - 1), st.sampled_from([None, 1]),
                                   max_size=items))
    cases = " ".join(f"{i}) {command('fail', count)};;" for i, count in failing.items())
    if failing:
        example.fail_iterations[key] = failing
    return {"inputs": str([str(i) for i in range(items)]).replace("'", '"'),
            "concurrency": draw(st.integers(1, 2)),
            "task": {"task_key": f"{key}_item", "max_retries": draw(st.integers(0, 1)),
                     "shell_command_task": {"command": f'case "$ITEM" in {cases} *) true;; esac'
                                            if failing else "true",
                                            "env": {"ITEM": "{{input}}"}}}}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    home = tmp_path / ".headwater"
    config = Settings(home=home, db_url=f"sqlite:///{home / 'headwater.db'}", max_parallel=8,
                      user="ann")
    home.mkdir()
    with application(config) as found:
        yield found


def real_run(app: App, workdir: Path, settings: JobSettings) -> RunState:
    job = app.service.create_job(settings)
    created = app.service.start_run(job, {}, workdir, owner=app.engine_name,
                                    lease_seconds=app.settings.lease_seconds)
    with app.engine(only={created.run_id}, deliver_alerts=False) as engine:
        engine.hold(created.run_id, created.fence)
        return engine.drive(created.run_id)


def seen_in_run(state: RunState) -> dict[str, Any]:
    """Every task's attempts and iterations (state, result, message), and the run's."""
    tasks = {}
    for key in state.plan.order:
        attempts = state.attempts(key)
        iterations = [r for a in attempts for r in state.iterations(a.seq)]
        tasks[key] = [(r.iteration, r.attempt_number, str(r.life_cycle), str(r.result),
                       r.message, r.start_time is not None) for r in [*attempts, *iterations]]
    return {"run": (str(state.life_cycle), str(state.result), state.message), "tasks": tasks}


def seen_in_simulation(run: SimulatedRun) -> dict[str, Any]:
    return {"run": (str(run.life_cycle_state), str(run.result_state), run.state_message),
            "tasks": {task.task_key: [(a.iteration, a.attempt_number, str(a.life_cycle_state),
                                       str(a.result_state), a.state_message, a.ran)
                                      for a in [*task.attempts, *task.iterations]]
                      for task in run.tasks}}


def test_the_simulation_ends_every_task_as_a_real_run_does(app: App, tmp_path: Path) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(examples())
    def check(example: Example) -> None:
        settings_ = example.settings()
        simulated = simulate_run(settings_, example.scenario())
        assert simulated.assumptions == ()  # every operand is known before the run
        real = real_run(app, tmp_path, settings_)
        assert seen_in_simulation(simulated) == seen_in_run(real), example

    check()


def test_a_reader_of_a_task_that_did_not_run_fails_in_the_simulation_as_in_a_run(
        app: App, tmp_path: Path) -> None:
    shell = {"shell_command_task": {"command": "true"}}
    settings_ = JobSettings.model_validate({"name": "reads", "tasks": [
        {"task_key": "gate", "condition_task": {"op": "EQUAL_TO",
                                                "left": "{{job.parameters.go}}", "right": "y"}},
        {"task_key": "branch", "depends_on": [{"task_key": "gate", "outcome": "true"}], **shell},
        {"task_key": "upstream_failed", "max_retries": 0,
         "shell_command_task": {"command": "exit 1"}},
        {"task_key": "reader", "run_if": "ALL_DONE",
         "depends_on": [{"task_key": "branch"}, {"task_key": "upstream_failed"}],
         "notebook_task": {"notebook_path": "nb.py",
                           "base_parameters": {"v": "{{tasks.branch.values.v}}"}}}],
        "parameters": [{"name": "go", "default": "n"}]})

    simulated = simulate_run(settings_, Scenario(fail={"upstream_failed": None}))
    real = real_run(app, tmp_path, settings_)

    assert seen_in_simulation(simulated) == seen_in_run(real)
    [reader] = real.attempts("reader")
    assert "task 'branch' ended EXCLUDED without running" in (reader.message or "")
