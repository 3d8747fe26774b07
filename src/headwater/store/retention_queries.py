"""Statements of run-history retention, as functions of a `Connection` (see core/retention.py).

Table by table, what pruning a run removes and what it leaves:

- removed with the run: `runs`, `task_runs` (for-each iterations are task runs of the run),
  `run_events`, `run_requests` (all handled: a pending one keeps the run), `task_run_outputs`,
  `task_run_metrics`, the run's `outbox` rows (all final: a pending one keeps the run), and
  its ids in `run_ids` (job run, task runs, repairs). Ids are never handed out again: SQLite's
  AUTOINCREMENT and PostgreSQL's sequence both remember the highest.
- kept: `jobs` and `job_versions` (a job outlives its runs), `trigger_states` and
  `trigger_fires` (a fire key is what stops a trigger from firing the same run twice, so it
  must outlive the run), `audit_log` and `audit_head` (the hash-chained record of who ran
  what: deleting an entry would break the chain), `tokens`, `job_permissions`.

A Run Job task links two runs only through the parent's task output (`run_job_output`,
canonical JSON): children are found from the parent's outputs, the parent of a child (trigger
`RUN_JOB_TASK`) by a text search of the outputs for its id.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, delete, func, or_, select, type_coerce

from headwater.core.notifications import DeliveryStatus
from headwater.core.retention import RunFacts
from headwater.store.ops_tables import outbox, task_run_metrics
from headwater.store.run_queries import TERMINAL
from headwater.store.tables import (
    run_events,
    run_ids,
    run_requests,
    runs,
    task_run_outputs,
    task_runs,
    trigger_states,
)

RUN_JOB_OUTPUT = '"run_job_output":'  # how a child's id appears in its parent's output
RUN_JOB_TRIGGER = "RUN_JOB_TASK"

Key = tuple[datetime, int]  # (end time, run id): where a pass over old runs has got to


def aged_runs(conn: Connection, before: datetime, limit: int, after: Key | None) -> list[Key]:
    """Up to `limit` ended runs that ended before `before`, oldest first, past `after`."""
    query = (select(runs.c.end_time, runs.c.run_id)
             .where(runs.c.life_cycle.in_(TERMINAL), runs.c.end_time < before)
             .order_by(runs.c.end_time, runs.c.run_id).limit(limit))
    if after is not None:
        end, run_id = after
        query = query.where(or_(runs.c.end_time > end,
                                and_(runs.c.end_time == end, runs.c.run_id > run_id)))
    return [(row.end_time, row.run_id) for row in conn.execute(query)]


def lock_runs(conn: Connection, ids: Collection[int]) -> set[int]:
    """Lock the rows of those runs that no other transaction holds (PostgreSQL; SQLite's
    writer holds the whole database); the ids locked, which exist."""
    if not ids:
        return set()
    query = (select(runs.c.run_id).where(runs.c.run_id.in_(sorted(ids)))
             .order_by(runs.c.run_id).with_for_update(skip_locked=True))
    return set(conn.execute(query).scalars())


def existing_runs(conn: Connection, ids: Collection[int]) -> set[int]:
    """Which of `ids` are runs in the store."""
    if not ids:
        return set()
    return set(conn.execute(select(runs.c.run_id).where(runs.c.run_id.in_(sorted(ids))))
               .scalars())


def linked_runs(conn: Connection, ids: Collection[int]) -> dict[int, set[int]]:
    """run id -> the runs linked to it by Run Job tasks: the children its tasks started and,
    for a child, its parent."""
    links: dict[int, set[int]] = {run_id: set() for run_id in ids}
    body = type_coerce(task_run_outputs.c.body, Text)
    children = (select(task_runs.c.run_id, body.label("body"))
                .select_from(task_run_outputs.join(
                    task_runs, task_runs.c.task_run_id == task_run_outputs.c.task_run_id))
                .where(task_runs.c.run_id.in_(sorted(ids)), body.like(f"%{RUN_JOB_OUTPUT}%")))
    for row in conn.execute(children):
        if (child := _child_of(row.body)) is not None:
            _link(links, row.run_id, child)
    started = sorted(conn.execute(select(runs.c.run_id).where(
        runs.c.run_id.in_(sorted(ids)), runs.c.trigger == RUN_JOB_TRIGGER)).scalars())
    if started:
        # A loose match (the id may be a prefix of another): each body found is parsed.
        patterns = [body.like(f'%{RUN_JOB_OUTPUT}{{%"run_id":{child}%') for child in started]
        parents = (select(task_runs.c.run_id, body.label("body"))
                   .select_from(task_run_outputs.join(
                       task_runs, task_runs.c.task_run_id == task_run_outputs.c.task_run_id))
                   .where(or_(*patterns)))
        for row in conn.execute(parents):
            if (child := _child_of(row.body)) is not None:
                _link(links, row.run_id, child)
    return links


def _child_of(body: str) -> int | None:
    """The run a Run Job task's output names, if it names one."""
    document = json.loads(body)
    output = document.get("run_job_output") if isinstance(document, dict) else None
    child = output.get("run_id") if isinstance(output, dict) else None
    return child if isinstance(child, int) else None


