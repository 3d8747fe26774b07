"""The store under real processes: a writer SIGKILLed mid-way, two writers at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from sqlalchemy import select
from store_builders import T0, state_with

from headwater.core.plan import Plan
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.store.tables import runs

# Records TaskStarted events on run argv[2], each adding task run `i` and setting the run's
# message to "step i", forever when argv[3] is -1; continues after the stored `next_seq`.
RECORD_LOOP = """
import sys
from datetime import timedelta
from headwater.core.events import TaskStarted
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState
from headwater.store import open_store

url, run_id, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = open_store(url)
record = store.load_run(run_id)
plan, t0 = record.state.plan, record.created_time
i = record.state.next_seq - 1
stop = i + count
while count < 0 or i < stop:
    i += 1
    now = t0 + timedelta(milliseconds=i)
    run = TaskRun(seq=i, task_key="extract", attempt_number=i - 1, original_attempt_seq=1,
                  life_cycle=LifeCycleState.RUNNING, start_time=now, handle=f"pid:{i}")
    state = RunState(plan=plan, life_cycle=LifeCycleState.RUNNING, message=f"step {i}",
                     task_runs={i: run}, latest={"extract": i}, next_seq=i + 1)
    store.record(run_id, 0, TaskStarted(now, i, f"pid:{i}"), state, [i])
store.close()
"""


def record_loop(db_url: str, run_id: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RECORD_LOOP, db_url, str(run_id), str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def event_count(store: SqlStore, run_id: int) -> int:
    with store.engine.connect() as conn:
        count = conn.execute(select(runs.c.event_count).where(runs.c.run_id == run_id)).scalar()
    assert count is not None
    return int(count)


def wait_for_events(store: SqlStore, run_id: int, at_least: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while event_count(store, run_id) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} events after {timeout}s"
        time.sleep(0.02)


def kill_while_recording(db_url: str, run_id: int, store: SqlStore, more: int) -> None:
    """Start a recording child, let it record `more` events, SIGKILL it mid-loop."""
    child = record_loop(db_url, run_id, -1)
    try:
        wait_for_events(store, run_id, event_count(store, run_id) + more, timeout=60)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


def assert_whole_transitions(db_url: str, run_id: int) -> int:
    """Every stored transition is whole: events, run row and task runs agree. The count."""
    store = open_store(db_url)
    try:
        assert store.integrity_check() == "ok"
        events = store.events(run_id)
        count = len(events)
        record = store.load_run(run_id)
        assert event_count(store, run_id) == count
        assert record.state.message == f"step {count}"
        assert record.state.next_seq == count + 1
        assert sorted(record.state.task_runs) == list(range(1, count + 1))
        assert [e.seq for e in events] == list(range(1, count + 1))  # type: ignore[union-attr]
        assert record.state.latest == {"extract": count}
        return count
    finally:
        store.close()


def test_a_writer_killed_mid_way_leaves_whole_transitions_only(
    store: SqlStore, job: JobRecord, plan: Plan, db_url: str
) -> None:
    # Given a run, five times in a row:
    run_id = store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id
    counts = []
    for _ in range(5):
        # When a child recording transitions as fast as it can is SIGKILLed mid-loop
        kill_while_recording(db_url, run_id, store, more=100)
        # Then the file is sound and every stored transition is whole
        counts.append(assert_whole_transitions(db_url, run_id))
    assert counts == sorted(counts) and counts[0] >= 100


def test_two_writer_processes_never_see_database_is_locked(
    store: SqlStore, job: JobRecord, plan: Plan, db_url: str
) -> None:
    first = store.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id
    second = store.create_run(job, state_with(plan), {}, "ONE_TIME", "bob", "/w", T0).run_id

    children = [record_loop(db_url, run_id, 300) for run_id in (first, second)]
    outputs = [child.communicate(timeout=120) for child in children]

    assert [child.returncode for child in children] == [0, 0], outputs
    ids = [store.load_run(run_id).task_run_ids for run_id in (first, second)]
    assert [len(events) for events in map(store.events, (first, second))] == [300, 300]
    all_ids = [*ids[0].values(), *ids[1].values(), first, second]
    assert len(set(all_ids)) == 602
