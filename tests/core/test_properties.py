"""Hypothesis properties over random DAGs: the invariants every run must keep."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.core.spec import RunIf
from headwater.core.states import ResultState
from headwater.testing import Script, replay, simulate

from .helpers import plan_of

RUN_IFS = [r.value for r in RunIf]
BAD = {ResultState.FAILED, ResultState.TIMEDOUT, ResultState.UPSTREAM_FAILED,
       ResultState.CANCELED, ResultState.UPSTREAM_CANCELED}


@st.composite
def jobs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Script]]:
    count = draw(st.integers(1, 60))
    tasks, scripts = [], {}
    for i in range(count):
        key = f"t{i}"
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        body: dict[str, Any] = {
            "task_key": key,
            "depends_on": [{"task_key": f"t{d}"} for d in deps],
            "run_if": draw(st.sampled_from(RUN_IFS)),
            "max_retries": draw(st.integers(0, 2)),
            "disabled": draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()),
            "shell_command_task": {"command": "true"},
        }
        tasks.append(body)
        outcomes = draw(st.lists(st.sampled_from(["ok", "fail"]), min_size=1, max_size=3))
        scripts[key] = Script(tuple(outcomes))
    return tasks, scripts


@settings(max_examples=200, deadline=None)
@given(jobs())
def test_random_runs_keep_the_invariants(job: tuple[list[dict[str, Any]], dict[str, Script]]) -> None:
    tasks, scripts = job
    plan = plan_of(*tasks)
    sim = simulate(plan, scripts)
    state = sim.state
    # Every task run reached exactly one terminal state, and so did the run.
    assert state.is_terminal
    assert all(run.is_terminal and run.result is not None for run in state.task_runs.values())
    # Attempts are bounded by max_retries + 1 and numbered from 0 without gaps.
    for key, task in plan.tasks.items():
        numbers = [a.attempt_number for a in state.attempts(key)]
        assert numbers == list(range(len(numbers)))
        assert len(numbers) <= task.retry.max_retries + 1
    # No task started before all its dependencies were terminal.
    for run in state.task_runs.values():
        if run.start_time is None:
            continue
        for dep in plan.tasks[run.task_key].depends_on:
            upstream = state.latest_run(dep.task_key)
            assert upstream is not None and upstream.end_time is not None
            assert upstream.end_time <= run.start_time
    # The run's result is the leaf rule.
    final = {key: state.latest_run(key).result for key in plan.order}  # type: ignore[union-attr]
    if any(final[key] in BAD for key in plan.leaves):
        expected = ResultState.FAILED
    elif any(result in BAD for result in final.values()):
        expected = ResultState.SUCCESS_WITH_FAILURES
    else:
        expected = ResultState.SUCCESS
    assert state.result is expected
    # Replaying the event log reproduces the snapshot.
    assert replay(plan, sim.events) == state
