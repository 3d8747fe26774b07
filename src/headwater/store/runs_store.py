"""`SqlStore`'s methods that change runs: creation with admission, fenced transitions, requests,
leases. A mixin, so that `sql.py` stays about jobs and reads; each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, update
from sqlalchemy.exc import IntegrityError

from headwater.core.admission import Verdict
from headwater.core.audit import AuditAction, AuditEntry, TaskMetric, run_resumed
from headwater.core.events import Event
from headwater.core.notifications import OutboxItem, RunContext
from headwater.core.run_scope import WHOLE_JOB, RunScope
from headwater.core.runstate import RunState
from headwater.core.states import LifeCycleState
from headwater.errors import InvalidRequest, InvalidState, LeaseLost, NotFound
from headwater.ports import (
    CANCEL,
    Claim,
    Clock,
    JobRecord,
    NewRun,
    RunCreated,
    RunRequest,
    Transition,
)
from headwater.store import admission_queries, lease_queries, ops_queries, run_queries
from headwater.store.dialects import serialize
from headwater.store.rows import scope_values
from headwater.store.skipped_runs import alert_skipped, cancel_queued, expire_queued, skipped
from headwater.store.tables import jobs, runs

_CANCELS_AT_ONCE = 500  # run ids in one IN list, well under SQLite's bound on variables


class RunsMixin:
    """Run writes, requests and leases; mixed into `SqlStore`."""

    lease_clock: Clock | None

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # Creating runs.

    def create_run(self, job: JobRecord, state: RunState, parameters: Mapping[str, str],
                   trigger: str, creator: str, workdir: str, at: datetime, *,
                   owner: str | None = None, lease_seconds: float = 0.0,
                   idempotency_token: str | None = None, run_type: str = "JOB_RUN",
                   run_as: str | None = None, scope: RunScope = WHOLE_JOB,
                   queue: bool | None = None,
                   trigger_info: Mapping[str, Any] | None = None) -> RunCreated:
        """Store a new run; `max_concurrent_runs` and the queue decide if it starts now.

        A run that starts is PENDING and needs an engine; with an `owner` it is created
        leased to that engine (`headwater run` drives the run it starts). A run over the
        limit is QUEUED, or SKIPPED (audited) when it may not wait. With an
        `idempotency_token` already used for the job, that run is returned instead.
        """
        new = NewRun(job, state, parameters, trigger, creator, workdir, at, owner,
                     lease_seconds, idempotency_token=idempotency_token, run_type=run_type,
                     run_as=run_as, scope=scope, queue=queue, trigger_info=trigger_info)
        try:
            with self._writing() as conn:
                return create_run(conn, self.lease_clock, new)
        except IntegrityError:  # the same token, at the same moment: that run stands
            if idempotency_token is None:
                raise
            with self._reading() as conn:
                found = _idempotent(conn, new)
            assert found is not None
            return found

    def create_runs(self, news: Sequence[NewRun], audit: AuditEntry) -> list[RunCreated]:
        """Store several runs at once (a backfill's), each started or queued in turn, and
        `audit` with their ids (`run_ids`); `InvalidRequest` and none stored when one of them
        would be skipped (its job's queue is off or full)."""
        with self._writing() as conn:
            created = [create_run(conn, self.lease_clock, new, may_skip=False) for new in news]
            ops_queries.append_audit(conn, [replace(audit, details={
                **audit.details, "run_ids": [run.run_id for run in created]})])
        return created

    def submitted_run(self, creator: str, token: str) -> RunCreated | None:
        """The one-time run `creator` submitted with this idempotency token, if any;
        `InvalidRequest` if it was deleted."""
        with self._reading() as conn:
            return _token_run(conn, _submitted_with(creator, token))

    def delete_run(self, run_id: int, at: datetime, actor: str) -> None:
        """Delete an ended run: it is gone from every list and lookup; audited.

        Raises:
            InvalidState: while the run has not ended.
        """
        with self._writing() as conn:
            row = conn.execute(select(runs.c.job_id, runs.c.life_cycle).where(
                runs.c.run_id == run_id, runs.c.deleted.is_(False))).first()
            if row is None:
                raise NotFound(f"Run {run_id} does not exist.")
            if row.life_cycle not in run_queries.TERMINAL:
                raise InvalidState(f"Run {run_id} is still active ({row.life_cycle}); cancel "
                                   "it before deleting it.")
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(deleted=True))
            ops_queries.append_audit(conn, [AuditEntry(
                at=at, actor=actor, action=AuditAction.RUN_DELETED, job_id=row.job_id,
                run_id=run_id)])

    # What engines write.

    def record(self, run_id: int, fence: int, event: Event, state: RunState,
               changed: Sequence[int], *, outbox: Sequence[OutboxItem] = (),
               audit: Sequence[AuditEntry] = (), metrics: Sequence[TaskMetric] = (),
               outputs: Mapping[int, Mapping[str, Any]] | None = None,
               handled: Sequence[int] = (), job_version: int | None = None,
               parameters: Mapping[str, str] | None = None) -> Mapping[int, int]:
        """In ONE transaction, under the engine's `fence`: append `event`, save the run row
        and the changed task runs, the decision's outbox rows, audit entries, task metrics
        and attempt outputs, mark the `handled` requests, and (for a repair) move the run to
        `job_version` with `parameters`. When the run ends, it stops needing an engine unless
        a request waits, and the next runs waiting in its job's queue are admitted.

        Returns seq -> global task run id for the task runs in `changed`.

        Raises:
            LeaseLost: when another engine has claimed the run since: nothing is written.
        """
        return self.record_all(run_id, fence, [Transition(
            event, state, changed, outbox=outbox, audit=audit, metrics=metrics,
            outputs=outputs, handled=handled, job_version=job_version,
            parameters=parameters)])

    def record_all(self, run_id: int, fence: int, transitions: Sequence[Transition],
                   known: Mapping[int, int] | None = None) -> Mapping[int, int]:
        """`record` of each transition in order, in ONE transaction: one commit, and one
        move of the audit chain's head for all their entries.

        Raises:
            LeaseLost: when another engine has claimed the run since: nothing is written.
        """
        audit = [entry for item in transitions for entry in item.audit]
        with self._writing() as conn:
            ids = run_queries.record_transitions(
                conn, run_id, fence, [(t.event, t.state, t.changed) for t in transitions],
                known or {})
            for item in transitions:
                if item.job_version is not None or item.parameters is not None:
                    run_queries.set_job_version(conn, run_id, item.job_version,
                                                item.parameters)
                run_queries.mark_handled(conn, run_id, item.handled, item.event.at)
                if item.state.is_terminal:  # before the audit: the job's row, then its head
                    self._run_ended(conn, run_id, item.event.at)
                if item.outbox or item.metrics:
                    ops_queries.write_effects(conn, run_id, ids, item.outbox, (),
                                              item.metrics, item.event.at)
                if item.outputs:
                    ops_queries.write_outputs(conn, run_id, ids, item.outputs)
            if audit:
                ops_queries.append_audit(conn, audit)
        return ids

    def _run_ended(self, conn: Connection, run_id: int, at: datetime) -> None:
        waiting = bool(run_queries.pending_requests(conn, [run_id]))
        values: dict[str, object] = {"needs_engine": waiting}
        if not waiting:
            values.update(lease_owner=None, lease_expires_ms=None)
        job_id = conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values)
                              .returning(runs.c.job_id)).scalar_one()
        admission_queries.admit_queued(conn, job_id, at)

    # Requests from other processes.

    def request_cancel(self, run_id: int, task_key: str | None, at: datetime,
                       actor: str | None = None) -> int:
        """Ask the engine driving the run to cancel it (or one task); `NotFound` otherwise.
        With an `actor` (a user, not an engine), the request is audited under their name."""
        with self._writing() as conn:
            request_id = run_queries.add_request(conn, run_id, CANCEL, task_key, at)
            if actor is not None:
                _audit_request(conn, at, actor, AuditAction.CANCEL_ASKED, run_id,
                               {"task_key": task_key})
            return request_id

    def request_repair(self, run_id: int, body: Mapping[str, object], at: datetime) -> int:
        """Ask an engine to repair an ended run (see `run_queries.add_repair_request`),
        audited under the body's `actor` when it names one."""
        with self._writing() as conn:
            request_id = run_queries.add_repair_request(conn, run_id, body, at)
            if body.get("actor") is not None:
                _audit_request(conn, at, str(body["actor"]), AuditAction.REPAIR_REQUESTED,
                               run_id, {"repair_id": body.get("repair_id"),
                                        "rerun_tasks": body.get("task_keys")})
            return request_id

    def cancel_queued(self, run_ids: Sequence[int], at: datetime, actor: str) -> list[int]:
        """End the runs of `run_ids` still waiting in their queue as CANCELED, all in one
        transaction (no slot a run of them frees meanwhile admits another), audited and
        alerted; those ended, in `run_ids` order."""
        ended: set[int] = set()
        with self._writing() as conn:
            for start in range(0, len(run_ids), _CANCELS_AT_ONCE):
                ended.update(cancel_queued(conn, run_ids[start:start + _CANCELS_AT_ONCE], at,
                                           actor))
        return [run_id for run_id in run_ids if run_id in ended]

    def pending_requests(self, run_ids: Sequence[int]) -> list[RunRequest]:
        """The unhandled requests of these runs, oldest first (one read; cheap when none)."""
        with self._reading() as conn:
            return run_queries.pending_requests(conn, run_ids)

    def drop_requests(self, run_id: int, fence: int, request_ids: Sequence[int],
                      at: datetime) -> None:
        """Mark requests handled that turned into no event (a cancel of an ended run)."""
        with self._writing() as conn:
            _check_fence(conn, run_id, fence)
            run_queries.mark_handled(conn, run_id, request_ids, at)

    # Leases.

    def claim_runs(self, owner: str, limit: int, lease_seconds: float, at: datetime,
                   actor: str, run_ids: Collection[int] | None = None,
                   take_from: Collection[str] = (), skip: Collection[int] = ()) -> list[Claim]:
        """Claim up to `limit` runs that need an engine and have no live lease (not those
        of `skip`).

        A claim of a run that had started (a takeover) is audited `run.resumed`.
        """
        with self._reading() as conn:
            if not lease_queries.claimable_count(conn, self.lease_clock, take_from, skip):
                return []
        with self._writing() as conn:
            found = lease_queries.claim(conn, owner, self.lease_clock,
                                        int(lease_seconds * 1000), limit, run_ids, take_from,
                                        skip)
            resumed = [run_resumed(at, actor, claim.run_id, _job_of(conn, claim.run_id), {
                "engine": owner, "previous_engine": claim.previous_owner,
                "fence": claim.fence}) for claim, life in found
                if life != str(LifeCycleState.PENDING) or claim.previous_owner is not None]
            if resumed:
                ops_queries.append_audit(conn, resumed)
            return [claim for claim, _ in found]

    def renew_leases(self, owner: str, fences: Mapping[int, int],
                     lease_seconds: float) -> set[int]:
        """Extend `owner`'s leases (run id -> fence); the run ids it no longer holds."""
        with self._writing() as conn:
            return lease_queries.renew(conn, owner, fences, self.lease_clock,
                                       int(lease_seconds * 1000))

    def release_run(self, run_id: int, fence: int) -> bool:
        """Hand a run back so that another engine claims it at once; False if not held.

        A run that has ended with no request left needs no engine any more. A run that ended
        with a request still waiting (a cancel that came as it ended) keeps needing one until
        that request is handled, here by being dropped: without this, every engine would claim
        the ended run again, and again, for ever."""
        with self._writing() as conn:
            if not lease_queries.release(conn, run_id, fence):
                return False
            # The release's UPDATE holds the run's row: a repair asked at this moment sets
            # `needs_engine` after this transaction commits, or its request is seen here.
            life = conn.execute(select(runs.c.life_cycle).where(runs.c.run_id == run_id)
                                ).scalar()
            if life in run_queries.TERMINAL and not run_queries.has_pending_requests(conn,
                                                                                     run_id):
                conn.execute(update(runs).where(runs.c.run_id == run_id)
                             .values(needs_engine=False))
            return True

    def live_lease_owner(self, run_id: int) -> str | None:
        """The engine driving the run now (its lease unexpired); None when none does."""
        with self._reading() as conn:
            return lease_queries.live_owner(conn, self.lease_clock, run_id)

    def lease_owners(self, prefix: str) -> set[str]:
        """The engines named `prefix...` that hold leases (to find dead ones on this host)."""
        with self._reading() as conn:
            return lease_queries.lease_owners(conn, prefix)

    def admit_queued(self, at: datetime, actor: str = "headwater") -> list[int]:
        """Admit queued runs wherever a slot is free, once those that waited too long are
        skipped (store/skipped_runs.py); the run ids admitted."""
        with self._reading() as conn:
            job_ids = admission_queries.jobs_with_queued_runs(conn)
        admitted: list[int] = []
        for job_id in job_ids:
            with self._writing() as conn:
                expire_queued(conn, job_id, at, actor)
                admitted += admission_queries.admit_queued(conn, job_id, at)
        return admitted


