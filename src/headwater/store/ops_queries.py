"""Statements on the outbox, the audit log and task metrics, as functions of a `Connection`.

`write_effects` runs inside `record`'s transaction: the outbox rows, the audit entries and the
metrics of a decision commit with the state change or not at all. Outbox rows are inserted
with ON CONFLICT DO NOTHING on their dedupe key, so deciding the same alert twice stores it
once. Appending to the audit log moves its head row first, which locks it (on PostgreSQL;
SQLite's `BEGIN IMMEDIATE` already holds the write lock), and only from the head it finds
there (`append_audit`), so the chain never forks.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    delete,
    insert,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)

from headwater.core.audit import (
    AuditAction,
    AuditEntry,
    StoredAuditEntry,
    TaskMetric,
    UnreadableEntry,
    chain,
)
from headwater.core.notifications import (
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    OutboxItem,
    notification_from_dict,
    notification_to_dict,
)
from headwater.store.dialects import insert_ignoring
from headwater.store.ops_tables import audit_head, audit_log, outbox, task_run_metrics
from headwater.store.tables import loads_instant, task_run_outputs, task_runs

AUDIT_HEAD = "headwater.audit_head"  # conn.info: the head a transaction moved the chain to
_FINAL = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DEAD)


def write_effects(conn: Connection, run_id: int, ids: Mapping[int, int],
                  items: Sequence[OutboxItem], entries: Sequence[AuditEntry],
                  metrics: Sequence[TaskMetric], at: datetime) -> None:
    """Store a decision's outbox rows, audit entries and task metrics."""
    if items:
        insert_outbox(conn, run_id, resolve_ids(conn, run_id, ids, items), items, at)
    if entries:
        append_audit(conn, entries)
    if metrics:
        write_metrics(conn, run_id, metrics)


def resolve_ids(conn: Connection, run_id: int, ids: Mapping[int, int],
                items: Sequence[OutboxItem]) -> dict[int, int]:
    """seq -> task run id for the task runs the items name (from `ids`, else the table)."""
    return task_run_ids_of(conn, run_id, ids,
                           {i.notification.seq for i in items if i.notification.seq is not None})


def task_run_ids_of(conn: Connection, run_id: int, ids: Mapping[int, int],
                    wanted: set[int]) -> dict[int, int]:
    """seq -> task run id of the `wanted` seqs (from `ids`, else the table)."""
    found = {seq: ids[seq] for seq in wanted if seq in ids}
    missing = wanted - set(found)
    if missing:
        query = select(task_runs.c.seq, task_runs.c.task_run_id).where(
            task_runs.c.run_id == run_id, task_runs.c.seq.in_(missing))
        found.update({row.seq: row.task_run_id for row in conn.execute(query)})
    return found


def write_outputs(conn: Connection, run_id: int, ids: Mapping[int, int],
                  outputs: Mapping[int, Mapping[str, Any]]) -> None:
    """Store what attempts left as their result, by seq; an attempt's first output stays."""
    found = task_run_ids_of(conn, run_id, ids, set(outputs))
    rows = [{"task_run_id": found[seq], "body": dict(body)} for seq, body in outputs.items()
            if seq in found]
    if rows:
        conn.execute(insert_ignoring(conn, task_run_outputs, ["task_run_id"]), rows)


def insert_outbox(conn: Connection, run_id: int, ids: Mapping[int, int],
                  items: Sequence[OutboxItem], at: datetime) -> None:
    """Insert one PENDING row per item, due at once; an existing dedupe key is left alone."""
    rows = []
    for item in items:
        note = item.notification
        rows.append({
            "dedupe_key": item.key, "notification_key": note.key,
            "destination": item.destination, "event": str(note.event), "run_id": run_id,
            "seq": note.seq, "task_run_id": None if note.seq is None else ids.get(note.seq),
            "payload": notification_to_dict(note), "status": str(DeliveryStatus.PENDING),
            "attempts": 0, "created_time": at, "next_attempt_time": at,
        })
    conn.execute(insert_ignoring(conn, outbox, ["dedupe_key"]), rows)


def has_due(conn: Connection, now: datetime) -> bool:
    """Whether a row is due: one SELECT on the (status, next_attempt_time) index."""
    query = select(outbox.c.outbox_id).where(*_due(now)).limit(1)
    return conn.execute(query).first() is not None


def _due(now: datetime) -> tuple[Any, ...]:
    return (outbox.c.status == str(DeliveryStatus.PENDING), outbox.c.next_attempt_time <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now))


