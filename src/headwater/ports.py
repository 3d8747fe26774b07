"""The seams between the engine and the world: Protocols that the adapters implement.

The engine and the service receive these as arguments; only `bootstrap.py` knows which
adapter (SQLite or PostgreSQL store, local or Dask executor, ...) stands behind each.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from headwater.core.compute import ClusterRequest
from headwater.core.git_credentials import GitCredential
from headwater.core.retention import KeepReason
from headwater.core.run_scope import WHOLE_JOB, RunScope
from headwater.core.trigger_details import LastFire
from headwater.core.workspace_objects import Language, ObjectType, PlannedImport

if TYPE_CHECKING:
    from headwater.core.audit import AuditEntry, ChainReport, StoredAuditEntry, TaskMetric
    from headwater.core.events import Event
    from headwater.core.monitoring import LiveCounts
    from headwater.core.notifications import Delivery, DeliveryOutcome, OutboxItem
    from headwater.core.permissions import Grant, Principal
    from headwater.core.plan import Plan
    from headwater.core.runstate import RunState
    from headwater.core.secret_acls import ScopeAcl
    from headwater.core.spec import Task


class Clock(Protocol):
    """The only source of time outside the tests' fake clocks."""

    def now(self) -> datetime:
        """An aware UTC instant."""
        ...


class SecretScopes(Protocol):
    """Where the secret scopes that tasks read with `dbutils.secrets` are kept
    (`runtime/secret_store.py`). A missing scope or secret, or a name that cannot be one,
    raises `headwater.runtime.secret_store.SecretError`."""

    def create_scope(self, scope: str) -> bool:
        """Create `scope`; False when it exists already."""
        ...

    def list_scopes(self) -> list[str]: ...

    def delete_scope(self, scope: str) -> None: ...

    def put(self, scope: str, key: str, value: bytes) -> None: ...

    def get(self, scope: str, key: str) -> bytes: ...

    def list_secrets(self, scope: str) -> list[str]: ...

    def updated(self, scope: str, key: str) -> datetime:
        """When the secret's value was last put."""
        ...

    def delete(self, scope: str, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncedFiles:
    """What a deploy's copy of a bundle changed on the server: the folder holding it, and how
    many files were written, already so, and deleted (copied before, not this time)."""

    folder: str
    written: int
    unchanged: int
    deleted: int


@dataclass(frozen=True, slots=True)
class WorkspaceObject:
    """A notebook, file or folder of the server's `/Workspace` as the Workspace API shows it
    (`core/workspace_objects.py`): its normal `/Workspace/...` path, what it is, the file or
    folder keeping it on this machine, and for what is not a folder its size on disk and its
    times (milliseconds since the epoch; `created_at` is when the file now there was made)."""

    path: str
    object_type: ObjectType
    kept: str
    language: Language | None = None  # a notebook's
    size: int | None = None
    created_at: int | None = None
    modified_at: int | None = None


class WorkspaceFiles(Protocol):
    """The server's folder standing for `/Workspace`, where deployed bundles are copied and the
    Workspace API reads and writes (`engine/workspace_files.py`). A bad archive raises its
    `BadArchive` (a `ValueError`). Paths are normal `/Workspace/...` paths; nothing outside
    the folder is ever reached, through a symbolic link or otherwise."""

    @property
    def folder(self) -> str:
        """The folder's absolute path on this machine."""
        ...

    def changed(self, path: str, digests: Mapping[str, str]) -> list[str]:
        """Which of the files `digests` names (by content digest) the folder of `path` does
        not hold as they are."""
        ...

    def sync(self, path: str, archive: bytes) -> SyncedFiles:
        """Make the folder of `path` (a `/Workspace/...` path) hold the files of `archive`;
        `Conflict` if a file it lists as kept changed."""
        ...

    def remove(self, path: str) -> bool:
        """Delete the folder of `path` and all in it; whether it was there."""
        ...

    def status(self, path: str) -> WorkspaceObject | None:
        """The object at `path` (`/Workspace` itself included), or None."""
        ...

    def children(self, path: str) -> list[WorkspaceObject]:
        """The objects in the folder at `path`, by name (none for what is not a folder)."""
        ...

    def kept_in(self, folder: str, file_name: str) -> WorkspaceObject | None:
        """The object that the file or folder `file_name` of the folder `folder` keeps (a
        notebook's file keeps the notebook named without its suffix), or None."""
        ...

    def content(self, item: WorkspaceObject) -> bytes:
        """The bytes of a notebook or file, as they are kept."""
        ...

    def make_folders(self, path: str) -> bool:
        """Make the folder at `path` and those above it; whether any was made."""
        ...

    def put(self, folder: str, planned: PlannedImport,
            replaced: WorkspaceObject | None) -> WorkspaceObject:
        """Write what an import planned into the folder `folder` (whole or not at all), then
        delete the file that kept `replaced` (the object it overwrites) if another did; the
        object written."""
        ...

    def delete(self, item: WorkspaceObject) -> None:
        """Delete a notebook or file, or a folder with all in it."""
        ...


@dataclass(frozen=True, slots=True)
class VolumeEntry:
    """A file or directory of the volumes as the Files API shows it: its normal
    `/Volumes/...` path, whether it is a directory, a file's size in bytes, and when it last
    changed (milliseconds since the epoch)."""

    path: str
    is_directory: bool
    size: int | None
    modified_at: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]


