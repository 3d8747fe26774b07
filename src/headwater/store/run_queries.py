"""Statements on runs, task runs and the event log, as functions of an open `Connection`.

`record_transitions` is the hot path (one call per write of an engine, which may hold a few
events): it issues one UPDATE of the run row (which also numbers the events and checks the
engine's fencing token in the same statement), one executemany INSERT of the events, and for
the changed task runs one SELECT of the ids the engine does not know yet, one executemany
UPDATE and, for new ones, one multi-row INSERT into `run_ids` and one executemany INSERT.
The statements are built once at import: the constructs are immutable, and SQLAlchemy's
compiled cache then recognises them at once.

`pending_requests` is the other frequent call (the engine polls it several times a second for
all the runs it holds): one indexed SELECT, in a read transaction, finds that there is
nothing to take. A request is marked handled in the transaction of the event it became, so a
crash between the two can neither lose nor repeat it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, exists, insert, select, update

from headwater.core.events import Event, event_to_dict
from headwater.core.runstate import RunState, TaskRun
from headwater.errors import InvalidState, LeaseLost, NotFound
from headwater.ports import REPAIR, TIMEOUT, JobRecord, RunRequest
from headwater.store.job_queries import get_job
from headwater.store.rows import Row, run_state_values, task_run_values
from headwater.store.tables import (
    run_events,
    run_ids,
    run_requests,
    runs,
    task_runs,
)

JOB_RUN = "JOB_RUN"
TASK_RUN = "TASK_RUN"
_KIND_LENGTH = 16  # run_ids.kind and run_requests.kind are String(16)
TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})

# Which new id goes to which row does not matter, so the ids need not come back in
# parameter order; asking for that order would make SQLite insert them one row at a time.
_ALLOCATE_IDS = insert(run_ids).returning(run_ids.c.id)
_UPDATE_RUN = (
    update(runs)
    .where(runs.c.run_id == bindparam("b_run_id"), runs.c.fence == bindparam("b_fence"))
    .values(event_count=runs.c.event_count + bindparam("b_events"))
    .returning(runs.c.event_count)
)
_INSERT_EVENT = insert(run_events)
_EXISTING_TASK_RUNS = select(task_runs.c.seq, task_runs.c.task_run_id).where(
    task_runs.c.run_id == bindparam("b_run_id"),
    task_runs.c.seq.in_(bindparam("b_seqs", expanding=True)),
)
_UPDATE_TASK_RUN = update(task_runs).where(
    task_runs.c.task_run_id == bindparam("b_task_run_id")
)
_INSERT_TASK_RUN = insert(task_runs)
_UNHANDLED = (
    run_requests.c.run_id.in_(bindparam("b_run_ids", expanding=True)),
    run_requests.c.handled_time.is_(None),
)
_PENDING = select(run_requests.c.request_id, run_requests.c.run_id, run_requests.c.kind,
                  run_requests.c.task_key, run_requests.c.body,
                  run_requests.c.created_time).where(*_UNHANDLED)
_ANY_UNHANDLED = exists().where(run_requests.c.run_id == runs.c.run_id,
                                run_requests.c.handled_time.is_(None))


def allocate_ids(conn: Connection, kind: str, count: int) -> list[int]:
    """`count` fresh ids from the id space shared by job runs and task runs."""
    if count == 0:
        return []
    if not kind or len(kind) > _KIND_LENGTH:
        raise ValueError(f"an id kind is 1 to {_KIND_LENGTH} characters, not {kind!r}")
    result = conn.execute(_ALLOCATE_IDS, [{"kind": kind}] * count)
    return sorted(row[0] for row in result)  # ascending, so ids grow with seq


def insert_run(
    conn: Connection, job: JobRecord, state: RunState, parameters: Mapping[str, str],
    trigger: str, creator: str, workdir: str, at: datetime, **lease: object,
) -> tuple[int, dict[int, int]]:
    """Store a new run and the task runs already in its state; (run id, seq -> task run id).

    `lease` holds the run's lease columns (`needs_engine`, `lease_owner`, ...), if any.
    """
    [run_id] = allocate_ids(conn, JOB_RUN, 1)
    conn.execute(
        insert(runs).values(
            run_id=run_id, job_id=job.job_id, job_version=job.version,
            parameters=dict(parameters), trigger=trigger, creator=creator, workdir=workdir,
            created_time=at, event_count=0, **run_state_values(state), **lease,
        )
    )
    ids = insert_task_runs(conn, run_id, list(state.task_runs.values()))
    return run_id, ids


def insert_task_runs(conn: Connection, run_id: int, new: Sequence[TaskRun]) -> dict[int, int]:
    """Insert task runs with freshly allocated ids; seq -> task run id."""
    ids = allocate_ids(conn, TASK_RUN, len(new))
    if new:
        conn.execute(
            _INSERT_TASK_RUN,
            [
                {"task_run_id": task_run_id, "run_id": run_id, **task_run_values(task_run)}
                for task_run_id, task_run in zip(ids, new, strict=True)
            ],
        )
    return {task_run.seq: task_run_id for task_run_id, task_run in zip(ids, new, strict=True)}


def record_transitions(
    conn: Connection, run_id: int, fence: int,
    steps: Sequence[tuple[Event, RunState, Sequence[int]]], known: Mapping[int, int],
) -> dict[int, int]:
    """Append the events of `steps` (event, snapshot after it, seqs it changed), save the
    run row as the last snapshot has it, and upsert each changed task run as the last step
    that changed it left it; seq -> id. `known`: seq -> id of task runs known to exist
    (not looked up again).

    Raises:
        LeaseLost: when the run's fence is no longer `fence` (another engine claimed it):
            nothing is written.
    """
    last = steps[-1][1]
    count = conn.execute(
        _UPDATE_RUN, {"b_run_id": run_id, "b_fence": fence, "b_events": len(steps),
                      **run_state_values(last)}
    ).scalar()
    if count is None:
        check_run_exists(conn, run_id)
        raise LeaseLost(run_id, fence)
    first = count - len(steps) + 1
    rows = []
    for number, (event, _, _) in enumerate(steps, start=first):
        body = event_to_dict(event)
        rows.append({"run_id": run_id, "event_no": number, "type": body["type"], "body": body,
                     "at": event.at})
    conn.execute(_INSERT_EVENT, rows)
    changed = {seq: _task_run(state, seq) for _, state, seqs in steps for seq in seqs}
    if not changed:
        return {}
    return upsert_task_runs(conn, run_id, list(changed.values()), known)


def upsert_task_runs(conn: Connection, run_id: int, changed: Sequence[TaskRun],
                     known: Mapping[int, int] | None = None) -> dict[int, int]:
    """Update the task runs that exist, insert the others; seq -> task run id for all.
    `known`: seq -> id of task runs known to exist (not looked up again)."""
    known = known or {}
    existing = {r.seq: known[r.seq] for r in changed if r.seq in known}
    unknown = [r.seq for r in changed if r.seq not in existing]
    if unknown:
        rows = conn.execute(_EXISTING_TASK_RUNS, {"b_run_id": run_id, "b_seqs": unknown})
        existing.update({row.seq: row.task_run_id for row in rows})
    updates = [r for r in changed if r.seq in existing]
    if updates:
        conn.execute(
            _UPDATE_TASK_RUN,
            [{"b_task_run_id": existing[r.seq], **task_run_values(r)} for r in updates],
        )
    new = [r for r in changed if r.seq not in existing]
    return existing | insert_task_runs(conn, run_id, new)


def _task_run(state: RunState, seq: int) -> TaskRun:
    try:
        return state.task_runs[seq]
    except KeyError:
        raise ValueError(f"changed seq {seq} is not a task run of the state") from None


def task_run_ids(conn: Connection, run_id: int) -> dict[int, int]:
    """seq -> task run id of every task run of a run."""
    query = select(task_runs.c.seq, task_runs.c.task_run_id).where(
        task_runs.c.run_id == run_id
    )
    return {row.seq: row.task_run_id for row in conn.execute(query)}


def task_run_rows(conn: Connection, run_id: int) -> list[Row]:
    """Every task run row of a run, by seq."""
    query = select(task_runs).where(task_runs.c.run_id == run_id).order_by(task_runs.c.seq)
    return list(conn.execute(query).mappings())


def check_run_exists(conn: Connection, run_id: int) -> None:
    """`NotFound` unless run `run_id` exists."""
    found = conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
    if found is None:
        raise NotFound(f"Run {run_id} does not exist.")


def set_job_version(conn: Connection, run_id: int, version: int | None,
                    parameters: Mapping[str, str] | None = None) -> None:
    """Make a run run `version` of its job and/or take these parameters (a repair);
    `NotFound` for an unknown run or version."""
    job_id = conn.execute(select(runs.c.job_id).where(runs.c.run_id == run_id)).scalar()
    if job_id is None:
        raise NotFound(f"Run {run_id} does not exist.")
    values: dict[str, object] = {}
    if version is not None:
        get_job(conn, job_id, version)  # NotFound rather than a foreign key violation
        values["job_version"] = version
    if parameters is not None:
        values["parameters"] = dict(parameters)
    if values:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))


def add_request(conn: Connection, run_id: int, kind: str, task_key: str | None,
                at: datetime, body: Mapping[str, object] | None = None) -> int:
    """Append an unhandled request of `kind` to a run; its id. `NotFound` for an unknown run."""
    check_run_exists(conn, run_id)
    return int(conn.execute(
        insert(run_requests).values(run_id=run_id, kind=kind, task_key=task_key,
                                    created_time=at, body=None if body is None else dict(body))
        .returning(run_requests.c.request_id)
    ).scalar_one())


def add_repair_request(conn: Connection, run_id: int, body: Mapping[str, object],
                       at: datetime) -> int:
    """Ask for a repair of an ended run, and mark the run as needing an engine. A repair that
    changes the run's legacy task parameters (`task_parameters` in `body`) changes them in the
    run here, in the same transaction: the engine that takes the run plans it with them.

    Raises:
        InvalidState: when the run has not ended, or a repair of it is already waiting.
    """
    life = conn.execute(select(runs.c.life_cycle).where(runs.c.run_id == run_id)).scalar()
    if life is None:
        raise NotFound(f"Run {run_id} does not exist.")
    if life not in TERMINAL:
        raise InvalidState(f"Run {run_id} is still in progress ({life}); a repair needs a run "
                           "that has ended.")
    waiting = conn.execute(select(run_requests.c.request_id).where(
        run_requests.c.run_id == run_id, run_requests.c.kind == REPAIR,
        run_requests.c.handled_time.is_(None))).first()
    if waiting is not None:
        raise InvalidState(f"Run {run_id} already has a repair waiting for an engine "
                           f"(request {waiting.request_id}).")
    # A repair runs the job's current version, timeout and all (a change made while the run
    # was active stops counting).
    changes: dict[str, object] = {"needs_engine": True, "timeout_seconds": None}
    if "task_parameters" in body:
        changes["task_parameters"] = body["task_parameters"] or None
    conn.execute(update(runs).where(runs.c.run_id == run_id).values(**changes))
    return add_request(conn, run_id, REPAIR, None, at, body)


def timeout_reaches_active_runs(conn: Connection, job_id: int, before: Mapping[str, object],
                                after: Mapping[str, object], at: datetime) -> list[int]:
    """When a job's new settings change its timeout, give its active runs the new one, with
    a request that tells the engine driving each (Lakeflow: a change of `timeout_seconds`
    reaches active runs, of no other setting). The runs changed."""
    seconds = _timeout_seconds(after)
    if seconds == _timeout_seconds(before):
        return []
    active = list(conn.execute(select(runs.c.run_id).where(
        runs.c.job_id == job_id, runs.c.life_cycle.not_in(TERMINAL))).scalars())
    if active:
        conn.execute(update(runs).where(runs.c.run_id.in_(active))
                     .values(timeout_seconds=seconds))
        conn.execute(insert(run_requests), [
            {"run_id": run_id, "kind": TIMEOUT, "task_key": None, "created_time": at,
             "body": {"timeout_seconds": seconds}} for run_id in active])
    return active


def _timeout_seconds(settings: Mapping[str, object]) -> int:
    value = settings.get("timeout_seconds")
    return value if isinstance(value, int) else 0  # unset: no timeout, as 0


def pending_requests(conn: Connection, run_ids: Sequence[int]) -> list[RunRequest]:
    """The unhandled requests of these runs, oldest first: one indexed SELECT."""
    if not run_ids:
        return []
    rows = conn.execute(_PENDING, {"b_run_ids": list(run_ids)}).all()
    return sorted((RunRequest(row.request_id, row.run_id, row.kind, row.task_key,
                              row.body or {}, row.created_time) for row in rows),
                  key=lambda request: request.request_id)


def mark_handled(conn: Connection, run_id: int, request_ids: Sequence[int],
                 at: datetime) -> None:
    """Mark requests of a run handled at `at` (inside the transaction of what they became)."""
    if request_ids:
        conn.execute(update(run_requests).where(
            run_requests.c.run_id == run_id, run_requests.c.request_id.in_(request_ids),
        ).values(handled_time=at))


def has_pending_requests(conn: Connection, run_id: int) -> bool:
    """Whether a run has requests not handled yet."""
    return bool(pending_requests(conn, [run_id]))


def unhandled_requests_exist() -> object:
    """A correlated EXISTS over `runs`: the outer run has a request not handled yet."""
    return _ANY_UNHANDLED
