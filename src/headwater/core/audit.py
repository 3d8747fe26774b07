"""The audit log's entries and its hash chain; pure (`hashlib` and `json` only, no clock).

An entry says who (`actor`) did what (`action`) to which job, run, task and attempt, when,
with a JSON `details` object. The store numbers entries 1, 2, ... and chains them:

    hash(n) = sha256(canonical(n, entry) + hash(n - 1)),   hash(0) = GENESIS

so that altering, removing or reordering a stored entry breaks the chain from there on, and
`verify_chain` names the first entry that does not match. The chain alone proves the log was
not edited by someone without the means to rewrite every later hash and the head; anchors
(the head as it grew, appended to a file outside the database) also catch a log cut short
and re-headed, or rewritten whole, by someone who can write the database but not that file.
It is not a signature.

Also here: `TaskMetric`, the figures a task records (`metrics.jsonl` in its attempt
directory), parsed purely so the engine can hand them to the store with the attempt's end.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from headwater.core.events import CancelRequested, Event, RepairRequested, RunStarted
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState, status_of

GENESIS = "0" * 64
SYSTEM_ACTOR = "headwater"  # the actor of what the engine and the sender do on their own


class AuditAction(StrEnum):
    """What an entry records."""

    JOB_CREATED = "job.created"  # a job's first version was saved
    JOB_UPDATED = "job.updated"  # a new version of a job's settings was saved
    JOB_DELETED = "job.deleted"  # a job was deleted (its runs and versions stay)
    PERMISSIONS_CHANGED = "job.permissions_changed"  # a job's access control list changed
    RUN_REQUESTED = "run.requested"  # a new run may start (details: trigger, run_type, run_as)
    RUN_QUEUED = "run.queued"  # a new run waits in its job's queue (max_concurrent_runs)
    RUN_SKIPPED = "run.skipped"  # a new run was skipped (max_concurrent_runs, full queue)
    BACKFILL_REQUESTED = "backfill.requested"  # runs for past times (details: range, run ids)
    RUN_STARTED = "run.started"  # a run began (details: trigger, parameters)
    RUN_ENDED = "run.ended"  # a run ended (details: result, termination_code, message)
    CANCEL_REQUESTED = "run.cancel_requested"  # the engine took a cancel (run or one task)
    RUN_REPAIRED = "run.repaired"  # a repair reran tasks of a run (details: tasks, repair id)
    RUN_RESUMED = "run.resumed"  # an engine took over a run another engine had driven
    RUN_DELETED = "run.deleted"  # an ended run was deleted (runs/delete)
    RUNS_PRUNED = "runs.pruned"  # retention deleted old runs (details: counts, run ids, cutoff)
    REPAIR_REQUESTED = "run.repair_requested"  # a repair was asked (details: tasks, id)
    CANCEL_ASKED = "run.cancel_asked"  # a user asked to cancel a run or a task (runs/cancel)
    ATTEMPT_STARTED = "task.attempt_started"  # an attempt's process started
    ATTEMPT_ENDED = "task.attempt_ended"  # an attempt (or a skipped task run) ended
    NOTIFICATION_SENT = "notification.sent"  # a delivery was accepted by its destination
    NOTIFICATION_FAILED = "notification.failed"  # a delivery was given up (rejected or dead)
    NOTIFICATION_REQUEUED = "notification.requeued"  # given-up ones retried (outbox_ids)
    SCOPE_CREATED = "secret.scope_created"  # details: scope
    SCOPE_DELETED = "secret.scope_deleted"  # details: scope
    SCOPE_KEY_PUT = "secret.put"  # a secret's value was stored (details: scope, key; never value)
    SCOPE_KEY_READ = "secret.read"  # a secret's value was read through the service (API, CLI)
    SCOPE_KEY_DELETED = "secret.deleted"  # details: scope, key
    SCOPE_ACL_PUT = "secret.acl_put"  # an ACL entry set (details: scope, principal, permission)
    SCOPE_ACL_DELETED = "secret.acl_deleted"  # an ACL entry removed (details: scope, principal)
    GIT_CREDENTIAL_CREATED = "git_credential.created"  # details: id, provider (never the token)
    GIT_CREDENTIAL_UPDATED = "git_credential.updated"  # details: id, provider, token_changed
    GIT_CREDENTIAL_DELETED = "git_credential.deleted"  # details: id
    WORKSPACE_SYNCED = "workspace.synced"  # a deploy copied a bundle's files (path, counts)
    WORKSPACE_REMOVED = "workspace.removed"  # a destroy deleted a bundle's folder (path)
    WORKSPACE_IMPORTED = "workspace.imported"  # Workspace API import (path, type, size, ...)
    WORKSPACE_FOLDER_MADE = "workspace.folder_made"  # Workspace API mkdirs made a folder (path)
    WORKSPACE_DELETED = "workspace.deleted"  # Workspace API delete (path, type, recursive)
    FILES_UPLOADED = "files.uploaded"  # Files API upload into a volume (path, size, overwrote)
    FILES_DELETED = "files.deleted"  # Files API delete of a file (path)
    # An API token was made (details: token_id, user, admin, expiry_time, comment), or revoked
    # (details: revoked, the ids: the token and the web sessions opened with it; or user).
    TOKEN_CREATED = "token.created"  # noqa: S105 - an action's name, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an action's name, not a secret
    SESSION_OPENED = "session.opened"  # a web sign-in (details: token_id, session's, address)
    SESSION_CLOSED = "session.closed"  # a web sign-out (details: revoked: the session's id)
    FILES_DIRECTORY_MADE = "files.directory_made"  # Files API made a directory (path)
    FILES_DIRECTORY_DELETED = "files.directory_deleted"  # Files API deleted one (path)
    AUDIT_REANCHORED = "audit.reanchored"  # a restore recorded: anchor moved (reason, ends)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited action, before the store numbers and chains it."""

    at: datetime
    actor: str
    action: AuditAction
    job_id: int | None = None
    run_id: int | None = None
    task_key: str | None = None
    attempt: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready values only