class VolumeFiles(Protocol):
    """The volumes the Files API reads and writes: `/Volumes/...` in the folder standing for
    DBFS and the volumes, which tasks reach with `dbutils.fs` (`engine/volume_files.py`).
    Paths are checked `/Volumes/...` paths (`core/volume_paths.py`); nothing is reached
    through a symbolic link, so nothing outside the folder. What the file system refuses
    raises its `OSError` (`FileNotFoundError`, `FileExistsError`, `NotADirectoryError` for a
    file or link where a directory would be, `IsADirectoryError`, `ENOTEMPTY`), naming the
    `/Volumes/...` path at fault."""

    def status(self, path: str) -> VolumeEntry | None:
        """The file or directory at `path`, or None (nothing, a link, a special file)."""
        ...

    def page(self, path: str, after: str | None, limit: int) -> tuple[list[VolumeEntry], bool]:
        """Up to `limit` entries of the directory at `path` named after `after` (all when
        None), by name, and whether more follow."""
        ...

    def open(self, path: str) -> tuple[VolumeEntry, BinaryIO]:
        """The file at `path`, opened for reading, and its status as opened."""
        ...

    def write(self, path: str, chunks: Iterable[bytes], overwrite: bool) -> VolumeEntry:
        """Write the file at `path` from `chunks`, whole or not at all (an error from
        `chunks` leaves nothing), making the directories above it; replace a file there only
        with `overwrite`. The file written."""
        ...

    def make_directories(self, path: str) -> bool:
        """Make the directory at `path` and those above it; whether any was made."""
        ...

    def delete(self, path: str, directory: bool) -> None:
        """Delete the file (or the empty directory) at `path`."""
        ...


