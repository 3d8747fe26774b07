"""Bounds on what a job file hands to e-mail headers and to `exec`: caught at `validate`.

A job name travels into e-mail subjects and terminal lines, so it may hold no control
character (a CR/LF would forge a header). Task parameters become argv elements or
environment strings of the task's process, and Linux refuses a single one longer than
MAX_ARG_STRLEN (32 pages, 128 KiB) and all of them together beyond ARG_MAX (2 MiB by
default): caught here with the field's path, not as `E2BIG` when the task starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from headwater.core.checks_refs import task_fields
from headwater.core.spec import JobSettings, Task

Finding = tuple[str, str]  # (path, message)

MAX_NAME_BYTES = 4096  # Lakeflow's limit on a job name
MAX_ARGUMENT_BYTES = 128 * 1024  # Linux's MAX_ARG_STRLEN: exec refuses one string longer
MAX_TASK_PARAMETER_BYTES = 1024 * 1024  # half of the default ARG_MAX: room for the environment
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_inputs(settings: JobSettings, tasks: Iterable[tuple[str, Task]]) -> Iterator[Finding]:
    """The job name's characters and size, and the parameter sizes of `tasks` (with paths)."""
    yield from _name(settings.name)
    pushed = sum(_size(parameter.default) for parameter in settings.parameters)
    for path, task in tasks:
        yield from _task_parameters(path, task, pushed)


def _name(name: str | None) -> Iterator[Finding]:
    if name is None:
        return
    if (found := _CONTROL.search(name)) is not None:
        yield "name", (f"the job name holds a control character ({found.group()!r} at "
                       f"character {found.start() + 1}); a name is one line of printable text")
    if _size(name) > MAX_NAME_BYTES:
        yield "name", f"a job name is at most {MAX_NAME_BYTES} bytes (got {_size(name)})"


def _task_parameters(path: str, task: Task, pushed: int) -> Iterator[Finding]:
    total = pushed
    for field, text in task_fields(path, task):
        size = _size(text)
        total += size
        if size > MAX_ARGUMENT_BYTES:
            yield field, (f"{size} bytes is too long for one argument of a process (at most "
                          f"{MAX_ARGUMENT_BYTES}); pass a file path, or a table name, instead")
    if total > MAX_TASK_PARAMETER_BYTES:
        yield path, (f"this task's parameters, with the job parameters pushed to it, take {total} "
                     f"bytes, more than a process's arguments may ({MAX_TASK_PARAMETER_BYTES}); "
                     "pass large inputs through a file or a table")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