@dataclass(frozen=True, slots=True)
class StoredAuditEntry:
    """An entry as stored: its number, the previous entry's hash and its own."""

    entry_id: int
    entry: AuditEntry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of `verify_chain`: how many entries were checked, the first bad one."""

    checked: int
    first_bad: int | None = None  # entry id, when the problem is an entry's
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def canonical(entry_id: int, entry: AuditEntry) -> str:
    """The canonical JSON text of an entry: sorted keys, UTC microseconds, no spaces."""
    body = {
        "id": entry_id,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": str(entry.action),
        "job_id": entry.job_id,
        "run_id": entry.run_id,
        "task_key": entry.task_key,
        "attempt": entry.attempt,
        "details": entry.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry_id: int, entry: AuditEntry, prev_hash: str) -> str:
    """sha256 (hex) of the canonical entry followed by the previous entry's hash."""
    text = canonical(entry_id, entry) + prev_hash
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain(entries: Sequence[AuditEntry], last_id: int, last_hash: str
          ) -> list[StoredAuditEntry]:
    """Number and hash `entries` after the entry `last_id` whose hash is `last_hash`."""
    stored: list[StoredAuditEntry] = []
    prev = last_hash
    for offset, entry in enumerate(entries, start=1):
        digest = entry_hash(last_id + offset, entry, prev)
        stored.append(StoredAuditEntry(last_id + offset, entry, prev, digest))
        prev = digest
    return stored


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint of the chain's head kept outside the database: entry `entry_id` had
    `hash` when `at` (text, for the report) was written."""

    entry_id: int
    hash: str
    at: str = ""


@dataclass(frozen=True, slots=True)
class UnreadableEntry:
    """A stored entry that cannot even be parsed (a corrupted row)."""

    entry_id: int
    problem: str


def verify_chain(stored: Iterable[StoredAuditEntry | UnreadableEntry],
                 head: tuple[int, str] | None = None, anchors: Sequence[Anchor] = ()
                 ) -> ChainReport:
    """Recompute the chain, oldest first; name the first entry that does not match.

    `head` is the (last id, last hash) the store keeps beside the log: a log cut short at
    its end is caught by comparing with it. `anchors` are heads written outside the
    database as the log grew: a log cut and re-headed, or rewritten from some entry on with
    every later hash recomputed, no longer holds what they saw.
    """
    anchored: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        anchored.setdefault(anchor.entry_id, []).append(anchor)
    expected_id, prev, checked = 1, GENESIS, 0
    for item in stored:
        problem = _entry_problem(item, expected_id, prev, anchored.get(item.entry_id, ()))
        if problem:
            return ChainReport(checked, item.entry_id, problem)
        assert isinstance(item, StoredAuditEntry)
        prev, expected_id, checked = item.hash, expected_id + 1, checked + 1
    last = expected_id - 1
    if head is not None and head != (last, prev):
        return ChainReport(checked, expected_id,
                           f"the log ends at entry {last} but the chain head says "
                           f"entry {head[0]}: entries were removed from its end")
    beyond = [a for a in anchors if a.entry_id > last]
    if beyond:
        top = max(beyond, key=lambda a: a.entry_id)
        return ChainReport(checked, last + 1,
                           f"the log ends at entry {last} but the anchor saw entry "
                           f"{top.entry_id} at {top.at}: entries were removed from its end "
                           "(and the chain head moved back)")
    return ChainReport(checked)


def _entry_problem(item: StoredAuditEntry | UnreadableEntry, expected_id: int, prev: str,
                   anchors: Iterable[Anchor]) -> str:
    """What is wrong with one entry of the chain ("" when nothing)."""
    if isinstance(item, UnreadableEntry):
        return f"entry {item.entry_id} cannot be read: {item.problem}"
    if item.entry_id != expected_id:
        return (f"entry {item.entry_id} follows entry {expected_id - 1}: entries "
                f"{expected_id}..{item.entry_id - 1} are missing")
    if item.prev_hash != prev:
        return f"entry {item.entry_id}: its prev_hash is not the hash of entry {expected_id - 1}"
    if entry_hash(item.entry_id, item.entry, prev) != item.hash:
        return (f"entry {item.entry_id}: its content does not match its hash (it was altered "
                "after it was written)")
    for anchor in anchors:
        if anchor.hash != item.hash:
            return (f"entry {item.entry_id} is not the one the anchor saw at {anchor.at}: the "
                    "log was rewritten from there on")
    return ""


# -- entries of a state change ------------------------------------------------------------


def transition_entries(actor: str, run_id: int, job_id: int, trigger: str,
                       parameters: Mapping[str, str], old: RunState, new: RunState,
                       changed: Sequence[int], event: Event) -> list[AuditEntry]:
    """The audit entries of one decision: run start/end, cancel, repair, attempts."""
    def entry(action: AuditAction, **fields: Any) -> AuditEntry:
        return AuditEntry(at=event.at, actor=actor, action=action, job_id=job_id,
                          run_id=run_id, **fields)

    found: list[AuditEntry] = []
    if isinstance(event, RunStarted) and new.life_cycle is not old.life_cycle:
        found.append(entry(AuditAction.RUN_STARTED,
                           details={"trigger": trigger, "parameters": dict(parameters)}))
    elif isinstance(event, RepairRequested) and new.repairs != old.repairs:
        found.append(entry(AuditAction.RUN_REPAIRED, details={
            "repair_id": event.repair_id, "job_version": event.job_version,
            "rerun_tasks": list(event.task_keys), "rerun_dependents": event.rerun_dependents}))
    elif isinstance(event, CancelRequested):
        found.append(entry(AuditAction.CANCEL_REQUESTED, task_key=event.task_key))
    for seq in dict.fromkeys(changed):
        found.extend(_attempt_entries(entry, old.task_runs.get(seq), new.task_runs.get(seq)))
    if new.is_terminal and not old.is_terminal:
        code = status_of(new.life_cycle, new.result, new.message, new.termination_code).code
        found.append(entry(AuditAction.RUN_ENDED, details={
            "life_cycle": str(new.life_cycle), "result": _text(new.result),
            "termination_code": _text(code), "message": new.message,
            **_duration(new.start_time, new.end_time)}))
    return found


def _attempt_entries(entry: Any, before: TaskRun | None, after: TaskRun | None
                     ) -> list[AuditEntry]:
    if after is None:
        return []
    fields = {"task_key": after.task_key, "attempt": after.attempt_number}
    ids: dict[str, Any] = {"seq": after.seq}
    if after.iteration is not None:
        ids["iteration"] = after.iteration
    started = after.life_cycle is LifeCycleState.RUNNING and (
        before is None or before.life_cycle is not LifeCycleState.RUNNING)
    if started:
        return [entry(AuditAction.ATTEMPT_STARTED, **fields,
                      details={**ids, "handle": after.handle})]
    if after.is_terminal and (before is None or not before.is_terminal):
        return [entry(AuditAction.ATTEMPT_ENDED, **fields, details={
            **ids, "result": _text(after.result), "message": after.message,
            "exit_code": after.exit_code, **_duration(after.start_time, after.end_time)})]
    return []


def _duration(start: datetime | None, end: datetime | None) -> dict[str, int]:
    """`duration_ms` from start to end, when both are known (what monitoring reads)."""
    if start is None or end is None:
        return {}
    return {"duration_ms": round((end - start).total_seconds() * 1000)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def run_resumed(at: datetime, actor: str, run_id: int, job_id: int,
                details: Mapping[str, Any] | None = None) -> AuditEntry:
    """The entry an engine writes when it takes over a run another engine had driven."""
    return AuditEntry(at=at, actor=actor, action=AuditAction.RUN_RESUMED, job_id=job_id,
                      run_id=run_id, details=dict(details or {}))


# -- task metrics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskMetric:
    """One figure an attempt recorded (`seq` names the attempt in its run)."""

    seq: int
    name: str
    value: float


def parse_metrics(seq: int, text: str) -> list[TaskMetric]:
    """The figures of a `metrics.jsonl` text; the last value of a name wins.

    Lines that are not `{"name": str, "value": number}` (finite) are skipped: a task's bad
    line must not fail the attempt after the fact.
    """
    found: dict[str, float] = {}
    for line in text.splitlines():
        try:
            body = json.loads(line)
        except ValueError:
            continue
        if not isinstance(body, dict):
            continue
        name, value = body.get("name"), body.get("value")
        if (isinstance(name, str) and name and isinstance(value, int | float)
                and not isinstance(value, bool) and math.isfinite(value)):
            found[name] = float(value)
    return [TaskMetric(seq, name, value) for name, value in found.items()]


__all__ = [
    "GENESIS",
    "SYSTEM_ACTOR",
    "AuditAction",
    "AuditEntry",
    "ChainReport",
    "StoredAuditEntry",
    "TaskMetric",
    "canonical",
    "chain",
    "entry_hash",
    "parse_metrics",
    "run_resumed",
    "transition_entries",
    "verify_chain",
]
