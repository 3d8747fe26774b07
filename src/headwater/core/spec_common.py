"""Building blocks shared by the job and task models: the strict base model, value types,
the enums used at both levels, notifications and health rules.

Only `core/spec*.py` import this module; everyone else imports the re-exports in `core/spec.py`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError


class Model(BaseModel):
    """Base of every spec model: unknown fields are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


# The validation context of a Jobs API request body: typed JSON, where a string takes only a
# string (see `_text`), and the type of the error a number or a boolean is there.
TYPED_JSON = MappingProxyType({"typed_json": True})
UNTYPED_TEXT = "untyped_text"


def scalar_to_text(value: object) -> object:
    """Turn a YAML/JSON number or boolean into the string the Jobs API expects.

    Parameter values and condition operands are strings in the API; bundle authors often
    write `default: 5` or `right: true`. Booleans become `"true"`/`"false"` like JSON.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _text(value: object, info: ValidationInfo) -> object:
    """`scalar_to_text`, as the Databricks CLI reads a bundle's YAML scalars into strings; but
    a Jobs API body is typed JSON, where Databricks refuses a number for a string: validated
    with the `TYPED_JSON` context, such a value is an `UNTYPED_TEXT` error."""
    if isinstance(value, bool | int | float) and info.context == TYPED_JSON:
        raise PydanticCustomError(UNTYPED_TEXT, "must be a string (got {value}); put it in "
                                  "quotes", {"value": json.dumps(value)})
    return scalar_to_text(value)


# A string field that also accepts a number or a boolean and stores its text (not in a typed
# JSON body: `_text`).
Text = Annotated[str, BeforeValidator(_text)]
# Booleans and integers are strict: "yes", "1" or 1.0 are errors, not silently coerced.
Flag = StrictBool
# The Jobs API's counts and durations are 32-bit: a larger one is refused where it is written,
# never overflowed in the store or in a timer.
INT32_MAX = 2**31 - 1
NonNegative = Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]


class PauseStatus(StrEnum):
    """Whether a schedule, trigger or continuous job fires."""

    PAUSED = "PAUSED"  # defined but not firing
    UNPAUSED = "UNPAUSED"  # firing


class Source(StrEnum):
    """Where a notebook, script or SQL file is read from."""

    WORKSPACE = "WORKSPACE"  # the local file system for headwater
    GIT = "GIT"  # the job's `git_source`


class HealthMetric(StrEnum):
    """What a health rule watches."""

    RUN_DURATION_SECONDS = "RUN_DURATION_SECONDS"  # warn when a run lasts longer than value
    STREAMING_BACKLOG_BYTES = "STREAMING_BACKLOG_BYTES"  # stored, not acted on
    STREAMING_BACKLOG_RECORDS = "STREAMING_BACKLOG_RECORDS"  # stored, not acted on
    STREAMING_BACKLOG_SECONDS = "STREAMING_BACKLOG_SECONDS"  # stored, not acted on
    STREAMING_BACKLOG_FILES = "STREAMING_BACKLOG_FILES"  # stored, not acted on


class HealthOperator(StrEnum):
    """How a health rule compares; the Jobs API knows only one operator."""

    GREATER_THAN = "GREATER_THAN"  # the metric exceeds `value`


class HealthRule(Model):
    """One rule: notify when `metric` `op` `value` holds (the run continues)."""

    metric: HealthMetric
    op: HealthOperator
    value: NonNegative


class Health(Model):
    """Health rules of a job or a task."""

    rules: list[HealthRule] = []


class EmailNotifications(Model):
    """E-mail addresses to notify per run event, at job or task level."""

    on_start: list[str] = []
    on_success: list[str] = []
    on_failure: list[str] = []
    on_duration_warning_threshold_exceeded: list[str] = []
    on_streaming_backlog_exceeded: list[str] = []  # stored, never fires (no Spark streams)
    on_maintenance_start: list[str] = []  # stored, not acted on (no maintenance windows)
    on_maintenance_complete: list[str] = []  # stored, not acted on
    no_alert_for_skipped_runs: Flag | None = None  # deprecated in the API; kept


class Webhook(Model):
    """A reference to an admin-configured notification destination."""

    id: str


class WebhookNotifications(Model):
    """Notification destinations per run event (at most 3 per event)."""

    on_start: list[Webhook] = []
    on_success: list[Webhook] = []
    on_failure: list[Webhook] = []
    on_duration_warning_threshold_exceeded: list[Webhook] = []
    on_streaming_backlog_exceeded: list[Webhook] = []  # stored, never fires (no Spark streams)
    on_maintenance_start: list[Webhook] = []  # stored, not acted on
    on_maintenance_complete: list[Webhook] = []  # stored, not acted on


class JobNotificationSettings(Model):
    """Mute flags for job-level notifications."""

    no_alert_for_skipped_runs: Flag | None = None
    no_alert_for_canceled_runs: Flag | None = None


class TaskNotificationSettings(JobNotificationSettings):
    """Mute flags for task-level notifications, plus alerting only on the last attempt."""

    alert_on_last_attempt: Flag | None = None


# Events that carry destinations, in the order the API documents them.
NOTIFICATION_EVENTS = (
    "on_start",
    "on_success",
    "on_failure",
    "on_duration_warning_threshold_exceeded",
    "on_streaming_backlog_exceeded",
)
