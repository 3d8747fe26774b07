"""What headwater tells a monitoring system (Prometheus): counts of what happened, tallied from
the audit log, and counts of what is happening now, read from the store. Pure.

The audit log is the source of the counters because it is the one record every engine and
server writes to in the same transaction as the change itself, in order, and never prunes:
a reader that remembers the last entry it tallied (`Tally.last_entry_id`) and reads only the
entries after it counts every run end, attempt end and notification once, whichever process
drove them. A server's tally starts at the log's end at its first scrape, so its counters
start at 0 with the process, as every Prometheus counter does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from headwater.core.audit import AuditAction, StoredAuditEntry

# Upper bounds, in seconds, of the duration histograms' buckets (+Inf is implied).
RUN_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
                        7200.0, 21600.0, 86400.0)
ATTEMPT_DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0,
                            3600.0, 21600.0)

# The audit actions a tally reads; every other entry is skipped by the store's query.
TALLIED_ACTIONS = (AuditAction.RUN_ENDED, AuditAction.ATTEMPT_ENDED,
                   AuditAction.NOTIFICATION_SENT, AuditAction.NOTIFICATION_FAILED,
                   AuditAction.RUNS_PRUNED)
NO_RESULT = "NONE"  # the label of an end without a result state


@dataclass(frozen=True, slots=True)
class Histogram:
    """Observations counted into cumulative buckets, with their count and sum."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...] = ()  # per bound, observations <= it; empty until the first one
    count: int = 0
    total: float = 0.0

    def observed(self, value: float) -> Histogram:
        counts = tuple(n + (value <= bound) for bound, n in self._per_bound())
        return replace(self, counts=counts, count=self.count + 1, total=self.total + value)

    def buckets(self) -> list[tuple[float, int]]:
        """(upper bound, cumulative count) for every bound, then +Inf."""
        return [*self._per_bound(), (float("inf"), self.count)]

    def _per_bound(self) -> list[tuple[float, int]]:
        return list(zip(self.bounds, self.counts or (0,) * len(self.bounds), strict=True))


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of what the audit log recorded after entry `last_entry_id`."""

    last_entry_id: int
    runs_ended: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (job, result)
    attempts_ended: Mapping[str, int] = field(default_factory=dict)  # result -> count
    notifications: Mapping[str, int] = field(default_factory=dict)  # "sent"/"failed" -> count
    runs_pruned: int = 0  # runs retention deleted
    run_durations: Histogram = Histogram(RUN_DURATION_BUCKETS)
    attempt_durations: Histogram = Histogram(ATTEMPT_DURATION_BUCKETS)


def tallied(tally: Tally, entries: Iterable[StoredAuditEntry]) -> Tally:
    """`tally` with `entries` (read after its `last_entry_id`, in order) counted in."""
    runs = dict(tally.runs_ended)
    attempts = dict(tally.attempts_ended)
    notifications = dict(tally.notifications)
    run_durations, attempt_durations = tally.run_durations, tally.attempt_durations
    pruned = tally.runs_pruned
    last = tally.last_entry_id
    for stored in entries:
        last = max(last, stored.entry_id)
        entry = stored.entry
        result = str(entry.details.get("result") or NO_RESULT)
        duration = _seconds(entry.details.get("duration_ms"))
        if entry.action is AuditAction.RUN_ENDED:
            key = ("" if entry.job_id is None else str(entry.job_id), result)
            runs[key] = runs.get(key, 0) + 1
            if duration is not None:
                run_durations = run_durations.observed(duration)
        elif entry.action is AuditAction.ATTEMPT_ENDED:
            attempts[result] = attempts.get(result, 0) + 1
            if duration is not None:
                attempt_durations = attempt_durations.observed(duration)
        elif entry.action is AuditAction.NOTIFICATION_SENT:
            notifications["sent"] = notifications.get("sent", 0) + 1
        elif entry.action is AuditAction.NOTIFICATION_FAILED:
            notifications["failed"] = notifications.get("failed", 0) + 1
        elif entry.action is AuditAction.RUNS_PRUNED:
            count = entry.details.get("runs")
            pruned += count if isinstance(count, int) and not isinstance(count, bool) else 0
    return Tally(last, runs, attempts, notifications, pruned, run_durations, attempt_durations)


def _seconds(milliseconds: object) -> float | None:
    """A duration in seconds from an entry's `duration_ms` (entries written before it was
    recorded have none)."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    return max(0.0, milliseconds / 1000)


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """What is happening now, counted in the store at one instant."""

    runs: Mapping[str, int]  # life-cycle state -> runs not ended in it
    task_runs: Mapping[str, int]  # life-cycle state -> task runs not ended, of those runs
    runs_awaiting_engine: int  # runs that need an engine and have none holding a live lease
    notifications_pending: int  # outbox rows not yet delivered nor given up
    oldest_pending_notification_seconds: float  # 0 when none is pending
    engines: Mapping[str, int] = field(default_factory=dict)  # fleet engines by state


__all__ = ["ATTEMPT_DURATION_BUCKETS", "NO_RESULT", "RUN_DURATION_BUCKETS", "TALLIED_ACTIONS",
           "Histogram", "LiveCounts", "Tally", "tallied"]
