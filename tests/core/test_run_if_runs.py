"""The run_if and disabled tables again, this time as whole runs: every row builds a job whose
upstream tasks really end in the row's states, and the test asserts the exact terminal state
of the task and the run's legacy `state` and newer `status`."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.spec import RunIf
from headwater.core.states import (
    LifeCycleState,
    ResultState,
    StatusState,
    TerminationCode,
    status_of,
)
from headwater.testing import Script, simulate

from .helpers import plan_of, task
from .test_conditions import RUN_IF_TABLE

CANCEL_FREE = [row for row in RUN_IF_TABLE
               if not {ResultState.CANCELED, ResultState.UPSTREAM_CANCELED} & set(row[1])]
BAD = {ResultState.FAILED, ResultState.TIMEDOUT, ResultState.UPSTREAM_FAILED}


def producer(index: int, result: ResultState) -> tuple[list[dict[str, Any]], dict[str, Script]]:
    """Tasks whose last one, `u<index>`, ends in `result`."""
    key = f"u{index}"
    if result is ResultState.SUCCESS:
        return [task(key)], {}
    if result is ResultState.FAILED:
        return [task(key)], {key: Script(("fail",))}
    if result is ResultState.TIMEDOUT:
        return [task(key, timeout_seconds=1)], {key: Script(("hang",))}
    if result is ResultState.DISABLED:
        return [task(key, disabled=True)], {}
    if result is ResultState.UPSTREAM_FAILED:
        return [task(f"p{index}"), task(key, f"p{index}")], {f"p{index}": Script(("fail",))}
    if result is ResultState.EXCLUDED:  # on the branch a condition did not take
        gate = {"task_key": f"c{index}", "condition_task": {"op": "EQUAL_TO", "left": "a",
                                                            "right": "b"}}
        return [gate, task(key, f"c{index}:true")], {}
    raise AssertionError(result)


@pytest.mark.parametrize(("run_if", "upstream", "expected"), CANCEL_FREE)
def test_each_row_as_a_run(run_if: RunIf, upstream: list[ResultState],
                           expected: ResultState | None) -> None:
    tasks: list[dict[str, Any]] = []
    scripts: dict[str, Script] = {}
    for index, result in enumerate(upstream):
        more, more_scripts = producer(index, result)
        tasks += more
        scripts |= more_scripts
    deps = [f"u{i}" for i in range(len(upstream))]
    sim = simulate(plan_of(*tasks, task("t", *deps, run_if=run_if.value)), scripts)
    state = sim.state
    # The upstream tasks ended as the row says, and the task as the table says
    assert [state.latest_run(d).result for d in deps] == upstream  # type: ignore[union-attr]
    final = state.latest_run("t")
    assert final is not None and final.life_cycle is LifeCycleState.TERMINATED
    assert final.result is (ResultState.SUCCESS if expected is None else expected)
    # And the run ended by the leaf rule, in both shapes
    failed = any(r in BAD for r in upstream)
    if final.result in BAD:
        assert (state.life_cycle, state.result) == (LifeCycleState.INTERNAL_ERROR,
                                                    ResultState.FAILED)
        assert state.message.startswith("Task ")
    elif failed:
        assert (state.life_cycle, state.result) == (LifeCycleState.TERMINATED,
                                                    ResultState.SUCCESS_WITH_FAILURES)
    else:
        assert (state.life_cycle, state.result) == (LifeCycleState.TERMINATED,
                                                    ResultState.SUCCESS)
    status = status_of(state.life_cycle, state.result, state.message)
    assert status.state is StatusState.TERMINATED
    expected_code = {ResultState.FAILED: TerminationCode.RUN_EXECUTION_ERROR,
                     ResultState.SUCCESS_WITH_FAILURES: TerminationCode.SUCCESS_WITH_FAILURES,
                     ResultState.SUCCESS: TerminationCode.SUCCESS}[state.result]
    assert status.code is expected_code


@pytest.mark.parametrize("run_if", [RunIf.ALL_DONE, RunIf.ALL_SUCCESS, RunIf.NONE_FAILED])
def test_a_task_whose_dependencies_were_all_excluded_says_so(run_if: RunIf) -> None:
    # Given `after` depends only on `alert`, which nothing failing excludes
    plan = plan_of(task("load"), task("alert", "load", run_if="AT_LEAST_ONE_FAILED"),
                   task("after", "alert", run_if=run_if.value))

    # When the run ends
    state = simulate(plan, {}).state

    # Then `after` is excluded for that reason, not for a run_if that was met
    after = state.latest_run("after")
    assert after is not None and after.result is ResultState.EXCLUDED
    assert after.message == "Task was excluded: all its dependencies were excluded."
