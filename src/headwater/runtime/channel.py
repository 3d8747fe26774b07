"""The task side of the attempt channel: read context.json, append values and metrics, write
result.json, all in the directory named by `HEADWATER_ATTEMPT_DIR`.

The file names are defined here, on the task side, which imports nothing of the orchestrator
and starts fast; the engine (`headwater.engine.attempts`) and the executors take them from here.

The only state kept is the context, read once per process and per directory, then cached.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from headwater.runtime import redaction

__all__ = [
    "ATTEMPT_DIR_VARIABLE",
    "CONTEXT",
    "METRICS",
    "RESULT",
    "VALUES",
    "Context",
    "append_line",
    "current_context",
    "current_directory",
    "update_result",
]

ATTEMPT_DIR_VARIABLE = "HEADWATER_ATTEMPT_DIR"
CONTEXT = "context.json"
VALUES = "values.jsonl"
METRICS = "metrics.jsonl"
RESULT = "result.json"


@dataclass(frozen=True, slots=True)
class Context:
    """Who the running attempt is, as the engine wrote it before the start."""

    job_id: int | None = None
    job_name: str = ""
    user: str = ""  # who the run runs as (its run_as, else the job's creator)
    run_id: int | None = None
    task_run_id: int | None = None
    task_key: str = ""
    attempt_number: int = 0
    iteration: int | None = None
    job_parameters: Mapping[str, str] = field(default_factory=dict)
    task_parameters: Mapping[str, str] = field(default_factory=dict)
    task_values: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # The tasks this one depends on, directly or through others: the only ones whose values
    # it may read. None where the engine did not write them (any task's values are read then).
    upstream_tasks: Sequence[str] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Context:
        """Build a context from the parsed context.json; unknown keys are ignored."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)  # type: ignore[arg-type]


def current_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """The attempt directory, or None outside a headwater run."""
    value = (os.environ if environ is None else environ).get(ATTEMPT_DIR_VARIABLE)
    return Path(value) if value else None


@functools.lru_cache(maxsize=4)
def _read_context(directory: Path) -> Context:
    try:
        text = (directory / CONTEXT).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Context()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{directory / CONTEXT} does not hold a JSON object")
    return Context.from_json(data)


def current_context() -> Context:
    """The running attempt's context; an empty one outside a run (no `HEADWATER_ATTEMPT_DIR`)."""
    directory = current_directory()
    return Context() if directory is None else _read_context(directory)


def append_line(name: str, entry: Mapping[str, object]) -> bool:
    """Append one JSON line to a channel file; False (nothing written) outside a run.

    One `write` of a whole line on an `O_APPEND` descriptor, so that lines from threads or
    child processes never interleave.
    """
    directory = current_directory()
    if directory is None:
        return False
    line = (json.dumps(entry, separators=(",", ":"), allow_nan=False) + "\n").encode()
    descriptor = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return True


def update_result(fields: Mapping[str, object], directory: Path | None = None) -> bool:
    """Merge `fields` into result.json, atomically; False (nothing written) outside a run."""
    directory = directory or current_directory()
    if directory is None:
        return False
    path = directory / RESULT
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    current.update(redaction.redact_all(dict(fields)))  # no secret the task read
    temporary = directory / f".{RESULT}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(current, default=str), encoding="utf-8")
    os.replace(temporary, path)
    return True