class GitCredentialStore(Protocol):
    """Where users' Git credentials are kept (`engine/git_credential_files.py`)."""

    def add(self, credential: GitCredential, token: str | None) -> GitCredential:
        """Keep a new credential; it, with the id given to it."""
        ...

    def of_user(self, user: str) -> list[GitCredential]: ...

    def replace(self, credential: GitCredential, token: str | None) -> None:
        """Keep `credential` as it now is, and `token` unless None (the old one stays)."""
        ...

    def remove(self, user: str, credential_id: int) -> bool: ...

    def token(self, user: str, credential_id: int) -> str | None: ...


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
    # The cluster the attempt runs on (`job_cluster_key`, `new_cluster`,
    # `existing_cluster_id`); None: on this machine.
    cluster: ClusterRequest | None = None
    # True when argv is a Python interpreter's command line, `python [options] (FILE |
    # -m MODULE | -c CODE) ARGS...`: an executor may run it in a warm interpreter forked
    # for the attempt, which gives the task what a new interpreter would.
    python: bool = False
    # Modules that such a warm interpreter should have imported for this task, beside those
    # every task's has (an `.ipynb` notebook's kernel libraries): a startup cost paid once
    # per executor rather than per attempt. Only a hint: a task must run without it.
    preload: tuple[str, ...] = ()
    # The task's `timeout_seconds`: an executor whose attempts outlive the engine has them
    # killed at it even when no engine is there to (the engine kills at it too).
    timeout_seconds: float | None = None

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
    with it, say). A lost attempt counts as a failed attempt. `error_from_log`: the task wrote
    no error, so the result's error is what its log ends with (`executors/failures.py`).
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
    error_from_log: bool = False


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
    # The job's `environment_variables` the task selects, files read (core/task_variables.py).
    variables: Mapping[str, str] = field(default_factory=dict)
    # For a task that reads its code from Git: the run's checkout, where its code paths start.
    code_dir: Path | None = None
    workspace_dir: Path | None = None  # the folder standing for `/Workspace`, if any

    @property
    def code_root(self) -> Path:
        """Where the task's code paths start: the run's checkout, else the job's directory."""
        return self.code_dir if self.code_dir is not None else self.workdir


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


class ClusterKeeper(Protocol):
    """What an executor that starts clusters for runs needs to hear from the engine: which
    clusters each run still needs, so that it closes the others (see `core/compute.py`)."""

    def keep_clusters(self, run_id: int, names: Collection[str]) -> None:
        """From now on the run needs only these clusters: close every other one started for
        it. Never blocks; an empty `names` (the run ended) closes them all."""
        ...

    def runs_with_clusters(self) -> list[int]:
        """The runs that clusters were started for and are not closed yet (found again after
        a restart: what the executor recorded)."""
        ...


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A stored job version: jobs are versioned, and a run records the version it ran."""

    job_id: int
    version: int
    name: str
    settings: Mapping[str, object]  # the JobSettings JSON as validated
    source: str  # where it came from: a file path, or "api"
    created_time: datetime  # of this version
    creator: str | None = None  # who created the job
    deployment_key: str | None = None  # bundle, target and resource key of deployed files
    hidden: bool = False  # the job of a one-time run (`runs/submit`), in no job list


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
    queued_until: datetime | None = None  # when it left the job's queue, if it waited there
    lease_owner: str | None = None  # the engine driving it (see `Store.claim_runs`)
    fence: int = 0  # grows with every claim; every write of the run carries it
    trigger_info: Mapping[str, Any] | None = None  # what fired it (core/triggers.py `Fire`)
    run_type: str = "JOB_RUN"  # or SUBMIT_RUN
    run_as: str | None = None
    scope: RunScope = WHOLE_JOB  # the tasks it runs and its legacy task parameters
    # The plans the attempts of earlier repairs ran, by repair number (0: the original run),
    # where a repair moved the run to another job version; other attempts ran `state.plan`.
    earlier_plans: Mapping[int, Plan] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    """One decision of the engine's, as the store keeps it: the event, the snapshot after
    it, the task runs it changed, and what it brings (alerts, audit entries, task figures
    and outputs, handled requests; for a repair, the job version and parameters)."""

    event: Event
    state: RunState
    changed: Sequence[int]
    outbox: Sequence[OutboxItem] = ()
    audit: Sequence[AuditEntry] = ()
    metrics: Sequence[TaskMetric] = ()
    outputs: Mapping[int, Mapping[str, Any]] | None = None
    handled: Sequence[int] = ()
    job_version: int | None = None
    parameters: Mapping[str, str] | None = None


# The kinds of `RunRequest`.
CANCEL = "CANCEL"
REPAIR = "REPAIR"
TIMEOUT = "TIMEOUT"  # the job's timeout changed while the run was active


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What another process asked of the engine that drives a run."""

    request_id: int
    run_id: int
    kind: str  # CANCEL, REPAIR or TIMEOUT
    task_key: str | None  # CANCEL of one task; None for the whole run
    # REPAIR: repair_id, task_keys, rerun_dependents, version, ...; TIMEOUT: timeout_seconds
    body: Mapping[str, object]
    created: datetime | None = None  # when it was asked


