"""The request bodies the API accepts, where untrusted input enters (pydantic, strict about
unknown fields so that a misspelt field is refused with its JSON path, not ignored).

Job settings (`jobs/create`, `new_settings`, `runs/submit`) are not modelled here: they go
through `core.load.settings_from_body`, the validation that job files get, as typed JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
)

from headwater.api.errors import ApiError, validation_message
from headwater.core.spec_common import INT32_MAX
from headwater.core.spec_job import PerformanceTarget
from headwater.core.task_parameters import given
from headwater.errors import NotFound
from headwater.service.runs import MAX_TOKEN

Parameters = dict[str, str]
# Ids are what the store's INTEGER columns hold: 32 bits on PostgreSQL. headwater numbers what
# it keeps from 1, so a larger id names nothing.
Id = Annotated[int, Interval(ge=-INT32_MAX - 1, le=INT32_MAX)]
# Ids in requests are 64 bits, as Databricks' are (reference 2): one a client carries over from
# Databricks is taken, and past what the store holds (`Id`) it names nothing
# (`possible_job_id`, `possible_run_id`), never sent to overflow in the database.
INT64_MAX = 2**63 - 1
JobsApiId = Annotated[int, Interval(ge=-INT64_MAX - 1, le=INT64_MAX)]
# Times in epoch milliseconds, from 1970 to the end of year 9999 (what a datetime can hold).
EpochMillis = Annotated[int, Interval(ge=0, le=253_402_300_799_999)]


def _skip_within_store(offset: int) -> int:
    """The store holds fewer items than ids: skipping more than that skips them all, the same
    empty page, and leaves room to add a limit to."""
    return min(offset, INT32_MAX)


# Items to skip (the deprecated way to page): never negative, up to 64 bits as in the Jobs API.
Offset = Annotated[int, Interval(ge=0, le=INT64_MAX), AfterValidator(_skip_within_store)]


def is_stored_id(number: int) -> bool:
    """Whether the store can hold `number` as an id (else no job or run has it)."""
    return -INT32_MAX - 1 <= number <= INT32_MAX


def possible_job_id(job_id: int) -> int:
    """`job_id`, to ask the store about; past what it holds, "Job N does not exist." as for any
    unknown job (the store is not asked: PostgreSQL would refuse the number)."""
    return _possible_id(job_id, "Job")


def possible_run_id(run_id: int) -> int:
    """`run_id`, to ask the store about; past what it holds, "Run N does not exist."."""
    return _possible_id(run_id, "Run")


def _possible_id(number: int, noun: str) -> int:
    if not is_stored_id(number):
        raise NotFound(f"{noun} {number} does not exist.")
    return number


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobId(_Request):
    """`jobs/delete`."""

    job_id: JobsApiId


class RunId(_Request):
    """`runs/cancel`, `runs/delete`."""

    run_id: JobsApiId


class QueueSettings(_Request):
    """`queue` of a run: whether it may wait for a slot (over the job's own setting)."""

    enabled: StrictBool  # as the job's `queue.enabled`: "yes" or 1 is refused


class _LegacyParameters(_Request):
    """The legacy task parameters of `run-now` and `runs/repair` (core/task_parameters.py;
    those of task types headwater does not run are refused there)."""

    notebook_params: Parameters | None = None
    python_params: list[str] | None = None
    python_named_params: Parameters | None = None
    sql_params: Parameters | None = None
    dbt_commands: list[str] | None = None
    jar_params: list[str] | None = None
    spark_submit_params: list[str] | None = None
    pipeline_params: dict[str, Any] | None = None
    # Serverless compute's performance mode and the window a cost-optimized run aims to end
    # in: checked, and without effect (no serverless here), as on the job's settings
    performance_target: PerformanceTarget | None = None
    duration_target: str | None = None

    def task_parameters(self) -> dict[str, Any]:
        """The legacy task parameters sent, by kind."""
        return given(self)


class RunNow(_LegacyParameters):
    """`jobs/run-now`: the job, its parameters, a token that makes a retry harmless, the
    tasks to run (`only`; all when absent), and the legacy task parameters."""

    job_id: JobsApiId
    job_parameters: Parameters | None = None
    idempotency_token: Annotated[str, Field(max_length=MAX_TOKEN)] | None = None
    only: list[str] | None = None
    queue: QueueSettings | None = None


class CancelAll(_Request):
    """`runs/cancel-all`: a job's active runs, or every queued run."""

    job_id: JobsApiId | None = None
    all_queued_runs: StrictBool = False


class Repair(_LegacyParameters):
    """`runs/repair`: which tasks to rerun (named, or all that failed) and how, and the
    parameters that change for them (job parameters, or the legacy task parameters)."""

    run_id: JobsApiId
    rerun_tasks: list[str] | None = None
    rerun_all_failed_tasks: StrictBool | None = None
    rerun_dependent_tasks: StrictBool | None = None
    latest_repair_id: JobsApiId | None = None
    job_parameters: Parameters | None = None


class Reset(_Request):
    """`jobs/reset`: every setting of a job."""

    job_id: JobsApiId
    new_settings: dict[str, Any]


class Update(_Request):
    """`jobs/update`: some settings, and top-level fields or `tasks/<key>` to remove."""

    job_id: JobsApiId
    new_settings: dict[str, Any] | None = None
    fields_to_remove: list[str] | None = None


class AccessControlRequest(_Request):
    """One entry of an `access_control_list`: exactly one of the names, and a level."""

    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None
    permission_level: str


class SecretScopeName(_Request):
    """`secrets/scopes/create` and `secrets/scopes/delete` (a scope's backend and Azure Key
    Vault fields are accepted and ignored: there is one backend)."""

    scope: str
    initial_manage_principal: str | None = None
    scope_backend_type: str | None = None
    backend_azure_keyvault: dict[str, Any] | None = None


class SecretPut(_Request):
    """`secrets/put`: a text value or base64 bytes, not both."""

    scope: str
    key: str
    string_value: str | None = None
    bytes_value: str | None = None


class SecretKey(_Request):
    """`secrets/delete`."""

    scope: str
    key: str


class SecretAclKey(_Request):
    """`secrets/acls/delete`."""

    scope: str
    principal: str


class SecretAclPut(SecretAclKey):
    """`secrets/acls/put`: READ, WRITE or MANAGE (checked by the service, which says which)."""

    permission: str | None = None


class GitCredentialBody(_Request):
    """`POST /api/2.0/git-credentials` and `PATCH .../{credential_id}` (which also names the
    provider, as the databricks-sdk sends it)."""

    git_provider: str
    git_username: str | None = None
    git_email: str | None = None
    name: str | None = None
    is_default_for_provider: bool | None = None
    personal_access_token: str | None = None
    principal_id: JobsApiId | None = None


class Permissions(_Request):
    """`PUT`/`PATCH /api/2.0/permissions/jobs/{id}`."""

    access_control_list: list[AccessControlRequest] = []


_ACCESS_LIST = TypeAdapter(list[AccessControlRequest])


def access_control_list(value: object, where: str = "access_control_list"
                        ) -> list[dict[str, Any]]:
    """The entries of an `access_control_list` found in a raw body (create, submit), each
    checked; 400 naming every bad entry by its JSON path."""
    try:
        entries = _ACCESS_LIST.validate_python(value if value is not None else [])
    except ValidationError as error:
        problems = [{**e, "loc": ("body", where, *e["loc"])} for e in error.errors()]
        raise ApiError(400, "INVALID_PARAMETER_VALUE", validation_message(problems)) from None
    return [entry.model_dump(exclude_none=True) for entry in entries]


__all__ = ["AccessControlRequest", "CancelAll", "EpochMillis", "Id", "JobId", "JobsApiId",
           "Offset", "Permissions", "Repair", "Reset", "RunId", "RunNow", "Update",
           "access_control_list", "is_stored_id", "possible_job_id", "possible_run_id"]
