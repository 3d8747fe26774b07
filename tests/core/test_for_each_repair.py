"""A repair of a for-each whose iterations partly failed (issue 16; docs/semantics.md, "Repair"):
the iterations that succeeded are kept and only the others run again, unless the loop had
succeeded or its inputs changed."""

from __future__ import annotations

from datetime import timedelta

from headwater.core.events import (
    Command,
    ForEachStarted,
    RepairRequested,
    RunStarted,
    StartTask,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from headwater.core.machine import decide, initial_state
from headwater.core.runstate import RunState
from headwater.core.states import ResultState
from headwater.testing import T0

from .helpers import plan_of, task

INPUTS = '["a", "b", "c", "d"]'


def loop_job() -> RunState:
    inner = {"task_key": "item", "shell_command_task": {"command": "true"}}
    plan = plan_of({"task_key": "loop", "for_each_task": {"inputs": INPUTS, "concurrency": 4,
                                                           "task": inner}},
                   task("after", "loop"))
    return decide(initial_state(plan), RunStarted(T0)).state


def run_loop(state: RunState, inputs: str, failing: set[int], at: timedelta) -> tuple[
        RunState, list[int]]:
    """Start the latest run of the loop with `inputs` and end each iteration it starts (those
    in `failing` fail); the state and the indexes of the iterations that were started."""
    now = T0 + at
    decision = decide(state, ForEachStarted(now, state.latest["loop"], inputs))
    state, started = decision.state, _started(decision.state, decision.commands)
    for seq in started:
        state = decide(state, TaskStarted(now, seq, f"pid-{seq}")).state
    for seq in started:
        index = state.task_runs[seq].iteration
        ended = (TaskFailed(now, seq, f"no good: {index}", 1) if index in failing
                 else TaskSucceeded(now, seq, values=f'{{"index": {index}}}'))
        state = decide(state, ended).state
    return state, [state.task_runs[seq].iteration or 0 for seq in started]


def _started(state: RunState, commands: tuple[Command, ...]) -> list[int]:
    return [c.seq for c in commands if isinstance(c, StartTask)
            and state.task_runs[c.seq].parent_seq is not None]


def finish_after(state: RunState, at: timedelta) -> RunState:
    seq = state.latest["after"]
    state = decide(state, TaskStarted(T0 + at, seq, "pid")).state
    return decide(state, TaskSucceeded(T0 + at, seq)).state


def repair(state: RunState, number: int, *keys: str, dependents: bool = False) -> RunState:
    at = T0 + timedelta(hours=number)
    return decide(state, RepairRequested(at, 100 + number, 1, keys, dependents)).state


def failed_once() -> RunState:
    state, started = run_loop(loop_job(), INPUTS, failing={1, 3}, at=timedelta(0))
    assert started == [0, 1, 2, 3]
    assert state.result is ResultState.FAILED
    return state


def test_a_repair_reruns_only_the_iterations_that_failed() -> None:
    state = repair(failed_once(), 1, "loop")

    state, started = run_loop(state, INPUTS, failing=set(), at=timedelta(hours=1))
    state = finish_after(state, timedelta(hours=1))

    assert started == [1, 3]
    loop = state.latest_run("loop")
    assert loop is not None and loop.repair == 1 and loop.result is ResultState.SUCCESS
    assert loop.loop is not None and (loop.loop.total, loop.loop.done, loop.loop.failed) == (4, 4, 0)
    by_index = {r.iteration: r for r in state.iterations(loop.seq)}
    assert sorted(by_index) == [0, 1, 2, 3]
    kept = [by_index[0], by_index[2]]
    # a kept iteration is the earlier attempt's record: its repair number (so its log and
    # output are found), its values, and a message that says why it did not run
    assert [(r.result, r.repair, r.values, r.start_time) for r in kept] == [
        (ResultState.SUCCESS, 0, '{"index": 0}', None),
        (ResultState.SUCCESS, 0, '{"index": 2}', None)]
    assert kept[0].message == ("Kept: it succeeded before repair 1 with the same input, so the "
                               "repair did not rerun it.")
    assert [by_index[i].repair for i in (1, 3)] == [1, 1]
    assert state.result is ResultState.SUCCESS


def test_a_second_repair_keeps_what_the_first_kept_and_what_it_fixed() -> None:
    state = repair(failed_once(), 1, "loop")
    state, started = run_loop(state, INPUTS, failing={3}, at=timedelta(hours=1))
    assert started == [1, 3] and state.result is ResultState.FAILED

    state = repair(state, 2, "loop")
    state, started = run_loop(state, INPUTS, failing=set(), at=timedelta(hours=2))

    assert started == [3]
    loop = state.latest_run("loop")
    assert loop is not None and loop.result is ResultState.SUCCESS
    assert [r.repair for r in state.iterations(loop.seq)] == [0, 1, 0, 2]


def test_changed_inputs_run_every_iteration_again() -> None:
    state = repair(failed_once(), 1, "loop")

    state, started = run_loop(state, '["a", "b", "c", "e"]', failing=set(), at=timedelta(hours=1))

    assert started == [0, 1, 2, 3]


def test_a_loop_that_succeeded_runs_every_iteration_when_it_is_rerun() -> None:
    state, _ = run_loop(loop_job(), INPUTS, failing=set(), at=timedelta(0))
    state = finish_after(state, timedelta(seconds=1))
    assert state.result is ResultState.SUCCESS

    state = repair(state, 1, "loop")
    state, started = run_loop(state, INPUTS, failing=set(), at=timedelta(hours=1))

    assert started == [0, 1, 2, 3]
