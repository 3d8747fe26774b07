"""pydantic v2 models of the Jobs API 2.2 `JobSettings` and `Task`: the only door through which
untrusted job definitions enter headwater.

Every field of the API that headwater acts on or stores is modelled; anything else is an error
(`extra="forbid"`). Counts and timeouts carry their limits as field constraints. Graph rules
(unique keys, known dependencies, no cycles, ...) live in `core/checks.py`; reading files and
locating errors in them lives in `core/load.py`. The parts are split over `spec_common.py`,
`spec_tasks.py`, `spec_libraries.py` and `spec_job.py`; import them from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt, ValidationInfo
from pydantic_core import PydanticCustomError

from headwater.core.spec_common import (
    INT32_MAX,
    TYPED_JSON,
    UNTYPED_TEXT,
    EmailNotifications,
    Flag,
    Health,
    HealthMetric,
    HealthOperator,
    HealthRule,
    JobNotificationSettings,
    Model,
    NonNegative,
    PauseStatus,
    Source,
    TaskNotificationSettings,
    Text,
    Webhook,
    WebhookNotifications,
)
from headwater.core.spec_job import (
    AccessControlRequest,
    Continuous,
    CronSchedule,
    Deployment,
    EditMode,
    EnvironmentVariables,
    GitSource,
    JobCluster,
    JobEnvironment,
    JobFormat,
    JobParameter,
    Lifecycle,
    PerformanceTarget,
    Permission,
    QueueSettings,
    RunAs,
    TriggerConfiguration,
    TriggerSettings,
)
from headwater.core.spec_libraries import Library
from headwater.core.spec_tasks import (
    ConditionTask,
    ConditionTaskOp,
    DbtTask,
    NotebookTask,
    OperatorParameter,
    PythonOperatorTask,
    PythonWheelTask,
    RunJobTask,
    ShellCommandTask,
    SparkPythonTask,
    SqlFile,
    SqlQuery,
    SqlTask,
)

# The task-type fields of `Task`, in the order the API documents them; a task sets exactly one.
TASK_TYPES = (
    "notebook_task",
    "spark_python_task",
    "python_wheel_task",
    "python_operator_task",
    "sql_task",
    "dbt_task",
    "run_job_task",
    "condition_task",
    "for_each_task",
    "shell_command_task",
)
MAX_TASKS = 1000
MAX_INLINE_INPUTS = 10_000  # characters of a for-each's `inputs` as written (reference 0.12)
LONG_INPUTS = "long_inputs"  # the error type of `_inline_inputs`
# The errors only a Jobs API body (validated with the `TYPED_JSON` context) can have: about a
# value as the client sent it, not about the settings it makes.
TYPED_JSON_ERRORS = (UNTYPED_TEXT, LONG_INPUTS)


class RunIf(StrEnum):
    """When a task runs, judged once all its dependencies have finished."""

    ALL_SUCCESS = "ALL_SUCCESS"  # every dependency succeeded (the default)
    AT_LEAST_ONE_SUCCESS = "AT_LEAST_ONE_SUCCESS"  # one or more succeeded
    NONE_FAILED = "NONE_FAILED"  # none failed; skipped or excluded ones are fine
    ALL_DONE = "ALL_DONE"  # all finished, whatever their result
    AT_LEAST_ONE_FAILED = "AT_LEAST_ONE_FAILED"  # one or more failed
    ALL_FAILED = "ALL_FAILED"  # every dependency failed


class TaskDependency(Model):
    """An edge of the DAG; `outcome` ("true"/"false") follows a condition task's branch."""

    task_key: str
    outcome: Text | None = None


def _inline_inputs(inputs: str, info: ValidationInfo) -> str:
    """`inputs`, unless a Jobs API body gives more than the API takes (a longer array belongs
    in a task value, of up to 48 KiB). Only there: a job file runs here as it is, and a job
    stored before the limit was checked must still read."""
    if len(inputs) > MAX_INLINE_INPUTS and info.context == TYPED_JSON:
        raise PydanticCustomError(
            LONG_INPUTS, "inputs is {length} characters long, more than the {limit} the Jobs "
            "API takes; set a longer array as a task value in an upstream task and give its "
            "reference ({reference})",
            {"length": f"{len(inputs):,}", "limit": f"{MAX_INLINE_INPUTS:,}",
             "reference": "{{tasks.<key>.values.<name>}}"})
    return inputs


class ForEachTask(Model):
    """Run the nested `task` once per element of the JSON array `inputs`."""

    inputs: Annotated[str, AfterValidator(_inline_inputs)]
    concurrency: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    task: Task


