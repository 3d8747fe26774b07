"""STUB to be replaced by the spec helper: pydantic v2 models of Jobs API 2.2 JobSettings."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RunIf(StrEnum):
    ALL_SUCCESS = "ALL_SUCCESS"
    AT_LEAST_ONE_SUCCESS = "AT_LEAST_ONE_SUCCESS"
    NONE_FAILED = "NONE_FAILED"
    ALL_DONE = "ALL_DONE"
    AT_LEAST_ONE_FAILED = "AT_LEAST_ONE_FAILED"
    ALL_FAILED = "ALL_FAILED"


class ConditionTaskOp(StrEnum):
    EQUAL_TO = "EQUAL_TO"
    NOT_EQUAL = "NOT_EQUAL"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"
    LESS_THAN = "LESS_THAN"
    LESS_THAN_OR_EQUAL = "LESS_THAN_OR_EQUAL"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskDependency(Model):
    task_key: str
    outcome: str | None = None


class ShellCommandTask(Model):
    command: str
    env: dict[str, str] = {}


class SparkPythonTask(Model):
    python_file: str
    parameters: list[str] = []


class ConditionTask(Model):
    op: ConditionTaskOp
    left: str
    right: str


class Task(Model):
    task_key: str
    description: str | None = None
    depends_on: list[TaskDependency] = []
    run_if: RunIf | None = None
    max_retries: int | None = None
    min_retry_interval_millis: int | None = None
    retry_on_timeout: bool | None = None
    timeout_seconds: int | None = None
    disabled: bool | None = None
    shell_command_task: ShellCommandTask | None = None
    spark_python_task: SparkPythonTask | None = None
    condition_task: ConditionTask | None = None

    @property
    def task_type(self) -> str:
        for name in ("shell_command_task", "spark_python_task", "condition_task"):
            if getattr(self, name) is not None:
                return name
        raise ValueError("no task type")


class JobSettings(Model):
    name: str | None = None
    tasks: list[Task] = []
    timeout_seconds: int | None = None
    max_concurrent_runs: int | None = None
