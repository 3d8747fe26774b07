"""headwater's exceptions: one tree, so callers can catch what they can handle.

Most classes live in this module; a few live beside the code that raises them. Each line names
the module (under `headwater.`) that defines the class.

    HeadwaterError           errors            anything headwater raises on purpose
     ├── SpecError           errors            a job file is invalid; carries every `Problem`
     ├── PlanError           errors            a job cannot be planned (a cycle, an unknown task)
     ├── IllegalTransition   errors            a move the state machine's table forbids
     ├── NotFound            errors            a job, run or task run id that does not exist
     ├── InvalidRequest      errors            well-formed but not allowed now
     ├── StoreError          errors            the state store cannot be opened or written
     ├── ConfigError         config_file       the configuration file is unreadable or invalid
     ├── ReferenceError      core.refs         a `{{...}}` reference names nothing or cannot be
     │                                         resolved now (shadows the builtin: import by name)
     └── DeliveryError       notify.messages   a notification transport's try failed; says
                                               whether trying again may help
"""

from __future__ import annotations

from dataclasses import dataclass


class HeadwaterError(Exception):
    """Raised for every error headwater reports on purpose."""


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

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found:\n{lines}")


class PlanError(HeadwaterError):
    """Raised when valid settings cannot be turned into a plan (cycles, unknown tasks)."""


class IllegalTransition(HeadwaterError):
    """Raised when a task run would make a move the transition table forbids."""

    def __init__(self, task_key: str, source: str, target: str) -> None:
        self.task_key, self.source, self.target = task_key, source, target
        super().__init__(f"task {task_key!r}: illegal transition {source} -> {target}")


class NotFound(HeadwaterError):
    """Raised when a job, run or task run id does not exist."""


class InvalidRequest(HeadwaterError):
    """Raised when a request is well-formed but not allowed in the current state."""


class StoreError(HeadwaterError):
    """Raised when the state store cannot be opened, migrated or written."""
