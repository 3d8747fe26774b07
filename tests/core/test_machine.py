"""The reducer end to end on simulated time: retries, results, branches, timeouts, cancels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from headwater.core.events import (
    CancelRequested,
    CancelTimer,
    EngineFailed,
    JobTimeoutChanged,
    KillTask,
    RunStarted,
    SetTimer,
    TaskFailed,
    TaskLost,
    TaskStarted,
    TaskSucceeded,
)
from headwater.core.machine import LOST_MESSAGE, decide, initial_state
from headwater.core.states import (
    LifeCycleState,
    ResultState,
    StatusState,
    TerminationCode,
    TerminationType,
    status_of,
)
from headwater.core.step import JOB_TIMEOUT
from headwater.errors import IllegalTransition
from headwater.testing import T0, Script, replay, simulate

from .helpers import plan_of, task


def results(sim_state) -> dict[str, ResultState | None]:  # type: ignore[no-untyped-def]
    return {key: sim_state.latest_run(key).result for key in sim_state.plan.order}


def test_a_chain_succeeds_in_order() -> None:
    plan = plan_of(task("a"), task("b", "a"), task("c", "b"))
    sim = simulate(plan)
    assert sim.state.result is ResultState.SUCCESS
    assert sim.state.life_cycle is LifeCycleState.TERMINATED
    assert [key for key, _, _ in sim.started] == ["a", "b", "c"]


def test_retries_until_success_with_the_interval_from_the_failed_start() -> None:
    # Given a task that fails twice, with 3 retries 5 s apart
    plan = plan_of(task("t", max_retries=3, min_retry_interval_millis=5000))
    sim = simulate(plan, {"t": Script(("fail", "fail", "ok"))})
    # Then it ran 3 attempts, each starting 5 s after the previous one started
    attempts = sim.state.attempts("t")
    assert [a.attempt_number for a in attempts] == [0, 1, 2]
    assert [a.result for a in attempts] == [ResultState.FAILED, ResultState.FAILED,
                                            ResultState.SUCCESS]
    starts = [a.start_time for a in attempts]
    assert starts[1] - starts[0] == timedelta(seconds=5)
    assert starts[2] - starts[1] == timedelta(seconds=5)
    assert all(a.original_attempt_seq == attempts[0].seq for a in attempts)
    assert sim.state.result is ResultState.SUCCESS


def test_max_retries_bounds_the_attempts_exactly() -> None:
    plan = plan_of(task("t", max_retries=2))
    sim = simulate(plan, {"t": Script(("fail",))})
    assert len(sim.state.attempts("t")) == 3
    assert sim.state.result is ResultState.FAILED
    assert sim.state.life_cycle is LifeCycleState.INTERNAL_ERROR
    assert sim.state.message == "Task t failed with message: scripted failure"


def test_a_task_waits_for_retry_between_attempts() -> None:
    plan = plan_of(task("t", max_retries=1, min_retry_interval_millis=60_000))
    sim = simulate(plan, {"t": Script(("fail", "ok"))}, max_events=3)
    # RunStarted, TaskStarted, TaskFailed: the retry is waiting on its timer
    assert sim.state.latest_run("t").life_cycle is LifeCycleState.WAITING_FOR_RETRY  # type: ignore[union-attr]
    status = status_of(LifeCycleState.WAITING_FOR_RETRY, None)
    assert status.state is StatusState.WAITING


def test_a_handled_failure_gives_success_with_failures() -> None:
    # Given a failing task whose failure is handled by an ALL_DONE leaf
    plan = plan_of(task("a"), task("cleanup", "a", run_if="ALL_DONE"))
    sim = simulate(plan, {"a": Script(("fail",))})
    assert results(sim.state) == {"a": ResultState.FAILED, "cleanup": ResultState.SUCCESS}
    assert sim.state.result is ResultState.SUCCESS_WITH_FAILURES
    assert sim.state.life_cycle is LifeCycleState.TERMINATED


def test_a_failed_leaf_fails_the_run_and_names_the_task_that_failed() -> None:
    plan = plan_of(task("ingest"), task("report", "ingest"),
                   task("alert", "ingest", run_if="AT_LEAST_ONE_FAILED"))
    sim = simulate(plan, {"ingest": Script(("fail",))})
    assert results(sim.state) == {"ingest": ResultState.FAILED,
                                  "report": ResultState.UPSTREAM_FAILED,
                                  "alert": ResultState.SUCCESS}
    assert sim.state.result is ResultState.FAILED
    assert sim.state.message.startswith("Task ingest failed")


def test_the_alert_task_is_excluded_when_nothing_fails() -> None:
    plan = plan_of(task("ingest"), task("report", "ingest"),
                   task("alert", "ingest", run_if="AT_LEAST_ONE_FAILED"))
    sim = simulate(plan)
    assert results(sim.state)["alert"] is ResultState.EXCLUDED
    assert sim.state.result is ResultState.SUCCESS


@pytest.mark.parametrize(("left", "taken", "not_taken"), [("5", "big", "small"),
                                                          ("1", "small", "big")])
def test_a_condition_runs_one_branch_and_excludes_the_other(left: str, taken: str,
                                                            not_taken: str) -> None:
    cond = {"task_key": "check", "condition_task": {"op": "GREATER_THAN", "left": left,
                                                    "right": "3"}}
    plan = plan_of(cond, task("big", "check:true"), task("small", "check:false"),
                   task("after_small", "small"))
    sim = simulate(plan)
    outcome = "true" if taken == "big" else "false"
    assert sim.state.latest_run("check").condition_outcome == outcome  # type: ignore[union-attr]
    assert results(sim.state)[taken] is ResultState.SUCCESS
    assert results(sim.state)[not_taken] is ResultState.EXCLUDED
    expected_after = ResultState.EXCLUDED if not_taken == "small" else ResultState.SUCCESS
    assert results(sim.state)["after_small"] is expected_after
    assert sim.state.result is ResultState.SUCCESS


def test_a_condition_on_a_non_number_fails_with_a_clear_message() -> None:
    cond = {"task_key": "check", "condition_task": {"op": "LESS_THAN", "left": "many",
                                                    "right": "3"}}
    sim = simulate(plan_of(cond))
    run = sim.state.latest_run("check")
    assert run is not None and run.result is ResultState.FAILED
    assert "'many' is not a number" in run.message


def test_a_task_timeout_kills_the_attempt_and_is_retried_only_if_asked() -> None:
    plan = plan_of(task("slow", timeout_seconds=2, max_retries=1))
    sim = simulate(plan, {"slow": Script(("hang",))})
    attempts = sim.state.attempts("slow")
    assert [a.result for a in attempts] == [ResultState.TIMEDOUT]
    assert attempts[0].end_time - attempts[0].start_time < timedelta(seconds=3)  # type: ignore[operator]
    plan = plan_of(task("slow", timeout_seconds=2, max_retries=1, retry_on_timeout=True))
    sim = simulate(plan, {"slow": Script(("hang", "ok"))})
    assert [a.result for a in sim.state.attempts("slow")] == [ResultState.TIMEDOUT,
                                                              ResultState.SUCCESS]


def test_the_job_timeout_ends_the_run_timedout_across_retries() -> None:
    plan = plan_of(task("t", max_retries=-1, min_retry_interval_millis=1000),
                   task("after", "t"), timeout_seconds=10)
    sim = simulate(plan, {"t": Script(("fail",))})
    assert sim.state.result is ResultState.TIMEDOUT
    assert sim.state.end_time - sim.state.start_time < timedelta(seconds=11)  # type: ignore[operator]
    assert results(sim.state)["after"] is ResultState.CANCELED


def test_cancel_spreads_downstream_but_cleanup_still_runs() -> None:
    plan = plan_of(task("long"), task("next", "long"),
                   task("cleanup", "long", run_if="ALL_DONE"))
    sim = simulate(plan, {"long": Script(("hang",))}, cancel_at=timedelta(seconds=3))
    assert results(sim.state) == {"long": ResultState.CANCELED,
                                  "next": ResultState.UPSTREAM_CANCELED,
                                  "cleanup": ResultState.SUCCESS}
    assert sim.state.result is ResultState.CANCELED


def test_a_task_that_succeeds_as_the_cancel_comes_starts_only_cleanup_after_it() -> None:
    # Given a run cancelled while `long` runs, and `long` exiting 0 before the kill lands
    plan = plan_of(task("long"), task("next", "long"),
                   task("cleanup", "long", run_if="ALL_DONE"))
    state = decide(initial_state(plan), RunStarted(T0)).state
    long = state.latest["long"]
    state = decide(state, TaskStarted(T0, long, "pid")).state
    state = decide(state, CancelRequested(T0 + timedelta(seconds=1))).state
    state = decide(state, TaskSucceeded(T0 + timedelta(seconds=2), long)).state

    # Then `long` keeps its success, saying so; what comes next is cancelled, not started;
    # cleanup starts, as its rule says; the run is being cancelled
    ran = {key: state.latest_run(key) for key in ("long", "next", "cleanup")}
    assert (ran["long"].result, ran["long"].message) == (  # type: ignore[union-attr]
        ResultState.SUCCESS, "The task succeeded before it could be stopped.")
    assert (ran["next"].result, ran["next"].message) == (  # type: ignore[union-attr]
        ResultState.CANCELED, "Task was cancelled by a user.")
    assert ran["cleanup"].life_cycle is LifeCycleState.PENDING  # type: ignore[union-attr]
    assert state.cancel_requested


@pytest.mark.parametrize(("ends_after", "result", "retried"), [
    (5, ResultState.SUCCESS, False), (60, ResultState.TIMEDOUT, True)])
def test_an_attempt_that_outlived_its_timeout_unstopped_timed_out(
        ends_after: int, result: ResultState, retried: bool) -> None:
    # Given an attempt with a 6 s timeout whose timer never fired (no engine drove the run at
    # its deadline), and that exits 0 after 5 s or after 60 s
    plan = plan_of(task("t", timeout_seconds=6, max_retries=1, retry_on_timeout=True))
    state = decide(initial_state(plan), RunStarted(T0)).state
    seq = state.latest["t"]
    state = decide(state, TaskStarted(T0, seq, "pid")).state
    state = decide(state, TaskSucceeded(T0 + timedelta(seconds=ends_after), seq)).state

    # Then one that ran past its timeout timed out, as a kill at the deadline would have
    # made it, and is retried as a timeout is
    first = state.task_runs[seq]
    assert first.result is result
    assert (first.message == "Task timed out after 6 seconds.") is retried
    assert (state.latest["t"] != seq) is retried


def test_an_attempt_found_lost_after_its_deadline_says_it_was_lost() -> None:
    # A lost attempt's time is when it was found lost, not when it ended: no timeout claimed
    plan = plan_of(task("t", timeout_seconds=6))
    state = decide(initial_state(plan), RunStarted(T0)).state
    seq = state.latest["t"]
    state = decide(state, TaskStarted(T0, seq, "pid")).state
    state = decide(state, TaskLost(T0 + timedelta(seconds=60), seq)).state

    assert state.task_runs[seq].result is ResultState.FAILED
    assert state.task_runs[seq].message == LOST_MESSAGE


def test_a_disabled_task_is_not_run_and_disables_its_all_success_dependants() -> None:
    plan = plan_of(task("a", disabled=True), task("b", "a"),
                   task("c", "a", run_if="ALL_DONE"))
    sim = simulate(plan)
    assert results(sim.state) == {"a": ResultState.DISABLED, "b": ResultState.DISABLED,
                                  "c": ResultState.SUCCESS}
    assert [key for key, _, _ in sim.started] == ["c"]


def test_replaying_the_event_log_rebuilds_the_same_state() -> None:
    plan = plan_of(task("a", max_retries=2), task("b", "a"), task("c", "a", run_if="ALL_DONE"))
    sim = simulate(plan, {"a": Script(("fail", "ok"))})
    assert replay(plan, sim.events) == sim.state


def test_decide_never_mutates_its_input() -> None:
    plan = plan_of(task("a"))
    state = initial_state(plan)
    after = decide(state, RunStarted(T0)).state
    assert state.task_runs == {} and state.life_cycle is LifeCycleState.PENDING
    assert after.life_cycle is LifeCycleState.RUNNING


def test_an_illegal_move_names_the_task() -> None:
    plan = plan_of(task("a"), task("b", "a"))
    state = decide(initial_state(plan), RunStarted(T0)).state
    blocked = state.latest["b"]
    # A start report for a BLOCKED attempt is stale: the engine is told to kill it.
    decision = decide(state, TaskStarted(T0, blocked, "pid"))
    assert decision.state.latest_run("b").life_cycle is LifeCycleState.BLOCKED  # type: ignore[union-attr]
    with pytest.raises(IllegalTransition, match="'b'"):
        from headwater.core.step import Step

        step = Step(state)
        step.move(state.task_runs[blocked], LifeCycleState.TERMINATING)


def loop_task(key: str, inputs: str, concurrency: int = 1, **nested: object) -> dict:  # type: ignore[type-arg]
    inner = {"task_key": f"{key}_item", "shell_command_task": {"command": "true"}, **nested}
    return {"task_key": key, "for_each_task": {"inputs": inputs, "concurrency": concurrency,
                                               "task": inner}}


def test_a_for_each_runs_every_iteration_at_its_concurrency() -> None:
    plan = plan_of(loop_task("loop", "[1, 2, 3, 4, 5]", concurrency=2), task("after", "loop"))
    sim = simulate(plan)
    parent = sim.state.latest_run("loop")
    assert parent is not None and parent.result is ResultState.SUCCESS
    iterations = sim.state.iterations(parent.seq)
    assert sorted(r.iteration for r in iterations) == [0, 1, 2, 3, 4]  # type: ignore[type-var]
    assert parent.loop is not None and (parent.loop.total, parent.loop.done) == (5, 5)
    starts = sorted(r.start_time for r in iterations)  # type: ignore[type-var]
    assert starts.count(starts[0]) == 2  # two at once, never more
    assert results(sim.state)["after"] is ResultState.SUCCESS


def test_a_failed_iteration_is_retried_by_the_nested_policy_then_fails_the_loop() -> None:
    plan = plan_of(loop_task("loop", '["a", "b"]', max_retries=1))
    sim = simulate(plan, {"loop_item": Script(("fail",))})
    parent = sim.state.latest_run("loop")
    assert parent is not None and parent.result is ResultState.FAILED
    # the loop names each failed iteration with its index, input and why it failed
    assert parent.message == ("2 of 2 iterations failed: iteration 0 (input \"a\"): scripted "
                              "failure; iteration 1 (input \"b\"): scripted failure.")
    assert len(sim.state.iterations(parent.seq)) == 4  # two iterations, two attempts each
    assert sim.state.result is ResultState.FAILED


def test_an_empty_for_each_succeeds_at_once() -> None:
    sim = simulate(plan_of(loop_task("loop", "[]")))
    assert sim.state.result is ResultState.SUCCESS


def test_cancelling_a_for_each_cancels_its_running_iterations() -> None:
    plan = plan_of(loop_task("loop", "[1, 2, 3]", concurrency=2))
    sim = simulate(plan, {"loop_item": Script(("hang",))}, cancel_at=timedelta(seconds=1))
    parent = sim.state.latest_run("loop")
    assert parent is not None and parent.result is ResultState.CANCELED
    iterations = sim.state.iterations(parent.seq)
    assert [r.result for r in iterations] == [ResultState.CANCELED] * 2  # the third never began
    assert sim.state.result is ResultState.CANCELED


def test_a_repair_reruns_the_failed_task_and_what_it_skipped() -> None:
    from headwater.core.events import RepairRequested

    plan = plan_of(task("ok"), task("bad", "ok"), task("after", "bad"))
    sim = simulate(plan, {"bad": Script(("fail",))})
    assert sim.state.result is ResultState.FAILED
    decision = decide(sim.state, RepairRequested(T0 + timedelta(hours=1), 99, 1, ("bad",)))
    state = decision.state
    assert state.life_cycle is LifeCycleState.RUNNING
    assert state.repair_count == 1 and state.repairs[0].task_keys == ("bad", "after")
    started = [c for c in decision.commands if type(c).__name__ == "StartTask"]
    assert [state.task_runs[c.seq].task_key for c in started] == ["bad"]  # type: ignore[attr-defined]
    assert state.latest_run("ok").repair == 0  # type: ignore[union-attr]


def test_an_engine_failure_stops_the_run_as_failed_with_the_error_and_retries_nothing() -> None:
    plan = plan_of(task("long", max_retries=3), task("next", "long"),
                   task("cleanup", "long", run_if="ALL_DONE"))
    state = decide(initial_state(plan), RunStarted(T0)).state
    long = state.latest["long"]
    state = decide(state, TaskStarted(T0, long, "pid")).state
    message = "headwater failed while driving this run: AssertionError: boom"

    failing = decide(state, EngineFailed(T0 + timedelta(seconds=1), message))
    ended = decide(failing.state, TaskFailed(T0 + timedelta(seconds=2), long, "killed", -15))

    assert [type(c).__name__ for c in failing.commands] == ["KillTask"]
    assert ended.state.result is ResultState.FAILED
    assert ended.state.life_cycle is LifeCycleState.INTERNAL_ERROR
    assert ended.state.message == f"Task long failed with message: {message}"
    status = status_of(ended.state.life_cycle, ended.state.result, ended.state.message,
                       ended.state.termination_code)
    assert (status.code, status.type) == (TerminationCode.INTERNAL_ERROR,
                                          TerminationType.INTERNAL_ERROR)
    assert [r.result for r in ended.state.attempts("long")] == [ResultState.FAILED]
    assert results(ended.state) == {"long": ResultState.FAILED,
                                    "next": ResultState.CANCELED,
                                    "cleanup": ResultState.CANCELED}


def test_a_changed_job_timeout_bounds_the_run_from_its_start_at_once_if_passed() -> None:
    plan = plan_of(task("t"))
    waiting = decide(initial_state(plan), JobTimeoutChanged(T0, 5))
    # Not started: the plan has it, and the start arms it
    assert waiting.state.plan.timeout == timedelta(seconds=5) and waiting.commands == ()
    started = decide(waiting.state, RunStarted(T0))
    assert SetTimer(JOB_TIMEOUT, T0 + timedelta(seconds=5)) in started.commands
    seq = started.state.latest["t"]
    running = decide(started.state, TaskStarted(T0, seq, "handle")).state

    longer = decide(running, JobTimeoutChanged(T0 + timedelta(seconds=3), 60))
    assert longer.commands == (CancelTimer(JOB_TIMEOUT),
                               SetTimer(JOB_TIMEOUT, T0 + timedelta(seconds=60)))
    none = decide(longer.state, JobTimeoutChanged(T0 + timedelta(seconds=4), 0))
    assert none.state.plan.timeout is None and none.commands == (CancelTimer(JOB_TIMEOUT),)

    passed = decide(longer.state, JobTimeoutChanged(T0 + timedelta(seconds=90), 30))
    assert passed.state.timed_out and KillTask(seq, ResultState.TIMEDOUT) in passed.commands
    assert passed.state.task_runs[seq].message == "The job timed out after 30 seconds."
    ended = decide(passed.state, TaskFailed(T0 + timedelta(seconds=91), seq, "killed")).state
    assert (ended.result, ended.message) == (ResultState.TIMEDOUT,
                                             "The job run timed out after 30 seconds.")
    assert decide(ended, JobTimeoutChanged(T0 + timedelta(seconds=99), 5)).state == ended
