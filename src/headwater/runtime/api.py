"""The runtime's objects: the parameters, task values, metrics and notebook exit of the
running attempt. `headwater.runtime` exposes one instance of each; they hold no state of
their own and read the cached context of `headwater.runtime.channel`.

Outside a run (no `HEADWATER_ATTEMPT_DIR`) everything still works, so that a notebook can be
tried by hand: parameters are empty, `set` and `record` check their input and write nothing.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from headwater.core.taskvalues import MAX_KEY_LENGTH, MAX_VALUE_BYTES
from headwater.runtime import channel
from headwater.runtime.redaction import redact_all

if TYPE_CHECKING:
    from headwater.entrypoints.sql import Table

__all__ = [
    "MAX_NOTEBOOK_RESULT_BYTES",
    "Metrics",
    "Notebook",
    "NotebookExit",
    "Parameters",
    "TaskValues",
    "Warehouse",
    "upstream_values",
]

MAX_NOTEBOOK_RESULT_BYTES = 5 * 1024 * 1024  # `notebook_output.result` keeps the first 5 MB


class NotebookExit(SystemExit):  # named like SystemExit: it is not an error
    """Raised by `notebook.exit` to stop the notebook successfully.

    A `SystemExit` with code 0, so that `except Exception:` in a notebook does not swallow it
    and a plain script that calls `exit` ends cleanly; the notebook executor catches it.
    """

    def __init__(self, result: str) -> None:
        super().__init__(0)
        self.result = result


class Parameters(Mapping[str, str]):
    """The attempt's parameters: the task's key/value parameters over the job's parameters."""

    def _merged(self) -> dict[str, str]:
        context = channel.current_context()
        return {**context.job_parameters, **context.task_parameters}

    def __getitem__(self, name: str) -> str:
        return self._merged()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._merged())

    def __len__(self) -> int:
        return len(self._merged())

    def __repr__(self) -> str:
        return f"Parameters({self._merged()!r})"


def encode_value(key: object, value: object) -> str:
    """The JSON of a task value, checked as the engine will check it.

    Raises:
        TypeError: when the key is not a string or the value cannot be serialised as JSON.
        ValueError: when the key is empty or too long, or the JSON is over 48 KiB.
    """
    if not isinstance(key, str):
        raise TypeError(f"a task value key must be a string, got {type(key).__name__}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a task value key must have 1 to {MAX_KEY_LENGTH} characters, "
                         f"got {len(key)}")
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except TypeError as error:
        raise TypeError(f"task value {key!r} cannot be serialised as JSON: {error}") from None
    except ValueError as error:  # NaN or infinity, or a circular reference
        raise ValueError(f"task value {key!r} is not valid JSON: {error}") from None
    size = len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise ValueError(f"task value {key!r} is {size} bytes of JSON; the limit is "
                         f"{MAX_VALUE_BYTES} bytes (48 KiB). Store large data elsewhere and "
                         "pass its location instead.")
    return text


class TaskValues:
    """Values this attempt sets for later tasks, and values earlier tasks set."""

    def set(self, key: str, value: object) -> None:
        """Set `key` to `value` (any JSON, at most 48 KiB); a later set of a key wins.

        Raises:
            TypeError: when `value` is not JSON-serialisable or `key` is not a string.
            ValueError: when `key` is empty or too long, or `value` is over 48 KiB as JSON.
        """
        stored = json.loads(encode_value(key, value))
        if (redacted := redact_all(stored)) != stored:
            # A value anyone who may view the run reads, while the secret needs READ on
            # its scope: it is stored redacted, as what the task prints is.
            print(f"headwater: task value {key!r} holds a secret this task read; it is set "
                  "with the secret as [REDACTED]: read the secret in the task that needs it",
                  file=sys.stderr)
        channel.append_line(channel.VALUES, {"key": key, "value": redacted})

    def get(self, task_key: str, key: str, default: object = None) -> object:
        """The value `key` that task `task_key` set in this run, else `default`.

        Raises:
            ValueError: when `task_key` is not upstream of this task (see `upstream_values`).
        """
        return upstream_values(task_key).get(key, default)


def upstream_values(task_key: str) -> Mapping[str, object]:
    """The values that task `task_key` set in this run (none if it set none, or has not run).

    Raises:
        ValueError: when `task_key` is not a task this one depends on, directly or through
            others (a misspelt key, or a task that may not have run yet), as Databricks raises
            when it cannot find the task.
    """
    context = channel.current_context()
    upstream = context.upstream_tasks
    if upstream is not None and task_key not in upstream:
        raise ValueError(_not_upstream(task_key, context.task_key, upstream))
    return context.task_values.get(task_key, {})


def _not_upstream(task_key: str, this_task: str, upstream: Sequence[str]) -> str:
    import difflib  # only for the message

    close = difflib.get_close_matches(task_key, upstream, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"cannot find task {task_key!r} among the tasks upstream of {this_task!r} "
            f"({', '.join(sorted(upstream)) or 'none'}): a task reads the values of the tasks "
            f"it depends on, directly or not; {hint}check the task key, or add it to the "
            f"depends_on of {this_task!r}")


class Metrics:
    """Figures the attempt records (rows read, seconds spent, ...)."""

    def record(self, name: str, value: float) -> None:
        """Record `value` (a finite number) under `name`.

        Raises:
            TypeError: when `value` is not a number (booleans are refused).
            ValueError: when `name` is empty or `value` is NaN or infinite.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a metric name must be a non-empty string, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"metric {name!r} must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"metric {name!r} must be finite, got {value!r}")
        channel.append_line(channel.METRICS, {"name": name, "value": value})


class Notebook:
    """Ends a notebook with a value, as `dbutils.notebook.exit` does."""

    def exit(self, value: object) -> None:
        """Write `str(value)` (its first 5 MB) as the notebook's output and stop the notebook.

        Raises:
            NotebookExit: always; the notebook executor treats it as success.
        """
        text = str(value)
        encoded = text.encode()
        truncated = len(encoded) > MAX_NOTEBOOK_RESULT_BYTES
        if truncated:
            text = encoded[:MAX_NOTEBOOK_RESULT_BYTES].decode(errors="ignore")
        channel.update_result({"notebook_output": {"result": text, "truncated": truncated}})
        raise NotebookExit(text)


class Warehouse:
    """SQL on the attempt's warehouse (`HEADWATER_WAREHOUSE_URL` and its password, set for
    notebook and SQL tasks; the embedded DuckDB by default), with `:name` parameters bound,
    never formatted:

        rows = sql("SELECT count(*) FROM bronze.orders WHERE day = :day", day="2026-11-24")
    """

    def __call__(self, query: str, **parameters: object) -> Table:
        from headwater.entrypoints.sql import run_script, warehouse_url  # only when SQL runs

        table = run_script(warehouse_url(), query, {k: str(v) for k, v in parameters.items()})
        if table is None:
            from headwater.entrypoints.sql import Table
            return Table([], [])
        return table
