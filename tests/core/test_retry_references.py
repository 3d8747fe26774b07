"""An attempt that could not start because a reference cannot be resolved is not retried: the
reference reads what is fixed for the run, so a retry would fail alike (`core/retry.py`; the
engine marks such a failure `TaskFailed(retryable=False)`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from headwater.core.events import RunStarted, TaskFailed, TaskStarted, TaskSucceeded
from headwater.core.machine import decide, initial_state
from headwater.core.plan import RetryPolicy
from headwater.core.retry import NOT_RETRIED, GiveUp, RetryAt, decide_retry
from headwater.core.states import LifeCycleState, ResultState
from headwater.testing import T0

from .helpers import plan_of, task

UNSET_VALUE = ("The task could not start: {{tasks.a.values.x}}: task 'a' has not set a value "
               "named 'x'")
ONE_RETRY = RetryPolicy(max_retries=1)


def test_a_failure_that_cannot_pass_on_a_retry_is_not_retried_and_says_why() -> None:
    verdict = decide_retry(ONE_RETRY, 0, ResultState.FAILED, T0, T0, retryable=False)
    assert verdict == GiveUp(NOT_RETRIED, explained=True)


@pytest.mark.parametrize(
    ("policy", "result", "retryable", "expected"),
    [
        # Any other failure is retried as before
        (ONE_RETRY, ResultState.FAILED, True, RetryAt(T0, 1)),
        # With no retry left, there is nothing to explain
        (RetryPolicy(), ResultState.FAILED, False, GiveUp("no retries left (0 allowed)")),
        (ONE_RETRY, ResultState.TIMEDOUT, False,
         GiveUp("timed out and retry_on_timeout is off")),
    ],
)
def test_other_verdicts_are_unchanged(policy: RetryPolicy, result: ResultState,
                                      retryable: bool, expected: RetryAt | GiveUp) -> None:
    assert decide_retry(policy, 0, result, T0, T0, retryable) == expected


def test_the_attempt_that_could_not_start_is_the_only_one_and_the_run_says_why() -> None:
    # Given b with 2 retries, after a, whose attempt cannot resolve {{tasks.a.values.x}}
    plan = plan_of(task("a"), task("b", "a", max_retries=2, min_retry_interval_millis=1000))
    state = decide(initial_state(plan), RunStarted(T0)).state
    a = state.latest["a"]
    state = decide(state, TaskStarted(T0, a, "pid")).state
    state = decide(state, TaskSucceeded(T0 + timedelta(seconds=1), a)).state
    b = state.latest["b"]
    # When it fails to start, marked as no failure a retry can get past
    ended = decide(state, TaskFailed(T0 + timedelta(seconds=1), b, UNSET_VALUE,
                                     retryable=False)).state
    # Then b ran once, and its message and the run's say why there was no retry
    (attempt,) = ended.attempts("b")
    assert attempt.result is ResultState.FAILED
    assert attempt.message == f"{UNSET_VALUE} ({NOT_RETRIED})"
    assert ended.message == f"Task b failed with message: {UNSET_VALUE} ({NOT_RETRIED})"


def test_the_same_failure_marked_retryable_is_retried() -> None:
    plan = plan_of(task("t", max_retries=1))
    state = decide(initial_state(plan), RunStarted(T0)).state
    t = state.latest["t"]
    ended = decide(state, TaskFailed(T0, t, UNSET_VALUE)).state
    assert [r.life_cycle for r in ended.attempts("t")] == [
        LifeCycleState.TERMINATED, LifeCycleState.PENDING]
    assert ended.attempts("t")[0].message == UNSET_VALUE
