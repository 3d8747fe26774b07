"""The lint rules as data: severities, the rule table, findings, options and the subject.

`design/lint.py` documents the rules and runs the checks; this module holds the types they share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from headwater.core.spec import JobSettings
from headwater.core.whatif_sweep import MAX_SWEPT_TASKS

__all__ = [
    "DEFAULT_MAX_LINES",
    "DEFAULT_NAMING",
    "DISABLE_TAG",
    "RULES",
    "Finding",
    "LintOptions",
    "LintSubject",
    "Loc",
    "Rule",
    "Severity",
]

Loc = tuple[str | int, ...]
DISABLE_TAG = "headwater-lint-disable"
# snake_case words: a plain `extract` is a fine key; `--naming` can ask for more, such as
# `<verb>_<layer>_<entity>` ([a-z]+_(bronze|silver|gold)_[a-z0-9_]+)
DEFAULT_NAMING = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
DEFAULT_MAX_LINES = 300


class Severity(StrEnum):
    """How much a finding matters; errors fail `headwater lint`, warnings too with --strict."""

    ERROR = "error"  # will hurt in production: fix before deploying
    WARNING = "warning"  # a checklist item is missing
    INFO = "info"  # worth a look; often a deliberate choice


@dataclass(frozen=True, slots=True)
class Rule:
    """One checklist item: its id, severity, what it finds and the one-line fix."""

    id: str
    severity: Severity
    summary: str
    fix: str


RULES = {
    rule.id: rule
    for rule in (
        Rule("HW101", Severity.WARNING, "task without a timeout", "set timeout_seconds"),
        Rule("HW102", Severity.WARNING, "ingestion task without retries",
             "set max_retries (e.g. 3) and min_retry_interval_millis (e.g. 60000)"),
        Rule("HW103", Severity.INFO, "task without retries",
             "set max_retries, or disable HW103 for this task if a retry cannot help"),
        Rule("HW104", Severity.ERROR, "retry storm: unlimited retries without an interval",
             "set min_retry_interval_millis (or a finite max_retries)"),
        Rule("HW105", Severity.WARNING, "hard-coded environment name or path",
             "use a job parameter ({{job.parameters.<name>}}) or a bundle variable "
             "(${var.<name>}) set per target"),
        Rule("HW106", Severity.WARNING, "name that says nothing",
             "rename it after what it does, e.g. ingest_bronze_customers"),
        Rule("HW107", Severity.INFO, "task key off the naming convention (snake_case, or --naming)",
             "rename it, e.g. transform_silver_orders"),
        Rule("HW108", Severity.INFO, "task with too many responsibilities",
             "split it into smaller tasks with one responsibility each"),
        Rule("HW109", Severity.WARNING, "task whose failure reaches no alert and no handler",
             "add the task's email_notifications.on_failure, or a task after it with run_if "
             "AT_LEAST_ONE_FAILED (headwater simulate --fail TASK shows what happens)"),
        Rule("HW110", Severity.INFO, "job too large for HW109 to simulate each task failing",
             "run headwater simulate --all-failures on it, or raise lint's --max-simulated"),
        Rule("HW201", Severity.WARNING, "job without a timeout", "set the job's timeout_seconds"),
        Rule("HW202", Severity.WARNING, "job without a failure alert",
             "add email_notifications.on_failure or webhook_notifications.on_failure"),
        Rule("HW203", Severity.WARNING, "production target without an active schedule",
             "add a schedule (or trigger) to the job or the production target, unpaused"),
        Rule("HW204", Severity.ERROR, "job whose every run is skipped",
             "set max_concurrent_runs to at least 1 (0 skips every run)"),
        Rule("HW205", Severity.INFO, "job that skips runs over max_concurrent_runs",
             "turn the queue on (queue: {enabled: true}) unless skipping is what you want"),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken at `path` inside the job (`()`: the job), or in `target`'s section."""

    rule: Rule
    message: str
    path: Loc = ()
    target: str | None = None
    task_key: str | None = None  # the task it is about, for per-task disabling

    @property
    def text(self) -> str:
        """`HW101 task 'x' has no timeout; fix: set timeout_seconds`."""
        return f"{self.rule.id} {self.message}; fix: {self.rule.fix}"


@dataclass(frozen=True, slots=True)
class LintOptions:
    """The knobs of the rules: the naming convention, the code size limit, and the most tasks
    whose failures HW109 simulates."""

    naming: re.Pattern[str] = DEFAULT_NAMING
    max_lines: int = DEFAULT_MAX_LINES
    max_simulated: int = MAX_SWEPT_TASKS


@dataclass(frozen=True)
class LintSubject:
    """A job to lint, with what the caller read for the rules that look beyond the settings.

    `production` is the job as the production target makes it (with that target's name), when
    the file has one. `written(path)` gives the text of a value as the file writes it (before
    `${var.*}` substitution), None to use the loaded value. `code_lines` maps task keys to the
    non-blank line count of their notebook or script.
    """

    settings: JobSettings
    resource_name: str
    production: tuple[str, JobSettings] | None = None
    written: Callable[[Loc], str | None] = field(default=lambda path: None)
    code_lines: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # key: (path, n)
