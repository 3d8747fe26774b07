"""Task values: what an attempt sets for later tasks, checked as Lakeflow does.

An attempt writes one JSON object per line, `{"key": "...", "value": <any JSON>}`, to the file
its engine handed it (`HEADWATER_TASK_VALUES_FILE`); a later line for the same key replaces
the earlier one. Each value must be JSON and at most 48 KiB once serialised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_VALUE_BYTES = 48 * 1024
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class TaskValuesError:
    """Why the values an attempt set are refused; the attempt fails with this message."""

    message: str


def parse_task_values(text: str) -> dict[str, object] | TaskValuesError:
    """The values set by the lines of `text`, or the first thing wrong with them."""
    values: dict[str, object] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            return TaskValuesError(f"task value line {number} is not JSON: {error.msg}")
        problem = _check_entry(entry, number)
        if problem:
            return TaskValuesError(problem)
        values[entry["key"]] = entry["value"]
    return values


def _check_entry(entry: object, number: int) -> str | None:
    if not isinstance(entry, dict) or set(entry) != {"key", "value"}:
        return f'task value line {number} must be {{"key": ..., "value": ...}}'
    key = entry["key"]
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return f"task value line {number}: the key must be a non-empty string"
    size = len(json.dumps(entry["value"], separators=(",", ":")).encode())
    if size > MAX_VALUE_BYTES:
        return (f"task value {key!r} is {size} bytes of JSON; the limit is {MAX_VALUE_BYTES} "
                "bytes (48 KiB). Store large data elsewhere and pass its location instead.")
    return None


def encode_values(values: dict[str, object]) -> str | None:
    """The JSON text kept on the task run (None when nothing was set)."""
    return json.dumps(values, separators=(",", ":"), sort_keys=True) if values else None