def claim(conn: Connection, now: datetime, owner: str, lease_until: datetime,
          limit: int) -> list[Delivery]:
    """Lease up to `limit` due rows to `owner` until `lease_until`; oldest due first."""
    query = (select(outbox.c.outbox_id).where(*_due(now))
             .order_by(outbox.c.next_attempt_time, outbox.c.outbox_id).limit(limit)
             .with_for_update(skip_locked=True))
    chosen = list(conn.execute(query).scalars())
    if not chosen:
        return []
    conn.execute(update(outbox).where(outbox.c.outbox_id.in_(chosen))
                 .values(lease_owner=owner, lease_until=lease_until))
    rows = conn.execute(select(outbox).where(outbox.c.outbox_id.in_(chosen))
                        .order_by(outbox.c.outbox_id)).mappings()
    return [
        Delivery(outbox_id=row["outbox_id"], key=row["dedupe_key"],
                 destination=row["destination"], attempts=row["attempts"],
                 created_time=row["created_time"], task_run_id=row["task_run_id"],
                 notification=notification_from_dict(row["payload"]))
        for row in rows
    ]


def finish(conn: Connection, delivery: Delivery, owner: str, outcome: DeliveryOutcome,
           now: datetime, entry: AuditEntry | None) -> bool:
    """Record one try of a leased row; False when the lease was lost (nothing written)."""
    final = outcome.status in _FINAL
    values: dict[str, Any] = {
        "status": str(outcome.status), "attempts": outbox.c.attempts + 1,
        "last_error": outcome.error, "lease_owner": None, "lease_until": None,
        "finished_time": now if final else None,
    }
    if outcome.next_attempt_time is not None:
        values["next_attempt_time"] = outcome.next_attempt_time
    result = conn.execute(
        update(outbox).where(outbox.c.outbox_id == delivery.outbox_id,
                             outbox.c.lease_owner == owner,
                             outbox.c.status == str(DeliveryStatus.PENDING)).values(**values))
    if result.rowcount != 1:
        return False
    if entry is not None and final:
        append_audit(conn, [entry])
    return True