def _link(links: dict[int, set[int]], parent: int, child: int) -> None:
    if parent != child:
        links.setdefault(parent, set()).add(child)
        links.setdefault(child, set()).add(parent)


def run_facts(conn: Connection, ids: Collection[int], locked: Collection[int],
              links: Mapping[int, set[int]]) -> dict[int, RunFacts]:
    """The `RunFacts` of those of `ids` that exist; a run not in `locked` is busy."""
    ordered = sorted(ids)
    rows = conn.execute(select(runs.c.run_id, runs.c.job_id, runs.c.life_cycle,
                               runs.c.needs_engine, runs.c.end_time)
                        .where(runs.c.run_id.in_(ordered))).all()
    notifications = _counts(conn, outbox.c.run_id, ordered,
                            outbox.c.status == str(DeliveryStatus.PENDING))
    requests = _counts(conn, run_requests.c.run_id, ordered, run_requests.c.handled_time.is_(None))
    needed = _latest_runs_of_triggered_jobs(conn, {row.job_id for row in rows})
    return {row.run_id: RunFacts(
        run_id=row.run_id, ended=row.life_cycle in TERMINAL and not row.needs_engine,
        end_time=row.end_time, pending_notifications=notifications.get(row.run_id, 0),
        pending_requests=requests.get(row.run_id, 0), trigger_needs_it=row.run_id in needed,
        busy=row.run_id not in locked, linked=frozenset(links.get(row.run_id, ())))
        for row in rows}


def _counts(conn: Connection, column: Any, ids: list[int], condition: Any) -> dict[int, int]:
    query = (select(column, func.count()).where(column.in_(ids), condition).group_by(column))
    return {run_id: count for run_id, count in conn.execute(query).all()}


def _latest_runs_of_triggered_jobs(conn: Connection, job_ids: Iterable[int]) -> set[int]:
    """The latest ended run of each of those jobs with a trigger state: what a continuous
    trigger reads to back off after failures (`core/triggers.continuous_due`)."""
    triggered = select(trigger_states.c.job_id).where(trigger_states.c.job_id.in_(
        sorted(job_ids)))
    query = (select(func.max(runs.c.run_id))
             .where(runs.c.job_id.in_(triggered), runs.c.life_cycle.in_(TERMINAL),
                    runs.c.deleted.is_(False))
             .group_by(runs.c.job_id))
    return set(conn.execute(query).scalars())


def delete_runs(conn: Connection, ids: Collection[int]) -> int:
    """Delete the runs and everything stored under them (see the module docstring); how many
    task runs went. Deleting a run that is gone already deletes nothing."""
    if not ids:
        return 0
    ordered = sorted(ids)
    of_runs = select(task_runs.c.task_run_id).where(task_runs.c.run_id.in_(ordered))
    task_ids = list(conn.execute(of_runs).scalars())
    repair_ids = [repair["repair_id"] for repairs in conn.execute(
        select(runs.c.repairs).where(runs.c.run_id.in_(ordered))).scalars()
        for repair in repairs or ()]
    conn.execute(delete(task_run_outputs).where(task_run_outputs.c.task_run_id.in_(of_runs)))
    for table in (task_run_metrics, outbox, run_requests, run_events, task_runs):
        conn.execute(delete(table).where(table.c.run_id.in_(ordered)))
    conn.execute(delete(runs).where(runs.c.run_id.in_(ordered)))
    freed = [*ordered, *repair_ids, *task_ids]
    # In slices: a run of many for-each iterations has thousands of task run ids, more than
    # a statement may bind.
    for start in range(0, len(freed), _SLICE):
        conn.execute(delete(run_ids).where(run_ids.c.id.in_(freed[start:start + _SLICE])))
    return len(task_ids)


_SLICE = 1000


def task_run_count(conn: Connection, ids: Collection[int]) -> int:
    """How many task runs those runs hold (what a dry run reports)."""
    return int(conn.execute(select(func.count()).select_from(task_runs)
                            .where(task_runs.c.run_id.in_(sorted(ids)))).scalar_one())
