"""Whether a new run of a job may start now: Lakeflow's `max_concurrent_runs` and `queue`.

Pure: the store counts the job's active and queued runs inside the transaction that creates
(or later admits) the run, while it holds the job's row, and asks `admit` what to do, so two
engines can never both take the last free slot.

The rules (reference 2.1, "Max concurrent runs", "Queueing"):

- `max_concurrent_runs` defaults to 1; 0 skips every new run.
- Under the limit the run starts (`PENDING`, for an engine to claim).
- At the limit, with `queue.enabled`, it waits `QUEUED`, first in first out per job; without
  queueing it is `SKIPPED` with `MAXIMUM_CONCURRENT_RUNS_REACHED`
  (`MAX_CONCURRENT_RUNS_EXCEEDED`).
- A full queue skips the run with `MAX_JOB_QUEUE_SIZE_EXCEEDED`.

**Choice** (Lakeflow's API default is undocumented): a job that says nothing about `queue`
queues, as jobs made in Lakeflow's UI do and as `run-now` documents; `queue: {enabled: false}`
skips instead. The queue holds at most `MAX_QUEUED_RUNS` runs per job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from headwater.core.states import TerminationCode

DEFAULT_MAX_CONCURRENT_RUNS = 1
MAX_QUEUED_RUNS = 1000
MAX_QUEUE_WAIT = timedelta(hours=48)  # then a queued run is skipped, as in Lakeflow


class Verdict(StrEnum):
    """What happens to a run that asks to start."""

    START = "START"  # a slot is free: PENDING, for an engine to claim
    QUEUE = "QUEUE"  # every slot is taken: QUEUED until one frees
    SKIP = "SKIP"  # every slot is taken and it may not wait: SKIPPED


@dataclass(frozen=True, slots=True)
class Limits:
    """A job's concurrency settings, as `admit` reads them."""

    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
    queue_enabled: bool = True

    @classmethod
    def of(cls, settings: Any) -> Limits:
        """The limits of a stored JobSettings JSON object (defaults where unset)."""
        runs = settings.get("max_concurrent_runs")
        queue = settings.get("queue") or {}
        return cls(
            max_concurrent_runs=DEFAULT_MAX_CONCURRENT_RUNS if runs is None else int(runs),
            queue_enabled=bool(queue.get("enabled", True)),
        )


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict, and for a skipped run its termination code and state message."""

    verdict: Verdict
    code: TerminationCode | None = None
    message: str = ""


def admit(limits: Limits, active: int, queued: int, queue_limit: int = MAX_QUEUED_RUNS
          ) -> Admission:
    """The verdict for a run of a job that has `active` runs going and `queued` waiting.

    A run waiting in the queue asks with `queued` counting only the runs ahead of it.
    """
    limit = limits.max_concurrent_runs
    if limit > 0 and active < limit and queued == 0:
        return Admission(Verdict.START)
    if limit > 0 and limits.queue_enabled:
        if queued >= queue_limit:
            return Admission(
                Verdict.SKIP, TerminationCode.MAX_JOB_QUEUE_SIZE_EXCEEDED,
                f"The job's queue is full: {queued} runs are waiting "
                f"(at most {queue_limit}).")
        return Admission(Verdict.QUEUE)
    runs = "run" if limit == 1 else "runs"
    reason = ("max_concurrent_runs is 0: every run is skipped" if limit == 0 else
              f"the job already has {active} active {runs} (max_concurrent_runs {limit}) "
              "and its queue is off")
    return Admission(Verdict.SKIP, TerminationCode.MAX_CONCURRENT_RUNS_EXCEEDED,
                     f"Skipped: {reason}.")


__all__ = ["DEFAULT_MAX_CONCURRENT_RUNS", "MAX_QUEUED_RUNS", "Admission", "Limits", "Verdict",
           "admit"]
