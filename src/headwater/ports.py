"""The seams between the engine and the world: Protocols that the adapters implement.

The engine and the service receive these as arguments; only `bootstrap.py` knows which
adapter (SQLite or PostgreSQL store, local or Dask executor, ...) stands behind each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from headwater.core.audit import AuditEntry, TaskMetric
    from headwater.core.events import Event
    from headwater.core.notifications import Delivery, DeliveryOutcome, OutboxItem
    from headwater.core.plan import Plan
    from headwater.core.runstate import RunState
    from headwater.core.spec import Task


class Clock(Protocol):
    """The only source of time outside the tests' fake clocks."""

    def now(self) -> datetime:
        """An aware UTC instant."""
        ...


@dataclass(frozen=True, slots=True)
class AttemptKey:
    """Names one attempt everywhere: a re-sent command or a stale exit is recognised by it."""

    run_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """What a runner hands to an executor: a process to start, never a shell string."""

    argv: Sequence[str]
    env: Mapping[str, str]  # added to the engine's own environment
    cwd: Path
    log_path: Path  # stdout and stderr of the attempt, appended
    # Files to place in the attempt's directory before it starts (name -> text): the
    # context.json the task reads. They travel with the launch, so a remote executor can
    # write them where the attempt runs.
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def attempt_dir(self) -> Path:
        """The attempt's own directory: its log, its files, and the executor's records."""
        return self.log_path.parent


@dataclass(frozen=True, slots=True)
class TaskExit:
    """An attempt ended: by itself (`exit_code`), by a signal (`signal`), or it was lost.

    What the attempt left behind comes back with its exit, so that the engine never reads
    the attempt's folder (which may be on another machine): the task values it set
    (`values`, the text of values.jsonl), the figures it recorded (`metrics`, the text of
    metrics.jsonl) and its result (`result`, result.json: a notebook's exit value, an error
    and its trace, a SQL result, `setup_seconds`).

    `start_error` says why the attempt's program could not start (no such program or
    working directory); `lost` says why no exit was recorded (the attempt's parent died
    with it, say). A lost attempt counts as a failed attempt.
    """

    key: AttemptKey
    exit_code: int | None
    signal: int | None = None
    at: datetime | None = None
    values: str | None = None
    metrics: str | None = None
    result: Mapping[str, object] = field(default_factory=dict)
    start_error: str | None = None
    lost: str | None = None


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What a runner may use to build the launch of one attempt."""

    run_id: int
    task_run_id: int
    task_key: str
    attempt_number: int
    job_id: int
    job_name: str
    workdir: Path  # the job file's directory: relative paths in the spec start here
    log_path: Path
    parameters: Mapping[str, str] = field(default_factory=dict)
    attempt_dir: Path | None = None  # the attempt's files: see headwater/attempts.py
    environment: Mapping[str, object] | None = None  # the task's `environments[].spec`, if any


class Runner(Protocol):
    """Turns one task type's settings into the process that runs an attempt."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """The argv, environment and working directory of the attempt; never a shell string.

        Raises:
            InvalidRequest: when the settings cannot run (a missing file, say), with a
                message for the task's `state_message`.
        """
        ...


class Executor(Protocol):
    """Starts attempts, watches them, kills their whole trees, reports their exits.

    An attempt outlives the engine that launched it: closing an executor, or killing its
    engine, leaves every attempt running, and a later engine `adopt`s it. Handles are opaque
    text that the store keeps (`pid:start_ticks` for a local attempt; another executor may
    name a worker and a key): only the executor that made one reads it.
    """

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        """Start the attempt; return its handle. Launching a key again starts nothing.

        If another engine already started this attempt, the attempt is adopted instead,
        so that one attempt never runs twice.

        Raises:
            InvalidRequest: when the attempt cannot be started at all (the executor is
                closed, say); a program that cannot be executed comes back as an exit.
        """
        ...

    def adopt(self, key: AttemptKey, handle: str | None, attempt_dir: Path) -> str | None:
        """Watch an attempt that an earlier engine launched, whatever became of it.

        Returns its handle when it was started: alive, its exit comes from `wait`; already
        ended, or lost, its `TaskExit` is ready for the next `wait`. Returns None when it was
        never started, so that the caller launches it.
        """
        ...

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        """SIGTERM the attempt's whole tree, SIGKILL what is left after the grace period.

        Never blocks; killing an ended or unknown attempt does nothing. The exit comes
        from `wait` as usual.
        """
        ...

    def release(self, key: AttemptKey) -> None:
        """Stop watching an attempt and leave it running: another engine owns its run now."""
        ...

    def wait(self, timeout: float) -> list[TaskExit]:
        """Block up to `timeout` seconds for at least one exit; return every exit seen."""
        ...

    def running(self) -> int:
        """How many watched attempts have not been reported as exited yet."""
        ...

    def close(self) -> None:
        """Stop watching; every attempt keeps running (a later engine adopts it)."""
        ...


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A stored job version: jobs are versioned, and a run records the version it ran."""

    job_id: int
    version: int
    name: str
    settings: Mapping[str, object]  # the JobSettings JSON as validated
    source: str  # where it came from: a file path, or "api"
    created_time: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A stored job run: what it runs and its current snapshot."""

    run_id: int
    job: JobRecord
    parameters: Mapping[str, str]
    trigger: str  # ONE_TIME, PERIODIC, RUN_JOB_TASK, ...
    creator: str
    workdir: str
    created_time: datetime
    state: RunState
    task_run_ids: Mapping[int, int]  # seq -> global task run id


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of `runs list`."""

    run_id: int
    job_id: int
    job_name: str
    life_cycle: str
    result: str | None
    start_time: datetime | None
    end_time: datetime | None


