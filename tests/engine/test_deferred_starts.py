"""A decision may wait for its run's next write (see `RunDriver.apply`): the attempts that
ended in one turn of the loop are one transaction, stored before anything they lead to is
launched; a quick task's start and end become one transaction, a start is stored within the
window, and a start lost with its engine is re-issued without launching the attempt again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from engine_world import World, step_until

from headwater.core.events import TaskStarted, TaskSucceeded
from headwater.core.runstate import RunState
from headwater.core.states import LifeCycleState
from headwater.ports import AttemptKey, LaunchSpec, Transition
from headwater.testing import Outcome

FOREVER = 1e9  # a start waits for the next write, however long that takes


def writes_of(world: World, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The event types of each write the engines make, as they make them."""
    writes: list[list[str]] = []
    record_all = world.store.record_all

    def counting(run_id: int, fence: int, transitions: Sequence[Transition],
                 *args: Any) -> Any:
        writes.append([type(t.event).__name__ for t in transitions])
        return record_all(run_id, fence, transitions, *args)

    monkeypatch.setattr(world.store, "record_all", counting)
    return writes


def task_life(world: World, run_id: int, task_key: str,
              state: RunState | None = None) -> LifeCycleState:
    """A task's life cycle in the store (or in `state`)."""
    state = state or world.store.load_run(run_id).state
    [run] = [r for r in state.task_runs.values() if r.task_key == task_key]
    return run.life_cycle


def test_a_quick_task_s_start_is_stored_with_its_end(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = writes_of(world, monkeypatch)
    run_id = world.start(world.job(tasks=3, chain=True))
    engine = world.engine("e1", lambda key, spec: Outcome(seconds=1),
                          write_starts_within=FOREVER)

    step_until(lambda: world.result(run_id) == "SUCCESS", engine)

    started, succeeded = TaskStarted.__name__, TaskSucceeded.__name__
    together = [w for w in writes if w[:2] == [started, succeeded]]
    assert len(together) == 3  # every task's start went with its end
    assert not [w for w in writes if w == [started]]


def test_a_start_is_stored_within_the_window_while_its_task_runs(world: World) -> None:
    run_id = world.start(world.job(tasks=1))
    engine = world.engine("e1", lambda key, spec: Outcome(hang=True))
    step_until(lambda: bool(world.attempts.launched), engine)

    step_until(lambda: task_life(world, run_id, "t0") is LifeCycleState.RUNNING, engine)


def test_a_start_lost_with_its_engine_is_issued_again_and_adopts_the_attempt(
        world: World) -> None:
    # Given an engine that launched a task and died before storing its start
    run_id = world.start(world.job(tasks=1))
    first = world.engine("host:1:1:aa", lambda key, spec: Outcome(seconds=50),
                         write_starts_within=FOREVER)
    step_until(lambda: bool(world.attempts.launched), first)
    assert task_life(world, run_id, "t0") is not LifeCycleState.RUNNING
    assert task_life(world, run_id, "t0", first.drivers[run_id].state) \
        is LifeCycleState.RUNNING

    # When another engine takes the run over
    second = world.engine("host:2:2:bb", is_dead=lambda owner: owner == "host:1:1:aa")
    step_until(lambda: world.result(run_id) is not None, second)

    # Then the attempt that ran is the one the first engine launched, and the run succeeds
    assert world.result(run_id) == "SUCCESS"
    assert len(world.attempts.launched) == 1


def test_the_attempts_that_ended_in_one_turn_are_stored_in_one_write(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = writes_of(world, monkeypatch)
    run_id = world.start(world.job(tasks=4))
    engine = world.engine("e1", lambda key, spec: Outcome(seconds=1))  # all end together

    step_until(lambda: world.result(run_id) == "SUCCESS", engine)

    succeeded = TaskSucceeded.__name__
    [together] = [w for w in writes if succeeded in w]
    assert together.count(succeeded) == 4


def test_an_attempt_is_launched_only_once_the_end_it_follows_is_stored(
        world: World) -> None:
    run_id = world.start(world.job(tasks=3, chain=True))
    stored_before_launch: list[LifeCycleState] = []

    def outcome(key: AttemptKey, spec: LaunchSpec) -> Outcome:
        stored = world.store.load_run(run_id).state
        number = int(stored.task_runs[key.seq].task_key[1:])
        if number:  # the task it follows, as the store has it when this one is launched
            stored_before_launch.append(task_life(world, run_id, f"t{number - 1}", stored))
        return Outcome(seconds=1)

    engine = world.engine("e1", outcome, write_starts_within=FOREVER)
    step_until(lambda: world.result(run_id) == "SUCCESS", engine)

    assert stored_before_launch == [LifeCycleState.TERMINATED] * 2
