"""The retry policy: after a failed attempt, retry at an instant or give up.

Lakeflow: `max_retries` counts retries only (attempts total `max_retries + 1`; -1 retries
forever), the interval is measured from the START of the failed attempt, and a timed-out
attempt is retried only with `retry_on_timeout`.

headwater's choice (docs/semantics.md): an attempt that could not start because one of its
`{{...}}` references cannot be resolved is not retried. A reference resolves against what is
fixed for the run (its parameters, the upstream tasks that have finished, its trigger), so
another attempt would fail the same way; the attempt's message then says why it was not
retried. Other failures to start (a Git checkout, an environment, a missing file) may pass
on a retry and are retried as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from headwater.core.plan import RetryPolicy
from headwater.core.states import ResultState

NOT_RETRIED = ("not retried: a reference resolves the same way on every attempt of a run, so "
               "a retry would fail alike; correct it, then repair the run")


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Start attempt `attempt_number` at `at`."""

    at: datetime
    attempt_number: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    """No more attempts: the failed attempt's result is the task's result.

    `explained`: the task had a retry left, but one could only fail the same way; `reason`
    then belongs in the attempt's message, so that nobody waits for a retry that will not come.
    """

    reason: str
    explained: bool = False


def decide_retry(
    policy: RetryPolicy,
    attempt_number: int,
    result: ResultState,
    started: datetime | None,
    now: datetime,
    retryable: bool = True,
) -> RetryAt | GiveUp:
    """What to do after attempt `attempt_number` (0-based) ended with `result`; `retryable`
    is False when another attempt could only fail alike (see `TaskFailed`)."""
    if result is ResultState.TIMEDOUT and not policy.retry_on_timeout:
        return GiveUp("timed out and retry_on_timeout is off")
    if result not in (ResultState.FAILED, ResultState.TIMEDOUT):
        return GiveUp(f"{result} is not retried")
    if policy.max_retries != -1 and attempt_number >= policy.max_retries:
        return GiveUp(f"no retries left ({policy.max_retries} allowed)")
    if not retryable:
        return GiveUp(NOT_RETRIED, explained=True)
    return RetryAt(retry_time(policy, started, now), attempt_number + 1)


def retry_time(policy: RetryPolicy, started: datetime | None, ended: datetime) -> datetime:
    """When the retry of an attempt that started at `started` and ended at `ended` starts:
    the minimum interval after its start, and never before its end."""
    return max((started or ended) + policy.min_interval, ended)
