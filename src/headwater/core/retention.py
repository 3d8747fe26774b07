"""Run-history retention, decided purely: which ended runs may be forgotten, and when to look.

Databricks keeps job runs for 60 days; headwater does the same by default (`retention:` in
headwater.yml). The store gathers `RunFacts` about the runs that ended before the cutoff and
the runs linked to them; `runs_to_prune` says which go. Nothing here reads the clock: `now`
is a parameter of every function.

A run is kept (`KeepReason`) while:

- it has not ended, or an engine still holds or needs it (a repair may be starting);
- it ended after the cutoff;
- one of its notifications still waits in the outbox: no alert may be dropped;
- a cancel or repair asked of it has not been handled yet;
- a job's trigger still reads it: a continuous trigger weighs the job's latest ended run;
- a run linked to it by a Run Job task (its parent, or a child it started) is kept: a tree
  of runs goes as a whole, so no run ever points at a run that is gone.

For-each iterations are task runs of their run, not runs of their own: they go with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_RUNS_DAYS = 60  # as Databricks: the Runs API shows nothing older
DEFAULT_EVERY = timedelta(minutes=10)  # how often an engine looks for runs to prune
DEFAULT_CACHES_DAYS = 30  # task environments and Git copies unused for a month are rebuilt
DEFAULT_BATCH = 100  # runs deleted per transaction: short, so other writers wait little

__all__ = ["DEFAULT_BATCH", "DEFAULT_CACHES_DAYS", "DEFAULT_EVERY", "DEFAULT_RUNS_DAYS",
           "KeepReason", "PruneDecision", "RetentionPolicy", "RunFacts", "cutoff",
           "folders_to_remove", "keep_reason", "runs_to_prune"]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long ended runs are kept, and how often and how much an engine prunes."""

    runs_days: int | None = DEFAULT_RUNS_DAYS  # None: keep every run forever
    every: timedelta = DEFAULT_EVERY
    batch: int = DEFAULT_BATCH
    # Task environments and Git copies unused this long go (rebuilt when needed); None: never.
    caches_days: int | None = DEFAULT_CACHES_DAYS

    def cutoff(self, now: datetime) -> datetime | None:
        """Runs that ended before this instant may go; None when nothing is ever pruned."""
        return cutoff(now, self.runs_days)

    def caches_cutoff(self, now: datetime) -> datetime | None:
        """Caches last used before this instant may go; None when none is ever pruned."""
        return cutoff(now, self.caches_days)


def cutoff(now: datetime, days: int | None) -> datetime | None:
    """`now` less `days` days; None (keep everything) when `days` is None."""
    if days is None:
        return None
    if days < 1:
        raise ValueError(f"a retention of {days} days keeps nothing: give at least 1 day, "
                         "or none to keep every run")
    return now - timedelta(days=days)


class KeepReason(StrEnum):
    """Why a run that ended before the cutoff is not pruned yet."""

    NOT_ENDED = "NOT_ENDED"  # it is still active, or an engine holds it (a repair starting)
    RECENT = "RECENT"  # it ended after the cutoff (or has no end time)
    NOTIFICATION_PENDING = "NOTIFICATION_PENDING"  # an alert of it waits in the outbox
    REQUEST_PENDING = "REQUEST_PENDING"  # a cancel or repair of it is not handled yet
    TRIGGER_NEEDS_IT = "TRIGGER_NEEDS_IT"  # the latest ended run of a job with a trigger
    LINKED_RUN_KEPT = "LINKED_RUN_KEPT"  # a run of its Run Job tree is kept
    BUSY = "BUSY"  # another transaction holds it (another engine pruning it, a writer)


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the store knows of one run that bears on pruning it."""

    run_id: int
    ended: bool  # a terminal life cycle and no engine needed
    end_time: datetime | None
    pending_notifications: int = 0  # outbox rows not delivered, failed or given up yet
    pending_requests: int = 0  # cancels and repairs not handled yet
    trigger_needs_it: bool = False
    busy: bool = False  # locked by another transaction: look again next time
    linked: frozenset[int] = field(default_factory=frozenset)  # Run Job parents and children


@dataclass(frozen=True, slots=True)
class PruneDecision:
    """The runs to delete, and why each of the others is kept."""

    prune: frozenset[int]
    kept: Mapping[int, KeepReason]


def keep_reason(facts: RunFacts, before: datetime) -> KeepReason | None:
    """Why this run alone must stay (its links aside), or None when it may go."""
    if not facts.ended:
        return KeepReason.NOT_ENDED
    if facts.end_time is None or facts.end_time >= before:
        return KeepReason.RECENT
    if facts.busy:
        return KeepReason.BUSY
    if facts.pending_notifications:
        return KeepReason.NOTIFICATION_PENDING
    if facts.pending_requests:
        return KeepReason.REQUEST_PENDING
    if facts.trigger_needs_it:
        return KeepReason.TRIGGER_NEEDS_IT
    return None


def runs_to_prune(facts: Mapping[int, RunFacts], before: datetime) -> PruneDecision:
    """Which of `facts`' runs go: those that may go alone, in trees that all may go.

    A linked run missing from `facts` is gone already (pruned, or never stored) and holds
    nothing back.
    """
    own = {run_id: keep_reason(item, before) for run_id, item in facts.items()}
    prune: set[int] = set()
    kept: dict[int, KeepReason] = {}
    for run_id in facts:
        if run_id in prune or run_id in kept:
            continue
        tree = _tree(run_id, facts)
        if all(own[member] is None for member in tree):
            prune.update(tree)
            continue
        for member in tree:
            kept[member] = own[member] or KeepReason.LINKED_RUN_KEPT
    return PruneDecision(frozenset(prune), kept)


def _tree(start: int, facts: Mapping[int, RunFacts]) -> set[int]:
    """The runs of `facts` linked to `start`, through Run Job tasks either way."""
    seen, todo = {start}, [start]
    while todo:
        for linked in facts[todo.pop()].linked:
            if linked in facts and linked not in seen:
                seen.add(linked)
                todo.append(linked)
    return seen


def folders_to_remove(folders: Mapping[int, datetime], existing: Iterable[int],
                      before: datetime) -> list[int]:
    """The run folders (run id -> newest change inside) to delete: those whose run is gone
    from the store and that nothing changed since the cutoff.

    A run's row is stored before its folder is made, so a folder without a run is one whose
    rows were pruned (and a crash came before its files went), or a folder of another store
    sharing this home: the age rule leaves alone anything written recently, whatever it is.
    """
    alive = set(existing)
    return sorted(run_id for run_id, changed in folders.items()
                  if run_id not in alive and changed < before)
