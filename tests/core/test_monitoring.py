"""The monitoring tally: what the audit log's entries add to the counters and histograms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from headwater.core.audit import AuditAction, AuditEntry, StoredAuditEntry
from headwater.core.monitoring import NO_RESULT, Histogram, Tally, tallied

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def stored(entry_id: int, action: AuditAction, job_id: int | None = 7,
           **details: Any) -> StoredAuditEntry:
    entry = AuditEntry(at=T0, actor="e", action=action, job_id=job_id, details=details)
    return StoredAuditEntry(entry_id, entry, "", "")


def test_run_and_attempt_ends_and_notifications_are_counted_by_label() -> None:
    tally = tallied(Tally(last_entry_id=10), [
        stored(11, AuditAction.ATTEMPT_ENDED, result="FAILED", duration_ms=400),
        stored(12, AuditAction.ATTEMPT_ENDED, result="SUCCESS", duration_ms=1500),
        stored(13, AuditAction.RUN_ENDED, result="SUCCESS", duration_ms=2500),
        stored(14, AuditAction.RUN_ENDED, job_id=8, result="FAILED", duration_ms=90_000),
        stored(15, AuditAction.RUN_ENDED, result="SUCCESS", duration_ms=3000),
        stored(16, AuditAction.NOTIFICATION_SENT),
        stored(17, AuditAction.NOTIFICATION_FAILED),
        stored(18, AuditAction.NOTIFICATION_SENT),
        stored(19, AuditAction.RUN_ENDED, job_id=None, result=None),  # no result, no times
        stored(20, AuditAction.RUNS_PRUNED, job_id=None, runs=4, task_runs=9),
        stored(21, AuditAction.RUNS_PRUNED, job_id=None, runs=2, task_runs=2),
    ])

    assert tally.last_entry_id == 21
    assert tally.runs_pruned == 6
    assert tally.runs_ended == {("7", "SUCCESS"): 2, ("8", "FAILED"): 1, ("", NO_RESULT): 1}
    assert tally.attempts_ended == {"FAILED": 1, "SUCCESS": 1}
    assert tally.notifications == {"sent": 2, "failed": 1}
    assert (tally.run_durations.count, tally.run_durations.total) == (3, 95.5)
    assert (tally.attempt_durations.count, tally.attempt_durations.total) == (2, 1.9)


def test_a_tally_goes_on_from_where_it_stopped() -> None:
    first = tallied(Tally(0), [stored(1, AuditAction.RUN_ENDED, result="SUCCESS")])
    second = tallied(first, [stored(5, AuditAction.RUN_ENDED, result="SUCCESS")])

    assert second.runs_ended == {("7", "SUCCESS"): 2}
    assert second.last_entry_id == 5
    assert tallied(second, []) == second


def test_histogram_buckets_are_cumulative_and_a_value_on_a_bound_counts_in_it() -> None:
    histogram = Histogram((1.0, 5.0))
    for value in (0.5, 1.0, 3.0, 7.0):
        histogram = histogram.observed(value)

    assert histogram.buckets() == [(1.0, 2), (5.0, 3), (float("inf"), 4)]
    assert Histogram((1.0,)).buckets() == [(1.0, 0), (float("inf"), 0)]


def test_a_duration_that_is_not_a_number_is_not_observed() -> None:
    tally = tallied(Tally(0), [stored(1, AuditAction.RUN_ENDED, result="SUCCESS",
                                      duration_ms="soon"),
                               stored(2, AuditAction.RUN_ENDED, result="SUCCESS",
                                      duration_ms=True)])

    assert tally.runs_ended == {("7", "SUCCESS"): 2}
    assert tally.run_durations.count == 0