class Task(Model):
    """One task of a job: its place in the DAG, its retry and timeout policy, and its type."""

    task_key: str
    description: str | None = None
    depends_on: list[TaskDependency] = []
    run_if: RunIf | None = None
    max_retries: Annotated[StrictInt, Field(ge=-1, le=INT32_MAX)] | None = None  # -1: retry forever
    min_retry_interval_millis: NonNegative | None = None
    retry_on_timeout: Flag | None = None
    timeout_seconds: NonNegative | None = None  # 0: no timeout
    disabled: Flag | None = None
    environment_key: str | None = None
    environment_variables_key: str | None = None
    job_cluster_key: str | None = None
    existing_cluster_id: str | None = None
    new_cluster: dict[str, object] | None = None
    libraries: list[Library] = []  # installed as on a cluster: core/spec_libraries.py
    compute: dict[str, object] | None = None  # stored, not acted on
    disable_auto_optimization: Flag | None = None  # stored, not acted on (no Spark)
    email_notifications: EmailNotifications | None = None
    webhook_notifications: WebhookNotifications | None = None
    notification_settings: TaskNotificationSettings | None = None
    health: Health | None = None
    notebook_task: NotebookTask | None = None
    spark_python_task: SparkPythonTask | None = None
    python_wheel_task: PythonWheelTask | None = None
    python_operator_task: PythonOperatorTask | None = None
    sql_task: SqlTask | None = None
    dbt_task: DbtTask | None = None
    run_job_task: RunJobTask | None = None
    condition_task: ConditionTask | None = None
    for_each_task: ForEachTask | None = None
    shell_command_task: ShellCommandTask | None = None

    @property
    def task_types(self) -> list[str]:
        """The names of every task-type field that is set (valid tasks have exactly one)."""
        return [name for name in TASK_TYPES if getattr(self, name) is not None]

    @property
    def task_type(self) -> str:
        """The name of the task-type field that is set, e.g. `"notebook_task"`.

        Raises:
            ValueError: if no task type is set (`core/checks.py` reports that case first).
        """
        for name in TASK_TYPES:
            if getattr(self, name) is not None:
                return name
        raise ValueError(f"task {self.task_key!r} has no task type")


ForEachTask.model_rebuild()


class JobSettings(Model):
    """The body of `jobs/create`, and one `resources.jobs.<name>` entry of a bundle."""

    name: str | None = None
    description: str | None = Field(default=None, max_length=27_700)
    tasks: list[Task] = []
    job_clusters: list[JobCluster] = []
    environments: list[JobEnvironment] = []
    environment_variables: list[EnvironmentVariables] = Field(default=[], max_length=10)
    parameters: list[JobParameter] = []
    schedule: CronSchedule | None = None
    trigger: TriggerSettings | None = None
    triggers: list[TriggerConfiguration] = []  # the multi-trigger preview: any entry fires
    continuous: Continuous | None = None
    queue: QueueSettings | None = None
    max_concurrent_runs: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None
    timeout_seconds: NonNegative | None = None  # 0: no timeout
    health: Health | None = None
    email_notifications: EmailNotifications | None = None
    webhook_notifications: WebhookNotifications | None = None
    notification_settings: JobNotificationSettings | None = None
    run_as: RunAs | None = None
    tags: dict[str, Text] = Field(default={}, max_length=25)
    git_source: GitSource | None = None
    edit_mode: EditMode | None = None
    deployment: Deployment | None = None
    format: JobFormat | None = None
    budget_policy_id: str | None = None
    usage_policy_id: str | None = None
    performance_target: PerformanceTarget | None = None
    duration_target: str | None = None  # stored, not acted on
    access_control_list: list[AccessControlRequest] = []
    permissions: list[Permission] = []  # bundle format
    lifecycle: Lifecycle | None = None  # bundle format
    parent_path: str | None = None


__all__ = [
    "MAX_INLINE_INPUTS",
    "MAX_TASKS",
    "TASK_TYPES",
    "TYPED_JSON",
    "TYPED_JSON_ERRORS",
    "AccessControlRequest",
    "ConditionTask",
    "ConditionTaskOp",
    "Continuous",
    "CronSchedule",
    "DbtTask",
    "EmailNotifications",
    "ForEachTask",
    "GitSource",
    "Health",
    "HealthMetric",
    "HealthOperator",
    "HealthRule",
    "JobCluster",
    "JobEnvironment",
    "JobNotificationSettings",
    "JobParameter",
    "JobSettings",
    "Library",
    "Model",
    "NotebookTask",
    "OperatorParameter",
    "PauseStatus",
    "Permission",
    "PythonOperatorTask",
    "PythonWheelTask",
    "QueueSettings",
    "RunIf",
    "RunJobTask",
    "ShellCommandTask",
    "Source",
    "SparkPythonTask",
    "SqlFile",
    "SqlQuery",
    "SqlTask",
    "Task",
    "TaskDependency",
    "TaskNotificationSettings",
    "TriggerSettings",
    "Webhook",
    "WebhookNotifications",
]
