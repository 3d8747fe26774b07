"""The pure retention decision: the cutoff, why a run stays, Run Job trees, stale folders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.core.retention import (
    KeepReason,
    RetentionPolicy,
    RunFacts,
    cutoff,
    folders_to_remove,
    keep_reason,
    runs_to_prune,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BEFORE = NOW - timedelta(days=60)
OLD = BEFORE - timedelta(days=1)
RECENT = BEFORE + timedelta(days=1)


def facts(run_id: int, end: datetime | None = OLD, linked: tuple[int, ...] = (),
          **fields: object) -> RunFacts:
    return RunFacts(run_id=run_id, ended=bool(fields.pop("ended", True)), end_time=end,
                    linked=frozenset(linked), **fields)  # type: ignore[arg-type]


def test_the_cutoff_is_now_less_the_days_and_none_keeps_everything() -> None:
    assert cutoff(NOW, 60) == BEFORE
    assert cutoff(NOW, None) is None
    assert RetentionPolicy().cutoff(NOW) == BEFORE  # 60 days by default, as Databricks
    assert RetentionPolicy(runs_days=None).cutoff(NOW) is None


@pytest.mark.parametrize("days", [0, -3])
def test_a_retention_below_one_day_is_refused_with_the_way_out(days: int) -> None:
    with pytest.raises(ValueError, match="at least 1 day, or none to keep every run"):
        cutoff(NOW, days)


@pytest.mark.parametrize(("run", "reason"), [
    (facts(1), None),
    (facts(1, ended=False), KeepReason.NOT_ENDED),
    (facts(1, end=RECENT), KeepReason.RECENT),
    (facts(1, end=BEFORE), KeepReason.RECENT),  # the cutoff itself is not before it
    (facts(1, end=None), KeepReason.RECENT),
    (facts(1, pending_notifications=1), KeepReason.NOTIFICATION_PENDING),
    (facts(1, pending_requests=1), KeepReason.REQUEST_PENDING),
    (facts(1, trigger_needs_it=True), KeepReason.TRIGGER_NEEDS_IT),
    (facts(1, busy=True), KeepReason.BUSY),
])
def test_why_a_run_alone_stays(run: RunFacts, reason: KeepReason | None) -> None:
    assert keep_reason(run, BEFORE) == reason


def test_a_run_job_tree_goes_whole_or_not_at_all() -> None:
    # Given a parent (1) whose task started a child (2) that started a grandchild (3), the
    # grandchild ended recently; and a tree 4 -> 5 all old; and a lone old run 6
    runs = {1: facts(1, linked=(2,)), 2: facts(2, linked=(1, 3)), 3: facts(3, RECENT, (2,)),
            4: facts(4, linked=(5,)), 5: facts(5, linked=(4,)), 6: facts(6)}

    # When the decision is taken
    decision = runs_to_prune(runs, BEFORE)

    # Then the first tree stays whole, the others go
    assert decision.prune == {4, 5, 6}
    assert decision.kept == {1: KeepReason.LINKED_RUN_KEPT, 2: KeepReason.LINKED_RUN_KEPT,
                             3: KeepReason.RECENT}


def test_a_linked_run_that_is_gone_holds_nothing_back() -> None:
    assert runs_to_prune({1: facts(1, linked=(9,))}, BEFORE).prune == {1}


def test_only_stale_folders_of_runs_that_are_gone_are_removed() -> None:
    folders = {1: OLD, 2: OLD, 3: RECENT}  # 2 still has its run; 3 changed after the cutoff
    assert folders_to_remove(folders, existing=[2], before=BEFORE) == [1]