@dataclass(frozen=True, slots=True)
class Claim:
    """A run an engine now holds: every write of it must carry `fence`."""

    run_id: int
    fence: int
    previous_owner: str | None  # the engine that held it before (None: a new run)


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to store: what `Store.create_run` and `Store.fire_trigger` start from."""

    job: JobRecord
    state: RunState
    parameters: Mapping[str, str]
    trigger: str
    creator: str
    workdir: str
    at: datetime
    owner: str | None = None
    lease_seconds: float = 0.0
    trigger_info: Mapping[str, Any] | None = None
    idempotency_token: str | None = None  # the same token for the job gives the same run
    run_type: str = "JOB_RUN"  # or SUBMIT_RUN, for a one-time run (`runs/submit`)
    run_as: str | None = None  # the user it runs as
    scope: RunScope = WHOLE_JOB  # the tasks it runs, its legacy task parameters
    queue: bool | None = None  # run-now's `queue.enabled`, over the job's; None: the job's


@dataclass(frozen=True, slots=True)
class RunCreated:
    """What became of a new run: started, queued or skipped (see core/admission.py)."""

    run_id: int
    life_cycle: str  # PENDING, QUEUED or SKIPPED
    message: str = ""
    fence: int = 0  # the fence of the lease it was created with, if any


@dataclass(frozen=True, slots=True)
class EngineBeat:
    """What a fleet engine says of itself when it says it is alive."""

    name: str  # as in the leases it holds
    home: str  # its HEADWATER_HOME
    version: str  # the headwater it runs
    started_time: datetime
    lease_seconds: float  # it is alive this long after each beat


ENGINE_STATES = ("alive", "unresponsive", "stopped")  # an `EngineRecord`'s


@dataclass(frozen=True, slots=True)
class EngineRecord:
    """A fleet engine as `headwater engines list` shows it."""

    name: str
    home: str
    version: str
    started_time: datetime
    last_seen: datetime  # its last beat, on the database's clock
    seconds_since_seen: float
    state: str  # alive, unresponsive (no beat within its lease), or stopped
    runs_held: int  # runs it holds a live lease on


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as stored: whose it is, and whether it still works (never the token)."""

    token_id: int
    user: str
    admin: bool
    comment: str
    created_time: datetime
    expiry_time: datetime | None
    revoked_time: datetime | None
    parent_id: int | None = None  # a web session's: the API token it was opened with

    @property
    def is_session(self) -> bool:
        return self.parent_id is not None

    def valid_at(self, at: datetime) -> bool:
        return self.revoked_time is None and (self.expiry_time is None or at < self.expiry_time)


@dataclass(frozen=True, slots=True)
class PrunedBatch:
    """What one batch of run-history pruning removed (or, on a dry run, would remove)."""

    run_ids: tuple[int, ...]  # the runs deleted, Run Job trees whole
    task_runs: int  # how many task runs went with them
    kept: Mapping[int, KeepReason]  # the runs looked at and kept, and why
    next_after: tuple[datetime, int] | None  # where the next batch starts; None: none left


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


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """One task over the runs summarised: attempts, failures, durations, recorded figures."""

    task_key: str
    attempts: int
    failures: int
    p50_seconds: float | None
    p95_seconds: float | None
    queue_p50_seconds: float | None
    metrics: dict[str, float] = field(default_factory=dict)  # mean of each recorded figure


