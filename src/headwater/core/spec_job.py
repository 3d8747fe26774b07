"""The job-level sections of `JobSettings`: parameters, clusters, environments, schedule and
triggers, queueing, identity, Git, deployment and permissions.

Most of these are stored and shown but not acted on; they are modelled so that a typo in them
is an error instead of a silently ignored field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field, StrictInt, model_validator

from headwater.core.spec_common import Flag, Model, PauseStatus, Text


def _zero_is_unset(value: object) -> object:
    """0 as no value: the Databricks CLI and SDKs drop a zero integer (Go's `omitempty`), so
    a bundle's `min_time_between_triggers_seconds: 0` reaches the Jobs API as not set."""
    return None if value == 0 and type(value) is int else value


# Trigger timers below one minute are rejected by the Jobs API; 0 is no timer (see above).
TriggerSeconds = Annotated[Annotated[StrictInt, Field(ge=60)] | None,
                           BeforeValidator(_zero_is_unset)]


class JobParameter(Model):
    """A job parameter and its default; `run-now` may override the value."""

    name: str
    default: Text


class JobCluster(Model):
    """A named cluster spec that tasks share; for headwater, a named executor profile."""

    job_cluster_key: str
    new_cluster: dict[str, object] = {}  # required, unless the cluster is serverless
    serverless_compute: dict[str, object] | None = None  # stored, not acted on
    serverless_compute_id: str | None = None  # stored, not acted on

    @model_validator(mode="after")
    def _has_a_cluster(self) -> JobCluster:
        """The Jobs API refuses a job cluster that gives no cluster at all."""
        serverless = self.serverless_compute is not None or self.serverless_compute_id is not None
        if "new_cluster" not in self.model_fields_set and not serverless:
            raise ValueError(
                f"job cluster {self.job_cluster_key!r} has no new_cluster; add its cluster spec "
                "(for headwater, its executor profile: new_cluster: {} for the default)")
        return self


class EnvironmentSpec(Model):
    """A Python environment: client version and pip dependencies."""

    client: str | None = None
    environment_version: str | None = None  # stored, not acted on (the runtime is this Python)
    dependencies: list[str] = []
    base_environment: str | None = None  # stored, not acted on
    java_dependencies: list[str] = []  # stored, not acted on (no JVM)
    project_environment: str | None = None  # stored, not acted on
    # A container image in Databricks' Artifact Registry (databricks-sdk 0.167): stored, not
    # acted on (tasks run in a virtualenv of this machine, from `dependencies`)
    image_uri: str | None = None


class JobEnvironment(Model):
    """A named environment that tasks select with `environment_key`."""

    environment_key: str
    spec: EnvironmentSpec | None = None


class EnvironmentVariablesSpec(Model):
    """Inline variables and `.env` files."""

    variables: dict[str, Text] = Field(default={}, max_length=20)
    files: list[str] = Field(default=[], max_length=5)


class EnvironmentVariables(Model):
    """A named set of environment variables that tasks select."""

    environment_variables_key: str
    spec: EnvironmentVariablesSpec | None = None


class CronSchedule(Model):
    """A Quartz cron schedule in a Java time zone."""

    quartz_cron_expression: str
    timezone_id: str
    pause_status: PauseStatus | None = None
    sql_condition: dict[str, object] | None = None  # stored, not acted on


class PeriodicUnit(StrEnum):
    """The unit of a periodic trigger's interval."""

    MINUTES = "MINUTES"
    HOURS = "HOURS"
    DAYS = "DAYS"
    WEEKS = "WEEKS"


class PeriodicTrigger(Model):
    """Fire every `interval` `unit`s; the scheduler picks the first time."""

    interval: Annotated[StrictInt, Field(ge=1)]
    unit: PeriodicUnit


class FileArrivalTrigger(Model):
    """Fire when new files arrive under `url`."""

    url: str
    min_time_between_triggers_seconds: TriggerSeconds = None
    wait_after_last_change_seconds: TriggerSeconds = None


class TableUpdateCondition(StrEnum):
    """Which watched tables must have changed for a table-update trigger to fire."""

    ANY_UPDATED = "ANY_UPDATED"  # any one of them
    ALL_UPDATED = "ALL_UPDATED"  # every one since the last run


class TableUpdateTrigger(Model):
    """Fire on commits to up to 10 tables."""

    table_names: list[str] = Field(max_length=10)
    condition: TableUpdateCondition | None = None
    min_time_between_triggers_seconds: TriggerSeconds = None
    wait_after_last_change_seconds: TriggerSeconds = None


class JobCompletionStatus(StrEnum):
    """How every monitored job's run must end for a job-completion trigger to fire."""

    SUCCESS = "SUCCESS"  # SUCCESS or SUCCESS_WITH_FAILURES
    FAILED = "FAILED"  # FAILED or TIMEDOUT (not a cancel or a skip)
    DONE = "DONE"  # ended, however


class MonitoredJob(Model):
    """An upstream job of a job-completion trigger: its id, or (headwater, for bundles) the
    name of a job of the same bundle, which `${resources.jobs.<key>.id}` becomes."""

    job_id: Text | None = None  # a string in the Jobs API
    job_name: str | None = None
    workspace_id: Text | None = None  # one workspace here: stored, not checked


class JobCompletionTrigger(Model):
    """Fire once every monitored job has had a run end as `if_status` says."""

    jobs: list[MonitoredJob] = Field(min_length=1, max_length=10)
    if_status: JobCompletionStatus | None = None


class TriggerSettings(Model):
    """The legacy single trigger: periodic, file arrival, table update or job completion."""

    periodic: PeriodicTrigger | None = None
    file_arrival: FileArrivalTrigger | None = None
    table_update: TableUpdateTrigger | None = None
    job_completion: JobCompletionTrigger | None = None
    pause_status: PauseStatus | None = None
    model: dict[str, object] | None = None  # stored, not acted on (no model registry)
    sql_condition: dict[str, object] | None = None  # stored, not acted on


class TaskRetryMode(StrEnum):
    """Whether a continuous job retries a failed task or restarts the run."""

    NEVER = "NEVER"  # cancel and restart the run
    ON_FAILURE = "ON_FAILURE"  # retry the failed task


class Continuous(Model):
    """Keep exactly one run active, starting a new one when it ends."""

    pause_status: PauseStatus | None = None
    task_retry_mode: TaskRetryMode | None = None  # stored, not acted on (docs/semantics.md)
    maintenance_window: dict[str, object] | None = None  # stored, not acted on


class CronTrigger(Model):
    """A cron schedule as one entry of `triggers` (its pause status is the entry's)."""

    quartz_cron_expression: str
    timezone_id: str


class TriggerConfiguration(TriggerSettings):
    """One entry of the multi-trigger list `triggers` (a Lakeflow preview): exactly one kind
    (a legacy trigger's, or a cron schedule, or continuous), paused or not on its own. A run
    starts when any active entry fires."""

    schedule: CronTrigger | None = None
    continuous: Continuous | None = None


class QueueSettings(Model):
    """Queue runs over `max_concurrent_runs` instead of skipping them."""

    enabled: Flag


# The fields of `run_as`: exactly one names the principal the job's runs run as.
RUN_AS_PRINCIPALS = ("user_name", "service_principal_name", "group_name")


class RunAs(Model):
    """The identity runs use: one of a user, a service principal or a group."""

    user_name: str | None = None
    service_principal_name: str | None = None
    group_name: str | None = None

    @model_validator(mode="after")
    def _names_one_principal(self) -> RunAs:
        """The Jobs API refuses `run_as` naming no principal, or more than one."""
        named = [name for name in RUN_AS_PRINCIPALS if getattr(self, name) is not None]
        if len(named) != 1:
            raise ValueError(f"name exactly one of {', '.join(RUN_AS_PRINCIPALS)} (got "
                             f"{' and '.join(named) or 'none'}); keep only the one the job runs as")
        return self

    @property
    def identity(self) -> str | None:
        """The name runs are run as, whichever kind of principal it is."""
        return self.user_name or self.service_principal_name or self.group_name


class GitProvider(StrEnum):
    """Git hosting services the Jobs API names."""

    GIT_HUB = "gitHub"
    BITBUCKET_CLOUD = "bitbucketCloud"
    AZURE_DEV_OPS_SERVICES = "azureDevOpsServices"
    GIT_HUB_ENTERPRISE = "gitHubEnterprise"
    BITBUCKET_SERVER = "bitbucketServer"
    GIT_LAB = "gitLab"
    GIT_LAB_ENTERPRISE_EDITION = "gitLabEnterpriseEdition"
    AWS_CODE_COMMIT = "awsCodeCommit"


class SparseCheckout(Model):
    """Paths to check out of a large repository."""

    patterns: list[str] = []


class GitSource(Model):
    """The repository that `source: GIT` tasks read from, at a branch, tag or commit."""

    git_url: str
    git_provider: GitProvider
    git_branch: str | None = None
    git_tag: str | None = None
    git_commit: str | None = None
    sparse_checkout: SparseCheckout | None = None
    git_snapshot: dict[str, object] | None = None  # set by Databricks; stored
    job_source: dict[str, object] | None = None  # stored, not acted on


class EditMode(StrEnum):
    """Whether the job may be edited in the UI."""

    UI_LOCKED = "UI_LOCKED"  # managed by a bundle or another tool
    EDITABLE = "EDITABLE"


class DeploymentKind(StrEnum):
    """Who deployed the job."""

    BUNDLE = "BUNDLE"
    SYSTEM_MANAGED = "SYSTEM_MANAGED"


class Deployment(Model):
    """How the job was deployed."""

    kind: DeploymentKind
    metadata_file_path: str | None = None
    deployment_id: str | None = None
    version_id: str | None = None


class JobFormat(StrEnum):
    """Legacy job format; always MULTI_TASK since API 2.1."""

    SINGLE_TASK = "SINGLE_TASK"
    MULTI_TASK = "MULTI_TASK"


class PerformanceTarget(StrEnum):
    """Serverless performance mode; stored, not acted on."""

    PERFORMANCE_OPTIMIZED = "PERFORMANCE_OPTIMIZED"
    STANDARD = "STANDARD"


class PermissionLevel(StrEnum):
    """What a principal may do with the job."""

    CAN_VIEW = "CAN_VIEW"
    CAN_MANAGE_RUN = "CAN_MANAGE_RUN"
    CAN_MANAGE = "CAN_MANAGE"
    IS_OWNER = "IS_OWNER"


class AccessControlRequest(Model):
    """One ACL entry of the Jobs API (`permission_level`)."""

    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None
    permission_level: PermissionLevel


class Permission(Model):
    """One permission entry in the bundle format (`level`, not `permission_level`)."""

    level: PermissionLevel
    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None


class Lifecycle(Model):
    """Bundle lifecycle options."""

    prevent_destroy: Flag | None = None

