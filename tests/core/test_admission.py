"""`max_concurrent_runs` and the queue, decided by the pure `admit`."""

from __future__ import annotations

import pytest

from headwater.core.admission import MAX_QUEUED_RUNS, Limits, Verdict, admit
from headwater.core.states import TerminationCode


@pytest.mark.parametrize(("limits", "active", "queued", "verdict", "code"), [
    (Limits(), 0, 0, Verdict.START, None),
    (Limits(), 1, 0, Verdict.QUEUE, None),  # the default: 1 at a time, queued
    (Limits(3), 2, 0, Verdict.START, None),
    (Limits(3), 2, 1, Verdict.QUEUE, None),  # first in, first out: no jumping the queue
    (Limits(3), 3, 0, Verdict.QUEUE, None),
    (Limits(1, queue_enabled=False), 1, 0, Verdict.SKIP,
     TerminationCode.MAX_CONCURRENT_RUNS_EXCEEDED),
    (Limits(0), 0, 0, Verdict.SKIP, TerminationCode.MAX_CONCURRENT_RUNS_EXCEEDED),
    (Limits(1), 1, MAX_QUEUED_RUNS, Verdict.SKIP, TerminationCode.MAX_JOB_QUEUE_SIZE_EXCEEDED),
])
def test_a_new_run_starts_queues_or_is_skipped(limits: Limits, active: int, queued: int,
                                               verdict: Verdict,
                                               code: TerminationCode | None) -> None:
    admission = admit(limits, active, queued)

    assert (admission.verdict, admission.code) == (verdict, code)
    assert bool(admission.message) == (verdict is Verdict.SKIP)


def test_limits_read_from_settings_default_to_one_run_and_a_queue() -> None:
    assert Limits.of({}) == Limits(1, True)
    assert Limits.of({"max_concurrent_runs": 5, "queue": {"enabled": False}}) == Limits(5, False)


def test_a_skip_says_why() -> None:
    assert admit(Limits(2, queue_enabled=False), 2, 0).message == (
        "Skipped: the job already has 2 active runs (max_concurrent_runs 2) and its queue is "
        "off.")