def create_run(conn: Connection, lease_clock: Clock | None, new: NewRun,
               may_skip: bool = True) -> RunCreated:
    """Insert a run, admitted (PENDING, leased to `new.owner` if given), QUEUED or SKIPPED;
    or return the run the same idempotency token made. Without `may_skip`, a run that would
    be skipped raises `InvalidRequest` instead (the transaction then stores nothing)."""
    if new.idempotency_token is not None:
        found = _idempotent(conn, new)
        if found is not None:
            return found
    state, at = new.state, new.at
    verdict = admission_queries.admission(conn, new.job.job_id, new.job.settings, new.queue)
    lease: dict[str, object] = {}
    if verdict.verdict is Verdict.START:
        lease = {"needs_engine": True}
        if new.owner is not None:
            expires = lease_queries.now_ms(conn, lease_clock) + int(new.lease_seconds * 1000)
            lease.update(lease_owner=new.owner, lease_expires_ms=expires, fence=1)
    elif verdict.verdict is Verdict.QUEUE:
        state = _replace(state, life_cycle=LifeCycleState.QUEUED)
    elif not may_skip:
        why = verdict.message.removeprefix("Skipped: ")
        raise InvalidRequest(f"The runs cannot all wait their turn: counting the runs asked "
                             f"for before it, one would be skipped: {why} Enable the job's "
                             "queue (queue: {enabled: true}), raise its max_concurrent_runs, "
                             "or ask for fewer runs.")
    else:
        state = skipped(state, verdict.message, verdict.code, at)
    if new.trigger_info is not None:
        lease["trigger_info"] = dict(new.trigger_info)
    lease.update(scope_values(new.scope))
    lease.update(idempotency_token=new.idempotency_token, run_type=new.run_type,
                 run_as=new.run_as or new.job.creator)
    run_id, _ = run_queries.insert_run(conn, new.job, state, new.parameters, new.trigger,
                                       new.creator, new.workdir, at, **lease)
    if state.life_cycle is LifeCycleState.SKIPPED:
        alert_skipped(conn, new.job, run_id, state,
                      RunContext(run_id, new.job.job_id, new.job.name, new.creator, new.trigger,
                                 new.parameters), at)
    action = {Verdict.START: AuditAction.RUN_REQUESTED, Verdict.QUEUE: AuditAction.RUN_QUEUED
              }.get(verdict.verdict, AuditAction.RUN_SKIPPED)
    ops_queries.append_audit(conn, [AuditEntry(
        at=at, actor=new.creator, action=action, job_id=new.job.job_id, run_id=run_id,
        details={"trigger": new.trigger, "message": verdict.message, "run_type": new.run_type,
                 "run_as": lease["run_as"], **new.scope.facts()})])
    return RunCreated(run_id, str(state.life_cycle), verdict.message,
                      fence=1 if lease.get("lease_owner") else 0)