def outbox_rows(conn: Connection, run_id: int | None, status: str | None,
                limit: int) -> list[Mapping[str, Any]]:
    """Outbox rows, newest first."""
    query = select(outbox).order_by(outbox.c.outbox_id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(outbox.c.run_id == run_id)
    if status is not None:
        query = query.where(outbox.c.status == status.upper())
    return [dict(row) for row in conn.execute(query).mappings()]


def requeue(conn: Connection, outbox_ids: Collection[int] | None, run_id: int | None,
            now: datetime) -> list[int]:
    """Make given-up rows (FAILED, DEAD) due again now, each for one more try; those of
    `outbox_ids` (None: every one, of `run_id` if given). The ids requeued."""
    given_up = outbox.c.status.in_([str(DeliveryStatus.FAILED), str(DeliveryStatus.DEAD)])
    query = select(outbox.c.outbox_id).where(given_up).order_by(outbox.c.outbox_id)
    if outbox_ids is not None:
        query = query.where(outbox.c.outbox_id.in_(list(outbox_ids)))
    if run_id is not None:
        query = query.where(outbox.c.run_id == run_id)
    ids = list(conn.execute(query).scalars())
    if ids:
        conn.execute(update(outbox).where(outbox.c.outbox_id.in_(ids)).values(
            status=str(DeliveryStatus.PENDING), next_attempt_time=now, lease_owner=None,
            lease_until=None, finished_time=None))
    return ids


# -- audit ----------------------------------------------------------------------------------


def append_audit(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Number, chain and insert `entries` after the current head; move the head.

    The head this connection moved the chain to last is tried first, in one statement that
    moves the head only if it is still that one (entry id and hash): usually it is, as one
    engine writes most entries. When not (another writer appended since, or that transaction
    was rolled back), the head is read under its lock and the entries chained after it."""
    seen: tuple[int, str] | None = conn.info.get(_LAST_HEAD)
    stored = None if seen is None else _chained_after(conn, entries, *seen)
    if stored is None:  # the first append here, or the head moved since: read it, locked
        head = conn.execute(_READ_HEAD).one()
        stored = _chained_after(conn, entries, head.last_id, head.last_hash)
        assert stored is not None, "the head row moved while this transaction held its lock"
    conn.execute(_INSERT_AUDIT, [_audit_row(item) for item in stored])
    conn.info[_LAST_HEAD] = conn.info[AUDIT_HEAD] = (stored[-1].entry_id, stored[-1].hash)


def _chained_after(conn: Connection, entries: Sequence[AuditEntry], last_id: int,
                   last_hash: str) -> list[StoredAuditEntry] | None:
    """`entries` chained after the entry `last_id` (hash `last_hash`), and the head row
    moved to the last of them; None, moving nothing, when the head is no longer that one."""
    stored = chain(entries, last_id, last_hash)
    moved = conn.execute(_MOVE_HEAD, {
        "b_last_id": last_id, "b_last_hash": last_hash,
        "b_new_id": stored[-1].entry_id, "b_new_hash": stored[-1].hash}).rowcount
    return stored if moved == 1 else None


_READ_HEAD = select(audit_head.c.last_id, audit_head.c.last_hash).where(
    audit_head.c.head_id == 1).with_for_update()
_MOVE_HEAD = update(audit_head).where(
    audit_head.c.head_id == 1, audit_head.c.last_id == bindparam("b_last_id"),
    audit_head.c.last_hash == bindparam("b_last_hash"),
).values(last_id=bindparam("b_new_id"), last_hash=bindparam("b_new_hash"))
_INSERT_AUDIT = insert(audit_log)
_LAST_HEAD = "headwater.audit_last_head"  # conn.info: the head this connection moved to last


def _audit_row(item: StoredAuditEntry) -> dict[str, Any]:
    entry = item.entry
    return {"entry_id": item.entry_id, "at": entry.at, "actor": entry.actor,
            "action": str(entry.action), "job_id": entry.job_id, "run_id": entry.run_id,
            "task_key": entry.task_key, "attempt": entry.attempt,
            "details": dict(entry.details), "prev_hash": item.prev_hash, "hash": item.hash}


def stored_entry(row: Mapping[Any, Any]) -> StoredAuditEntry:
    """The `StoredAuditEntry` of an `audit_log` row."""
    entry = AuditEntry(at=row["at"], actor=row["actor"], action=AuditAction(row["action"]),
                       job_id=row["job_id"], run_id=row["run_id"], task_key=row["task_key"],
                       attempt=row["attempt"], details=row["details"])
    return StoredAuditEntry(row["entry_id"], entry, row["prev_hash"], row["hash"])


def audit_entries(conn: Connection, job_id: int | None, actor: str | None,
                  since: datetime | None, run_id: int | None,
                  limit: int | None, action: str | None = None,
                  until: datetime | None = None) -> list[StoredAuditEntry]:
    """Entries matching the filters, oldest first (the newest `limit` of them)."""
    query = select(audit_log).order_by(audit_log.c.entry_id.desc())
    if job_id is not None:
        query = query.where(audit_log.c.job_id == job_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if run_id is not None:
        query = query.where(audit_log.c.run_id == run_id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if until is not None:
        query = query.where(audit_log.c.at <= until)
    if limit is not None:
        query = query.limit(limit)
    rows = list(conn.execute(query).mappings())
    return [stored_entry(row) for row in reversed(rows)]


def audit_head_row(conn: Connection) -> tuple[int, str] | None:
    """(last id, last hash) of the chain head; None when its row is gone."""
    head = conn.execute(select(audit_head).where(audit_head.c.head_id == 1)).one_or_none()
    return None if head is None else (head.last_id, head.last_hash)


def entries_to_verify(conn: Connection) -> Iterator[StoredAuditEntry | UnreadableEntry]:
    """Every entry, oldest first, read from its raw text so that a corrupted row becomes an
    `UnreadableEntry` instead of an exception."""
    raw = [type_coerce(column, Text).label(column.name) for column in audit_log.columns]
    for row in conn.execute(select(*raw).order_by(audit_log.c.entry_id)).mappings():
        try:
            yield stored_entry({**row, "entry_id": int(row["entry_id"]),
                                "at": loads_instant(row["at"]),
                                "details": json.loads(row["details"])})
        except (ValueError, TypeError, KeyError) as error:
            yield UnreadableEntry(int(row["entry_id"]), f"{type(error).__name__}: {error}")


# -- task metrics ---------------------------------------------------------------------------


def write_metrics(conn: Connection, run_id: int, metrics: Sequence[TaskMetric]) -> None:
    """Save (or replace) the figures attempts recorded."""
    latest = {(m.seq, m.name): m.value for m in metrics}
    conn.execute(delete(task_run_metrics).where(
        task_run_metrics.c.run_id == run_id,
        tuple_(task_run_metrics.c.seq, task_run_metrics.c.name).in_(list(latest))))
    conn.execute(insert(task_run_metrics), [
        {"run_id": run_id, "seq": seq, "name": name, "value": value}
        for (seq, name), value in latest.items()
    ])
