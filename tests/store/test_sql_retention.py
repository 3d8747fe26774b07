"""Pruning run history in the SQL store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from store_builders import T0, state_with, task_run

from headwater.core.events import RunStarted, TaskSucceeded
from headwater.core.plan import Plan
from headwater.core.retention import KeepReason
from headwater.core.states import LifeCycleState as L
from headwater.core.states import ResultState as R
from headwater.errors import NotFound
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.ops_tables import outbox
from headwater.store.tables import (
    run_events,
    run_ids,
    task_run_outputs,
    task_runs,
    trigger_states,
)

NOW = T0 + timedelta(days=61)
BEFORE = NOW - timedelta(days=60)  # T0 + 1 day
LIMIT = 100


def ended_run(store: SqlStore, job: JobRecord, plan: Plan, end: datetime,
              outputs: Mapping[int, Mapping[str, Any]] | None = None,
              trigger: str = "ONE_TIME") -> int:
    """A run of two tasks that succeeded and ended at `end`."""
    state = state_with(plan, task_run(1, "extract", life_cycle=L.PENDING), task_run(2, "load"))
    run_id = store.create_run(job, state, {}, trigger, "ann", "/w", end).run_id
    done = [task_run(seq, key, life_cycle=L.TERMINATED, result=R.SUCCESS, end_time=end)
            for seq, key in ((1, "extract"), (2, "load"))]
    store.record(run_id, 0, RunStarted(end), state_with(plan, *state.task_runs.values(),
                                                        life_cycle=L.RUNNING), [])
    store.record(run_id, 0, TaskSucceeded(end, seq=2), state_with(
        plan, *done, life_cycle=L.TERMINATED, result=R.SUCCESS, end_time=end), [1, 2],
        outputs=outputs)
    return run_id


def running_run(store: SqlStore, job: JobRecord, plan: Plan) -> int:
    state = state_with(plan, task_run(1, "extract", life_cycle=L.PENDING), task_run(2, "load"))
    return store.create_run(job, state, {}, "ONE_TIME", "ann", "/w", T0).run_id


def prune_all(store: SqlStore, dry_run: bool = False) -> tuple[set[int], dict[int, KeepReason]]:
    pruned: set[int] = set()
    kept: dict[int, KeepReason] = {}
    after = None
    while True:
        batch = store.prune_runs(BEFORE, NOW, "ops", LIMIT, after, dry_run)
        pruned.update(batch.run_ids)
        kept.update(batch.kept)
        if (after := batch.next_after) is None:
            return pruned, kept


def test_an_old_run_goes_with_everything_under_it_and_an_audit_entry_says_so(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given an old run, a recent one and one still running
    old = ended_run(store, job, plan, T0, outputs={1: {"notebook_output": {"result": "1"}}})
    recent = ended_run(store, job, plan, T0 + timedelta(days=2))
    running = running_run(store, job, plan)
    old_task_ids = set(store.load_run(old).task_run_ids.values())

    # When the store prunes what ended before the cutoff
    pruned, kept = prune_all(store)

    # Then only the old run is gone: its rows, its task runs and its ids
    assert pruned == {old}
    assert {s.run_id for s in store.list_runs()} == {recent, running}
    with pytest.raises(NotFound, match=f"Run {old} does not exist"):
        store.load_run(old)
    with store.engine.connect() as conn:
        for column in (task_runs.c.run_id, run_events.c.run_id):
            assert conn.execute(select(func.count()).where(column == old)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(task_run_outputs)).scalar_one() == 0
        left = set(conn.execute(select(run_ids.c.id)).scalars())
    assert not ({old} | old_task_ids) & left
    assert kept == {}  # the recent run is not even a candidate; the running one neither
    [entry] = store.audit_entries(action="runs.pruned")
    assert entry.entry.actor == "ops"
    assert entry.entry.details["run_ids"] == [old]
    assert entry.entry.details["cutoff"] == BEFORE.isoformat()
    assert store.verify_audit().ok


def test_a_run_with_an_undelivered_notification_or_a_pending_repair_stays(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given two old runs: one whose alert is not delivered yet, one with a repair asked
    alerted = ended_run(store, job, plan, T0)
    repaired = ended_run(store, job, plan, T0)
    with store.engine.begin() as conn:
        conn.execute(insert(outbox).values(
            dedupe_key="k", notification_key="n", destination="ops", event="on_failure",
            run_id=alerted, payload={}, status="PENDING", attempts=0, created_time=T0,
            next_attempt_time=T0))
    store.request_repair(repaired, {"tasks": ["load"]}, T0)

    # When pruning
    pruned, kept = prune_all(store)

    # Then both stay, each for its reason
    assert pruned == set()
    assert kept == {alerted: KeepReason.NOTIFICATION_PENDING,
                    repaired: KeepReason.NOT_ENDED}  # the repair wants an engine
    assert store.audit_entries(action="runs.pruned") == []


def test_a_run_job_tree_stays_while_its_child_is_recent_and_goes_whole_after(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given an old parent whose task started a child run that ended after the cutoff
    child = ended_run(store, job, plan, T0 + timedelta(days=2), trigger="RUN_JOB_TASK")
    parent = ended_run(store, job, plan, T0,
                       outputs={1: {"run_job_output": {"run_id": child}}})
    # and an old child whose parent ended recently
    young_parent_child = ended_run(store, job, plan, T0, trigger="RUN_JOB_TASK")
    young_parent = ended_run(store, job, plan, T0 + timedelta(days=2), outputs={
        2: {"run_job_output": {"run_id": young_parent_child}}})

    # When pruning at a cutoff only the parent of the first tree is past
    pruned, kept = prune_all(store)

    # Then neither tree loses a run
    assert pruned == set()
    assert kept[parent] == kept[young_parent_child] == KeepReason.LINKED_RUN_KEPT
    assert kept[child] == kept[young_parent] == KeepReason.RECENT

    # And once both trees have aged out, each goes whole
    later = store.prune_runs(BEFORE + timedelta(days=5), NOW, "ops", LIMIT)
    assert set(later.run_ids) == {parent, child, young_parent, young_parent_child}


def test_the_latest_ended_run_of_a_job_with_a_trigger_stays(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given a continuous job's two old runs, and its trigger's state
    first = ended_run(store, job, plan, T0 - timedelta(days=1))
    latest = ended_run(store, job, plan, T0)
    with store.engine.begin() as conn:
        conn.execute(insert(trigger_states).values(job_id=job.job_id, version=1, body={}))

    # When pruning: the one its backoff reads stays
    pruned, kept = prune_all(store)
    assert pruned == {first}
    assert kept == {latest: KeepReason.TRIGGER_NEEDS_IT}


def test_a_dry_run_deletes_nothing_and_counts_what_would_go(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    old = ended_run(store, job, plan, T0)
    batch = store.prune_runs(BEFORE, NOW, "ops", LIMIT, dry_run=True)
    assert (batch.run_ids, batch.task_runs) == ((old,), 2)
    assert store.load_run(old).run_id == old
    assert store.audit_entries(action="runs.pruned") == []


def test_batches_go_oldest_first_and_say_where_the_next_starts(
        store: SqlStore, job: JobRecord, plan: Plan) -> None:
    olds = [ended_run(store, job, plan, T0 - timedelta(hours=hours)) for hours in (1, 2, 3)]
    first = store.prune_runs(BEFORE, NOW, "ops", 2)
    assert set(first.run_ids) == {olds[2], olds[1]}
    assert first.next_after is not None
    second = store.prune_runs(BEFORE, NOW, "ops", 2, first.next_after)
    assert (second.run_ids, second.next_after) == ((olds[0],), None)


def test_two_stores_pruning_at_once_both_succeed_and_each_run_goes_once(
        db_url: str, store: SqlStore, job: JobRecord, plan: Plan) -> None:
    # Given many old runs and a second store on the same database (another engine)
    olds = {ended_run(store, job, plan, T0 - timedelta(minutes=m)) for m in range(30)}
    other = open_store(db_url)
    try:
        # When both prune at once, in small batches
        def prune(pruner: SqlStore) -> set[int]:
            gone: set[int] = set()
            after = None
            while True:
                batch = pruner.prune_runs(BEFORE, NOW, "ops", 4, after)
                gone.update(batch.run_ids)
                if (after := batch.next_after) is None:
                    return gone

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(prune, [store, other])
    finally:
        other.close()

    # Then neither failed, every run is gone, and each was deleted by one of them
    assert first | second == olds
    assert not first & second
    assert store.list_runs(limit=100) == []
    assert store.verify_audit().ok
