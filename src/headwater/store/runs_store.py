"""`SqlStore`'s methods that change runs: creation with admission, fenced transitions, requests,
leases. A mixin, so that `sql.py` stays about jobs and reads; each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from headwater.core.admission import Verdict
from headwater.core.audit import AuditAction, AuditEntry, TaskMetric, run_resumed
from headwater.core.events import Event
from headwater.core.notifications import OutboxItem
from headwater.core.runstate import RunState
from headwater.core.states import LifeCycleState, ResultState
from headwater.errors import LeaseLost
from headwater.ports import Claim, Clock, JobRecord, NewRun, RunCreated, RunRequest
from headwater.store import admission_queries, lease_queries, ops_queries, run_queries
from headwater.store.tables import runs


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
                   owner: str | None = None, lease_seconds: float = 0.0) -> RunCreated:
        """Store a new run; `max_concurrent_runs` and the queue decide if it starts now.

        A run that starts is PENDING and needs an engine; with an `owner` it is created
        leased to that engine (`headwater run` drives the run it starts). A run over the
        limit is QUEUED, or SKIPPED (audited) when it may not wait.
        """
        with self._writing() as conn:
            return create_run(conn, self.lease_clock, NewRun(
                job, state, parameters, trigger, creator, workdir, at, owner, lease_seconds))

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
        with self._writing() as conn:
            ids = run_queries.record_transition(conn, run_id, fence, event, state, changed)
            if job_version is not None or parameters is not None:
                run_queries.set_job_version(conn, run_id, job_version, parameters)
            if outbox or audit or metrics:
                ops_queries.write_effects(conn, run_id, ids, outbox, audit, metrics, event.at)
            if outputs:
                ops_queries.write_outputs(conn, run_id, ids, outputs)
            run_queries.mark_handled(conn, run_id, handled, event.at)
            if state.is_terminal:
                self._run_ended(conn, run_id, event.at)
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

    def request_cancel(self, run_id: int, task_key: str | None, at: datetime) -> int:
        """Ask the engine driving the run to cancel it (or one task); `NotFound` otherwise."""
        with self._writing() as conn:
            return run_queries.add_request(conn, run_id, run_queries.CANCEL, task_key, at)

    def request_repair(self, run_id: int, body: Mapping[str, object], at: datetime) -> int:
        """Ask an engine to repair an ended run (see `run_queries.add_repair_request`)."""
        with self._writing() as conn:
            return run_queries.add_repair_request(conn, run_id, body, at)

    def cancel_queued(self, run_id: int, at: datetime, actor: str) -> bool:
        """End a run still waiting in its queue as CANCELED; False if it is not queued."""
        with self._writing() as conn:
            row = conn.execute(
                update(runs).where(runs.c.run_id == run_id,
                                   runs.c.life_cycle == str(LifeCycleState.QUEUED))
                .values(life_cycle=str(LifeCycleState.TERMINATED),
                        result=str(ResultState.CANCELED), end_time=at, needs_engine=False,
                        message="The run was cancelled while it waited in the queue.")
                .returning(runs.c.job_id)).first()
            if row is None:
                return False
            ops_queries.append_audit(conn, [AuditEntry(
                at=at, actor=actor, action=AuditAction.CANCEL_REQUESTED, job_id=row.job_id,
                run_id=run_id, details={"queued": True})])
            return True

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
                   take_from: Collection[str] = ()) -> list[Claim]:
        """Claim up to `limit` runs that need an engine and have no live lease.

        A claim of a run that had started (a takeover) is audited `run.resumed`.
        """
        with self._reading() as conn:
            if not lease_queries.claimable_count(conn, self.lease_clock, take_from):
                return []
        with self._writing() as conn:
            found = lease_queries.claim(conn, owner, self.lease_clock,
                                        int(lease_seconds * 1000), limit, run_ids, take_from)
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
        """Hand a run back so that another engine claims it at once; False if not held."""
        with self._writing() as conn:
            return lease_queries.release(conn, run_id, fence)

    def lease_owners(self, prefix: str) -> set[str]:
        """The engines named `prefix...` that hold leases (to find dead ones on this host)."""
        with self._reading() as conn:
            return lease_queries.lease_owners(conn, prefix)

    def admit_queued(self, at: datetime) -> list[int]:
        """Admit queued runs wherever a slot is free; the run ids admitted."""
        with self._reading() as conn:
            job_ids = admission_queries.jobs_with_queued_runs(conn)
        admitted: list[int] = []
        for job_id in job_ids:
            with self._writing() as conn:
                admitted += admission_queries.admit_queued(conn, job_id, at)
        return admitted


def create_run(conn: Connection, lease_clock: Clock | None, new: NewRun) -> RunCreated:
    """Insert a run, admitted (PENDING, leased to `new.owner` if given), QUEUED or SKIPPED."""
    state, at = new.state, new.at
    verdict = admission_queries.admission(conn, new.job.job_id, new.job.settings)
    lease: dict[str, object] = {}
    if verdict.verdict is Verdict.START:
        lease = {"needs_engine": True}
        if new.owner is not None:
            expires = lease_queries.now_ms(conn, lease_clock) + int(new.lease_seconds * 1000)
            lease.update(lease_owner=new.owner, lease_expires_ms=expires, fence=1)
    elif verdict.verdict is Verdict.QUEUE:
        state = _replace(state, life_cycle=LifeCycleState.QUEUED)
    else:
        state = _replace(state, life_cycle=LifeCycleState.SKIPPED,
                         result=ResultState.MAXIMUM_CONCURRENT_RUNS_REACHED,
                         message=verdict.message, end_time=at, termination_code=verdict.code)
    if new.trigger_info is not None:
        lease["trigger_info"] = dict(new.trigger_info)
    run_id, _ = run_queries.insert_run(conn, new.job, state, new.parameters, new.trigger,
                                       new.creator, new.workdir, at, **lease)
    if verdict.verdict is not Verdict.START:
        action = (AuditAction.RUN_QUEUED if verdict.verdict is Verdict.QUEUE
                  else AuditAction.RUN_SKIPPED)
        ops_queries.append_audit(conn, [AuditEntry(
            at=at, actor=new.creator, action=action, job_id=new.job.job_id, run_id=run_id,
            details={"trigger": new.trigger, "message": verdict.message})])
    return RunCreated(run_id, str(state.life_cycle), verdict.message,
                      fence=1 if lease.get("lease_owner") else 0)


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