@dataclass(frozen=True, slots=True)
class JobSummary:
    """A job's last `runs` terminal runs: how many succeeded, and per task figures; the
    duration percentiles are of the `timed_runs` of them that started (not those skipped)."""

    job_id: int
    runs: int
    succeeded: int
    run_p50_seconds: float | None
    run_p95_seconds: float | None
    tasks: list[TaskSummary]
    timed_runs: int

    @property
    def success_rate(self) -> float | None:
        return None if not self.runs else self.succeeded / self.runs


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One figure a task recorded in one run (its latest attempt's, for the metrics charts)."""

    run_id: int
    task_key: str
    name: str
    value: float


class Store(Protocol):
    """The durable state: jobs and their versions, runs, task runs, the event log, leases.

    Every method is one transaction. Writes of a run's state carry the fencing token of the
    engine's lease (`fence`): a write under a stale token raises `LeaseLost` and writes
    nothing, so an engine that lost a run can never change it again.
    """

    # Jobs.

    def create_job(self, settings: Mapping[str, object], source: str, at: datetime,
                   creator: str = "local", deployment_key: str | None = None,
                   grants: Sequence[Grant] | None = None, hidden: bool = False) -> JobRecord:
        """A new job at version 1 (a new id every time), audited; its creator owns it unless
        `grants` say otherwise. A `hidden` job (a one-time run's) is in no job list."""
        ...

    def update_job(self, job_id: int, settings: Mapping[str, object], source: str,
                   at: datetime, actor: str) -> JobRecord:
        """The job's next version (unless `settings` are its latest); `NotFound`."""
        ...

    def deploy_job(self, settings: Mapping[str, object], source: str, at: datetime,
                   actor: str, deployment_key: str,
                   grants: Sequence[Grant] | None = None) -> JobRecord:
        """Create the job deployed under `deployment_key`, or update it; `grants` replace
        its access control list."""
        ...

    def delete_job(self, job_id: int, at: datetime, actor: str) -> None:
        """Delete a job; its versions and runs stay. `NotFound` if it is not there."""
        ...

    def delete_jobs(self, job_ids: Sequence[int], at: datetime, actor: str) -> list[JobRecord]:
        """Delete several jobs at once (one transaction), each audited; those already deleted
        are skipped. The jobs deleted."""
        ...

    def get_job(self, job_id: int, version: int | None = None) -> JobRecord:
        """A job at a version (the latest by default); `NotFound` otherwise."""
        ...

    def job_by_deployment(self, deployment_key: str) -> JobRecord | None:
        """The job deployed under `deployment_key`, or None."""
        ...

    def jobs_deployed_under(self, prefix: str) -> list[JobRecord]:
        """The jobs whose deployment key starts with `prefix` (a bundle and target), by id;
        a coarse match (SQLite ignores case), for the caller to narrow."""
        ...

    def rekey_deployment(self, job_id: int, deployment_key: str) -> None:
        """Give the job `deployment_key` (a deployment made before keys held the root path,
        taken over)."""
        ...

    def list_jobs(self, name: str | None = None, limit: int | None = None,
                  after_id: int | None = None, visible_to: Principal | None = None
                  ) -> list[JobRecord]:
        """The latest version of every job, by id; `name` matches exactly, ignoring case;
        `visible_to` keeps the jobs that principal may view."""
        ...

    # Runs.

    def create_run(self, job: JobRecord, state: RunState, parameters: Mapping[str, str],
                   trigger: str, creator: str, workdir: str, at: datetime, *,
                   owner: str | None = None, lease_seconds: float = 0.0,
                   idempotency_token: str | None = None, run_type: str = "JOB_RUN",
                   run_as: str | None = None, scope: RunScope = WHOLE_JOB,
                   queue: bool | None = None,
                   trigger_info: Mapping[str, Any] | None = None) -> RunCreated:
        """Store a new run: PENDING (leased to `owner` when given), QUEUED or SKIPPED (`queue`
        overrides the job's `queue.enabled`); the run already made for the same job and
        `idempotency_token`, if there is one."""
        ...

    def create_runs(self, news: Sequence[NewRun], audit: AuditEntry) -> list[RunCreated]:
        """Store several runs in one transaction (started or queued in turn) and `audit`;
        `InvalidRequest`, and none stored, when one of them would be skipped."""
        ...

    def delete_run(self, run_id: int, at: datetime, actor: str) -> None:
        """Delete an ended run (gone from every list and lookup); audited."""
        ...

    def prune_runs(self, before: datetime, at: datetime, actor: str, limit: int,
                   after: tuple[datetime, int] | None = None,
                   dry_run: bool = False) -> PrunedBatch:
        """Delete up to `limit` runs that ended before `before` and that nothing keeps
        (`core/retention.py`), oldest first from `after`, in one transaction audited as
        `runs.pruned`; with `dry_run`, only say what would go."""
        ...

    def existing_runs(self, run_ids: Collection[int]) -> set[int]:
        """Which of `run_ids` are runs in the store (deleted with runs/delete or not)."""
        ...

    def submitted_run(self, creator: str, token: str) -> RunCreated | None:
        """The one-time run `creator` submitted with this idempotency token, if any."""
        ...

    def record(self, run_id: int, fence: int, event: Event, state: RunState,
               changed: Sequence[int], *, outbox: Sequence[OutboxItem] = (),
               audit: Sequence[AuditEntry] = (), metrics: Sequence[TaskMetric] = (),
               outputs: Mapping[int, Mapping[str, Any]] | None = None,
               handled: Sequence[int] = (), job_version: int | None = None,
               parameters: Mapping[str, str] | None = None) -> Mapping[int, int]:
        """In ONE transaction under `fence`: the event, the new snapshot and everything the
        decision brings (see `SqlStore.record`); seq -> task run id of `changed`."""
        ...

    def record_all(self, run_id: int, fence: int, transitions: Sequence[Transition],
                   known: Mapping[int, int] | None = None) -> Mapping[int, int]:
        """`record` of each transition, in order, all in ONE transaction under `fence`;
        seq -> task run id of every changed task run. `known` (seq -> id of the run's task
        runs the caller knows) spares looking those up."""
        ...

    def load_run(self, run_id: int, plan: Plan | None = None) -> RunRecord:
        """A run with its snapshot rebuilt from the stored rows; `NotFound` otherwise."""
        ...

    def task_outputs(self, run_id: int) -> dict[int, Mapping[str, Any]]:
        """What each attempt of a run left as its result, by seq."""
        ...

    def task_output(self, run_id: int, seq: int) -> Mapping[str, Any] | None:
        """What one attempt left as its result, or None."""
        ...

    def events(self, run_id: int) -> list[Event]:
        """The run's event log, oldest first."""
        ...

    def list_runs(self, job_id: int | None = None, limit: int = 20, active_only: bool = False,
                  completed_only: bool = False, before_id: int | None = None,
                  visible_to: Principal | None = None, run_type: str | None = None,
                  started_after: datetime | None = None, started_before: datetime | None = None,
                  trigger: str | None = None, result: str | None = None,
                  ended_after: datetime | None = None) -> list[RunSummary]:
        """Runs, newest first (of the jobs `visible_to` may view; fired by `trigger`, ended
        with `result`, ended after `ended_after`, when given)."""
        ...

    def last_end_time(self) -> datetime | None:
        """When the run that ended last ended (None before any did)."""
        ...

    def find_task_run(self, task_run_id: int) -> tuple[int, int]:
        """(job run id, seq) of a global task run id; `NotFound` otherwise."""
        ...

    def new_id(self, kind: str) -> int:
        """A fresh id from the id space of job runs and task runs (`kind` "REPAIR" for a
        repair id), so that it never collides with either."""
        ...

    # Requests to the engine driving a run.

    def request_cancel(self, run_id: int, task_key: str | None, at: datetime,
                       actor: str | None = None) -> int:
        """Ask the engine driving the run to cancel it (or one task); `NotFound`. A user's
        request (`actor`) is audited."""
        ...

    def request_repair(self, run_id: int, body: Mapping[str, object], at: datetime) -> int:
        """Ask for a repair of an ended run; `InvalidState` if it runs or one waits."""
        ...

    def cancel_queued(self, run_ids: Sequence[int], at: datetime, actor: str) -> list[int]:
        """End the runs of `run_ids` that wait in their queue as CANCELED, in one
        transaction; those it ended."""
        ...

    def pending_requests(self, run_ids: Sequence[int]) -> list[RunRequest]:
        """The unhandled requests of these runs, oldest first."""
        ...

    def drop_requests(self, run_id: int, fence: int, request_ids: Sequence[int],
                      at: datetime) -> None:
        """Mark requests handled that turned into no event."""
        ...

    # Leases.

    def claim_runs(self, owner: str, limit: int, lease_seconds: float, at: datetime,
                   actor: str, run_ids: Collection[int] | None = None,
                   take_from: Collection[str] = (), skip: Collection[int] = ()) -> list[Claim]:
        """Claim runs that need an engine and have no live lease (or whose owner is in
        `take_from`: known dead), but none of `skip`."""
        ...

    def renew_leases(self, owner: str, fences: Mapping[int, int],
                     lease_seconds: float) -> set[int]:
        """Extend `owner`'s leases; the run ids it no longer holds."""
        ...

    def release_run(self, run_id: int, fence: int) -> bool:
        """Hand a run back; False if this fence no longer holds it."""
        ...

    def lease_owners(self, prefix: str) -> set[str]:
        """The engines named `prefix...` that hold leases."""
        ...

    def live_lease_owner(self, run_id: int) -> str | None:
        """The engine driving the run now (its lease unexpired); None when none does."""
        ...

    def admit_queued(self, at: datetime, actor: str = "headwater") -> list[int]:
        """Admit queued runs wherever a slot is free, once `actor` skipped those that waited
        too long (48 h)."""
        ...

    # Schedules and triggers.

    def trigger_states(self, job_ids: Collection[int]) -> dict[int, tuple[int, Any]]:
        """job id -> (version, state body) of the jobs whose triggers remembered something."""
        ...

    def last_trigger_fires(self, job_id: int, prefixes: Sequence[str]
                           ) -> list[LastFire | None]:
        """The run the job's trigger last started, for each prefix of its fire keys (`""`:
        any; `core.triggers.entry_key(i)`: entry `i` of `triggers`)."""
        ...

    def save_trigger_state(self, job_id: int, version: int, body: Mapping[str, Any]) -> bool:
        """Store a trigger's new state if it is still at `version`; False if not."""
        ...

    def fire_trigger(self, new: NewRun, key: str, version: int,
                     body: Mapping[str, Any]) -> RunCreated | None:
        """The trigger's new state, its unique fire key and the run, in one transaction;
        None when another engine fired or changed it first."""
        ...

    # Tokens and permissions.

    def add_token(self, token_hash: str, user: str, admin: bool, comment: str, at: datetime,
                  expiry: datetime | None, parent_id: int | None = None,
                  audit: AuditEntry | None = None) -> int:
        """Store a token's hash for `user` (a web session's with its `parent_id`); its id.
        `audit` is appended in the same transaction, with the new id in its details."""
        ...

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The token with this hash, valid or not."""
        ...

    def list_tokens(self) -> list[TokenRecord]:
        ...

    def revoke_token(self, token_id: int, at: datetime,
                     audit: AuditEntry | None = None) -> list[int]:
        """Revoke a token and the web sessions opened with it: the ids revoked now (none:
        no such valid token). `audit` goes with them, their ids in its details."""
        ...

    def revoke_user_tokens(self, user: str, at: datetime,
                           audit: AuditEntry | None = None) -> list[int]:
        """Revoke every valid token and session of `user`, as `revoke_token`."""
        ...

    def job_grants(self, job_ids: Collection[int]) -> dict[int, list[Grant]]:
        """job id -> its access control list."""
        ...

    def set_job_grants(self, job_id: int, grants: Sequence[Grant], at: datetime,
                       actor: str) -> None:
        """Replace a job's access control list, audited."""
        ...

    def secret_acls(self, scopes: Collection[str] | None = None) -> dict[str, list[ScopeAcl]]:
        """scope -> its ACL (scopes without one are left out); every scope's without
        `scopes`."""
        ...

    def set_secret_acls(self, scope: str, acls: Sequence[ScopeAcl],
                        audit: AuditEntry | None = None) -> None:
        """Replace a scope's whole ACL (none: the scope is open), with `audit`."""
        ...

    def put_secret_acl(self, scope: str, acl: ScopeAcl, audit: AuditEntry) -> None:
        """Give the principal this permission on the scope (replacing theirs), audited."""
        ...

    def delete_secret_acl(self, scope: str, principal: str, audit: AuditEntry) -> bool:
        """Remove the principal's entry on the scope, audited; False when there is none."""
        ...

    # Operations.

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the hash-chained audit log, in one transaction."""
        ...

    def audit_entries(self, job_id: int | None = None, actor: str | None = None,
                      since: datetime | None = None, run_id: int | None = None,
                      limit: int | None = 100, action: str | None = None,
                      until: datetime | None = None) -> list[StoredAuditEntry]:
        """Entries matching every filter given, oldest first (the newest `limit`)."""
        ...

    def verify_audit(self) -> ChainReport:
        """Recompute the whole chain; the report names the first entry that does not match."""
        ...

    def outbox_rows(self, run_id: int | None = None, status: str | None = None,
                    limit: int = 50) -> list[Mapping[str, Any]]:
        """Outbox rows, newest first, as column -> value."""
        ...

    def requeue_deliveries(self, outbox_ids: Collection[int] | None, run_id: int | None,
                           now: datetime, audit: AuditEntry) -> list[int]:
        """Make given-up deliveries (FAILED, DEAD) due now for one more try (those of
        `outbox_ids`, else every one, of `run_id` if given), audited; the ids requeued."""
        ...

    def ping(self) -> None:
        """Read the store once: `StoreError` when it cannot be read."""
        ...

    def last_audit_id(self) -> int:
        """The number of the audit log's last entry (0 when it is empty)."""
        ...

    def audit_after(self, entry_id: int, actions: Collection[str],
                    limit: int = 5000) -> list[StoredAuditEntry]:
        """Up to `limit` entries after `entry_id` with one of `actions`, oldest first."""
        ...

    def live_counts(self, now: datetime) -> LiveCounts:
        """Runs and task runs not ended by state, runs no engine holds, the outbox's backlog."""
        ...

    def engine_alive(self, engine: EngineBeat) -> None:
        """Record that a fleet engine is alive (for its lease's length from now)."""
        ...

    def engine_stopped(self, name: str) -> None:
        """Record that an engine stopped of its own accord (it handed back its runs)."""
        ...

    def list_engines(self) -> list[EngineRecord]:
        """The fleet engines seen in the last day, newest first."""
        ...

    def job_summary(self, job_id: int, last_runs: int = 20) -> JobSummary:
        """Success rate and per-task durations and figures over the job's last runs."""
        ...

    def query(self, statement: str, max_rows: int = 1000
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only SQL statement; `InvalidRequest` if it fails or tries to write."""
        ...

    # What the run and metrics pages read.

    def run_version(self, run_id: int) -> tuple[int, int]:
        """(job id, how many events the run has recorded): a cheap look at whether a run
        changed; `NotFound` for an unknown or deleted run."""
        ...

    def task_metrics(self, run_id: int) -> dict[int, dict[str, float]]:
        """The figures each attempt of a run recorded, by seq."""
        ...

    def metric_points(self, job_id: int, last_runs: int = 20) -> list[MetricPoint]:
        """The figures the job's tasks recorded in its `last_runs` most recent ended runs,
        oldest run first."""
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