class Store(Protocol):
    """The durable state: jobs and their versions, runs, task runs and the event log."""

    def save_job(self, name: str, settings: Mapping[str, object], source: str,
                 at: datetime, *, actor: str | None = None) -> JobRecord:
        """Create the job `name`, or add a version when its settings changed.

        With an `actor`, a new job or version is audited in the same transaction.
        """
        ...

    def job_by_name(self, name: str) -> JobRecord | None:
        """The latest version of the job called `name`, or None."""
        ...

    def list_jobs(self) -> list[JobRecord]:
        """The latest version of every job, by job id."""
        ...

    def get_job(self, job_id: int, version: int | None = None) -> JobRecord:
        """A job at a version (the latest by default); `NotFound` otherwise."""
        ...

    def create_run(self, job: JobRecord, state: RunState, parameters: Mapping[str, str],
                   trigger: str, creator: str, workdir: str, at: datetime) -> int:
        """Store a new run with its initial snapshot; return its run id."""
        ...

    def record(self, run_id: int, event: Event, state: RunState,
               changed: Sequence[int], *, outbox: Sequence[OutboxItem] = (),
               audit: Sequence[AuditEntry] = (),
               metrics: Sequence[TaskMetric] = ()) -> Mapping[int, int]:
        """In ONE transaction: append `event`, save the run row and the changed task runs,
        and the decision's outbox rows (a dedupe key already stored is skipped), audit
        entries (numbered and hash-chained) and the task metrics attempts recorded.

        Returns seq -> global task run id for the task runs in `changed`.
        """
        ...

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the hash-chained audit log, in one transaction."""
        ...

    def load_run(self, run_id: int, plan: Plan | None = None) -> RunRecord:
        """A run with its snapshot rebuilt from the stored rows; `NotFound` otherwise."""
        ...

    def events(self, run_id: int) -> list[Event]:
        """The run's event log, oldest first."""
        ...

    def list_runs(self, job_id: int | None = None, limit: int = 20,
                  active_only: bool = False) -> list[RunSummary]:
        """Runs, newest first."""
        ...

    def find_task_run(self, task_run_id: int) -> tuple[int, int]:
        """(job run id, seq) of a global task run id; `NotFound` otherwise."""
        ...

    def set_job_version(self, run_id: int, version: int,
                        parameters: Mapping[str, str] | None = None) -> None:
        """Make a run run `version` of its job: a repair runs the job's current settings.

        `load_run` then builds the run's plan from that version and returns it as `job`.
        `NotFound` for an unknown run or job version.
        """
        ...

    def new_id(self, kind: str) -> int:
        """A fresh id from the id space of job runs and task runs (`kind` "REPAIR" for a
        repair id), so that it never collides with either."""
        ...

    def request_cancel(self, run_id: int, task_key: str | None, at: datetime) -> None:
        """Append a CANCEL request for the run (`task_key` None) or one of its tasks.

        Called from another process than the engine driving the run, which picks the
        request up with `take_requests`. `NotFound` for an unknown run.
        """
        ...

    def take_requests(self, run_id: int, at: datetime) -> list[tuple[int, str, str | None]]:
        """The run's unhandled requests as (request id, kind, task key), oldest first.

        In one transaction they are marked handled at `at`, so each is returned exactly once.
        Polled by the engine loop several times a second: cheap when there is nothing (one
        read). An unknown run has no requests.
        """
        ...


class DeliveryStore(Protocol):
    """The outbox as the notification sender sees it (implemented by `SqlStore`)."""

    def claim_deliveries(self, now: datetime, owner: str, lease_until: datetime,
                         limit: int = 16) -> list[Delivery]:
        """Lease up to `limit` due outbox rows to `owner` until `lease_until`."""
        ...

    def finish_delivery(self, delivery: Delivery, owner: str, outcome: DeliveryOutcome,
                        now: datetime, audit: AuditEntry | None = None) -> bool:
        """Record one try of a leased row, with its audit entry when final; False when the
        lease was lost."""
        ...
