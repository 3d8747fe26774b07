"""Why a task run that has not ended is not running: its waiting message."""

from __future__ import annotations

from headwater.core.events import RunStarted, TaskStarted, TaskSucceeded
from headwater.core.machine import decide, initial_state
from headwater.core.runstate import RunState
from headwater.core.states import LifeCycleState
from headwater.core.waiting import waiting_message
from headwater.testing import T0, Script, simulate

from .helpers import plan_of, task


def latest_message(state: RunState, key: str) -> str:
    run = state.latest_run(key)
    assert run is not None
    return waiting_message(state, run)


def test_a_blocked_task_names_the_upstream_tasks_it_still_waits_for() -> None:
    plan = plan_of(task("a"), task("b"), task("join", "a", "b"))
    state = decide(initial_state(plan), RunStarted(T0)).state
    a = state.latest_run("a")
    assert a is not None
    both = latest_message(state, "join")
    state = decide(state, TaskStarted(T0, a.seq, "pid:1")).state
    state = decide(state, TaskSucceeded(T0, a.seq)).state

    assert both == "Waiting for upstream tasks a, b."
    assert latest_message(state, "join") == "Waiting for upstream task b."
    assert latest_message(state, "b") == (
        "Ready to start: it starts as soon as the engine has a free task slot.")


def test_a_task_waiting_for_its_retry_says_which_retry_starts_when() -> None:
    plan = plan_of(task("t", max_retries=2, min_retry_interval_millis=60_000))
    sim = simulate(plan, {"t": Script(("fail", "ok"))}, max_events=3)
    retry = sim.state.latest_run("t")
    assert retry is not None and retry.life_cycle is LifeCycleState.WAITING_FOR_RETRY
    [failed] = [run for run in sim.state.attempts("t") if run.attempt_number == 0]
    assert failed.start_time is not None
    due = failed.start_time + sim.state.task_of(retry).retry.min_interval

    assert waiting_message(sim.state, retry) == (
        f"Waiting for min_retry_interval_millis: retry 1 of 2 starts at "
        f"{due.strftime('%Y-%m-%d %H:%M:%S')} UTC.")


def test_a_running_or_ended_task_keeps_its_own_message() -> None:
    sim = simulate(plan_of(task("a")), {"a": Script(("fail",))})
    [failed] = sim.state.attempts("a")

    assert waiting_message(sim.state, failed) == failed.message != ""
    running = failed.evolve(life_cycle=LifeCycleState.RUNNING, result=None, message="")
    assert waiting_message(sim.state, running) == ""