def _idempotent(conn: Connection, new: NewRun) -> RunCreated | None:
    """The run `new.idempotency_token` already made, if any: for the job; for a one-time run,
    among its creator's one-time runs. Each of those has a hidden job of its own, which no
    unique index can tie to the token: they wait for each other here, on PostgreSQL as
    SQLite's `BEGIN IMMEDIATE` makes every writer wait, and the hidden job of one that finds
    its run made already is deleted (its run is the one that was made)."""
    token = str(new.idempotency_token)
    if new.run_type != "SUBMIT_RUN":
        return _token_run(conn, (runs.c.job_id == new.job.job_id,
                                 runs.c.idempotency_token == token))
    serialize(conn, f"runs/submit {new.creator} {token}")
    found = _token_run(conn, _submitted_with(new.creator, token))
    if found is not None:
        conn.execute(update(jobs).where(jobs.c.job_id == new.job.job_id, jobs.c.hidden.is_(True))
                     .values(deleted=True))
    return found


def _submitted_with(creator: str, token: str) -> tuple[ColumnElement[bool], ...]:
    return (runs.c.run_type == "SUBMIT_RUN", runs.c.creator == creator,
            runs.c.idempotency_token == token)


def _token_run(conn: Connection, where: tuple[ColumnElement[bool], ...]) -> RunCreated | None:
    """The run an idempotency token made, if any; `InvalidRequest` if it was deleted, as the
    Jobs API refuses a deleted run's token."""
    row = conn.execute(select(runs.c.run_id, runs.c.life_cycle, runs.c.message,
                              runs.c.deleted).where(*where)).first()
    if row is not None and row.deleted:
        raise InvalidRequest(f"$.idempotency_token: run {row.run_id}, which this token "
                             "started, was deleted; a deleted run's token cannot be used "
                             "again: give another token")
    return None if row is None else RunCreated(row.run_id, row.life_cycle, row.message)


def _check_fence(conn: Connection, run_id: int, fence: int) -> None:
    current = conn.execute(select(runs.c.fence).where(runs.c.run_id == run_id)).scalar()
    if current is None:
        run_queries.check_run_exists(conn, run_id)
    if current != fence:
        raise LeaseLost(run_id, fence)


def _job_of(conn: Connection, run_id: int) -> int:
    return int(conn.execute(select(runs.c.job_id).where(runs.c.run_id == run_id)).scalar_one())


def _replace(state: RunState, **changes: object) -> RunState:
    return replace(state, **changes)  # type: ignore[arg-type]


__all__ = ["RunsMixin"]


def _audit_request(conn: Connection, at: datetime, actor: str, action: AuditAction,
                   run_id: int, details: Mapping[str, Any]) -> None:
    """The audit entry of a request a user made of the engine driving a run."""
    ops_queries.append_audit(conn, [AuditEntry(
        at=at, actor=actor, action=action, job_id=_job_of(conn, run_id), run_id=run_id,
        details=dict(details))])
