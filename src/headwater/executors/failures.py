"""Why a script or shell attempt failed, read from the end of its log.

A notebook, an operator or a SQL task writes its error into result.json itself; a Python script
or a shell command only prints it. So that a user reads the cause and not just "exited with code
1", a failed attempt that left no error gets one from its log: a Python traceback gives its last
line (`ValueError: bad row`) as the error and the traceback as the trace; otherwise the log's last
line is the error (what a shell command said last, `grep: x.csv: No such file or directory`) and
its last lines the trace. Lines headwater itself adds to a log (`[headwater 12:00:00] ran on
worker 0 ...`, a job cluster's events) are not the task's words and are passed over.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

__all__ = ["TAIL_BYTES", "event_line", "failure_from_log", "failure_from_text"]

TAIL_BYTES = 64 * 1024
_TRACEBACK = "Traceback (most recent call last):"
_TRACE_LINES = 20
_MAX_ERROR_CHARS = 1000
_EVENT = re.compile(r"\[headwater \d\d:\d\d:\d\d\] ")


def event_line(text: str) -> str:
    """A line headwater adds to an attempt's log (an event of its cluster, say), stamped with
    the local time; `failure_from_text` knows it from the task's own output."""
    return f"[headwater {datetime.now().astimezone():%H:%M:%S}] {text}\n"


def failure_from_log(log: Path) -> dict[str, str]:
    """`{"error": ..., "error_trace": ...}` from the end of `log` ({} when it says nothing)."""
    try:
        with log.open("rb") as file:
            size = file.seek(0, 2)
            file.seek(max(0, size - TAIL_BYTES))
            tail = file.read().decode("utf-8", errors="replace")
    except OSError:
        return {}
    return failure_from_text(tail)


def failure_from_text(text: str) -> dict[str, str]:
    """The error and trace a log's text ends with (see the module docstring)."""
    lines = [line.rstrip() for line in text.splitlines() if not _EVENT.match(line)]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return {}
    starts = [i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)]
    if starts:
        first = starts[-1]
        for earlier in reversed(starts[:-1]):  # a chain of exceptions is one trace
            if not _chained(lines, first):
                break
            first = earlier
        trace = lines[first:]
    else:
        trace = lines[-_TRACE_LINES:]
    return {"error": lines[-1].strip()[:_MAX_ERROR_CHARS], "error_trace": "\n".join(trace) + "\n"}


def _chained(lines: list[str], start: int) -> bool:
    """True if the traceback at `start` continues an earlier one ("During handling ...")."""
    before = [line for line in lines[max(0, start - 3):start] if line.strip()]
    return bool(before) and before[-1].startswith(("During handling", "The above exception"))
