"""headwater's exceptions: one tree, so callers can catch what they can handle.

Most classes live in this module; a few live beside the code that raises them. Each line names
the module (under `headwater.`) that defines the class, then the stable `error_code` it carries:
the Jobs API sends it as is (`{"error_code": ..., "message": ...}`), and clients such as the
`databricks-sdk` map it to their own exceptions.

    HeadwaterError           errors     INTERNAL_ERROR           anything raised on purpose
     ├── SpecError           errors     INVALID_PARAMETER_VALUE  a job file is invalid; carries
     │                                                           every `Problem`
     ├── PlanError           errors     INVALID_PARAMETER_VALUE  a job cannot be planned
     ├── IllegalTransition   errors     INTERNAL_ERROR           a move the state table forbids
     ├── NotFound            errors     RESOURCE_DOES_NOT_EXIST  a job, run or task run id
     ├── InvalidRequest      errors     INVALID_PARAMETER_VALUE  a request that cannot be right
     ├── InvalidState        errors     INVALID_STATE            right, but not in this state
     ├── Conflict            errors     RESOURCE_CONFLICT        it clashes with what exists
     ├── AlreadyExists       errors     RESOURCE_ALREADY_EXISTS  what it would create exists
     ├── DirectoryNotEmpty   errors     DIRECTORY_NOT_EMPTY      a workspace folder deleted
     │                                                           without `recursive` is not empty
     ├── ObjectTooLarge      errors     MAX_NOTEBOOK_SIZE_EXCEEDED  a workspace import or
     │                                                           export past 10 MB
     ├── PermissionDenied    errors     PERMISSION_DENIED        the actor may not do this
     ├── StoreError          errors     TEMPORARILY_UNAVAILABLE  the store cannot be written
     │    ├── LeaseLost      errors     TEMPORARILY_UNAVAILABLE  another engine drives the run
     │    └── StoreLost      errors     TEMPORARILY_UNAVAILABLE  the SQLite file was removed or
     │                                                           replaced: stop, start again
     ├── ConfigError         config     INVALID_PARAMETER_VALUE  the configuration file is bad
     ├── CronError   core.cron_syntax  INVALID_PARAMETER_VALUE  a cron expression or time
     │                                                           zone id is invalid
     ├── CheckoutFailed  engine.git_checkouts                    a run's Git snapshot could
     │                                                           not be made
     ├── ReferenceError      core.refs  INVALID_PARAMETER_VALUE  a `{{...}}` reference names
     │                                                           nothing or cannot be resolved
     │                                                           (shadows the builtin)
     └── DeliveryError       notify.messages                     a notification's try failed;
                                                                 says whether to try again
"""

from __future__ import annotations

from dataclasses import dataclass


class HeadwaterError(Exception):
    """Raised for every error headwater reports on purpose."""

    error_code = "INTERNAL_ERROR"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a job file: where it is, what is wrong, how to fix it.

    `where` is `file:line:col` for YAML and `file: $.json.path` for JSON; `path` is the
    dotted path inside the job settings (`tasks[3].depends_on[0].task_key`).
    """

    where: str
    path: str
    message: str

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        inner = f"{self.path}: " if self.path and not self.where.endswith(self.path) else ""
        return f"{prefix}{inner}{self.message}"


class SpecError(HeadwaterError):
    """Raised when one or more job files are invalid; `problems` lists all of them."""

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found:\n{lines}")


class PlanError(HeadwaterError):
    """Raised when valid settings cannot be turned into a plan (cycles, unknown tasks)."""

    error_code = "INVALID_PARAMETER_VALUE"


class IllegalTransition(HeadwaterError):
    """Raised when a task run would make a move the transition table forbids."""

    def __init__(self, task_key: str, source: str, target: str) -> None:
        self.task_key, self.source, self.target = task_key, source, target
        super().__init__(f"task {task_key!r}: illegal transition {source} -> {target}")


class NotFound(HeadwaterError):
    """Raised when a job, run or task run id does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class InvalidRequest(HeadwaterError):
    """Raised when a request cannot be right: a bad value, an unknown name, a bad pairing."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidState(HeadwaterError):
    """Raised when a request is right but not in the current state (repair a running run)."""

    error_code = "INVALID_STATE"


class Conflict(HeadwaterError):
    """Raised when a request clashes with what exists (a second job for one bundle key)."""

    error_code = "RESOURCE_CONFLICT"


class AlreadyExists(HeadwaterError):
    """Raised when what a request would create exists already (a secret scope)."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class DirectoryNotEmpty(HeadwaterError):
    """Raised when a workspace folder that holds something is deleted without `recursive`."""

    error_code = "DIRECTORY_NOT_EMPTY"


class ObjectTooLarge(HeadwaterError):
    """Raised when a workspace import or export would carry more than Databricks' 10 MB."""

    error_code = "MAX_NOTEBOOK_SIZE_EXCEEDED"


class PermissionDenied(HeadwaterError):
    """Raised when the acting user may not do what was asked."""

    error_code = "PERMISSION_DENIED"


class AttemptOutOfSight(HeadwaterError):
    """Raised when an engine adopting a run cannot see an attempt another engine launched:
    the store says it started, yet its folder is not there (engines that share a
    store with different `HEADWATER_HOME`s, or on machines without a shared home). It is not
    declared lost: its process may well be running where this engine cannot look."""

    error_code = "INVALID_STATE"


class StoreError(HeadwaterError):
    """Raised when the state store cannot be opened, migrated or written."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class StoreLost(StoreError):
    """Raised when the SQLite file a process opened was removed or replaced under it: nothing
    it writes is stored any more, so it stops (and a restart opens the file that is there)."""


class LeaseLost(StoreError):
    """Raised when an engine writes to a run under a fencing token that is no longer the run's:
    its lease expired and another engine claimed the run, which now drives it alone."""

    def __init__(self, run_id: int, fence: int) -> None:
        self.run_id, self.fence = run_id, fence
        super().__init__(f"run {run_id}: this engine's lease (fence {fence}) was taken over by "
                         "another engine")


def error_for(error_code: str, message: str) -> HeadwaterError:
    """The exception of this tree that carries `error_code` (a server's answer, read back by a
    client); a plain `HeadwaterError` for a code that has no class of its own."""
    classes: dict[str, type[HeadwaterError]] = {
        InvalidRequest.error_code: InvalidRequest,
        NotFound.error_code: NotFound,
        InvalidState.error_code: InvalidState,
        Conflict.error_code: Conflict,
        AlreadyExists.error_code: AlreadyExists,
        DirectoryNotEmpty.error_code: DirectoryNotEmpty,
        ObjectTooLarge.error_code: ObjectTooLarge,
        PermissionDenied.error_code: PermissionDenied,
        StoreError.error_code: StoreError,
    }
    found = classes.get(error_code)
    return found(message) if found is not None else HeadwaterError(f"{error_code}: {message}")
