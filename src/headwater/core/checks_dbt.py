"""The rules of a `dbt_task` that its field types cannot express, as the Jobs API states them.

`commands` holds one to ten commands, each starting with `dbt`. `warehouse_id` means the
profile is written for that warehouse, so it excludes `profiles_directory`; `catalog` and
`schema` name where that written profile puts the models, so they need `warehouse_id`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator

from headwater.core.spec import Task

Finding = tuple[str, str]  # (path, message)

MAX_DBT_COMMANDS = 10


def check_dbt_tasks(tasks: Iterable[tuple[str, Task]]) -> Iterator[Finding]:
    """The problems of every `dbt_task` among `tasks` (with their paths)."""
    for path, task in tasks:
        if task.dbt_task is None:
            continue
        settings, here = task.dbt_task, f"{path}.dbt_task"
        if not settings.commands:
            yield f"{here}.commands", (
                "give at least one dbt command, e.g. [\"dbt deps\", \"dbt build\"]")
        elif len(settings.commands) > MAX_DBT_COMMANDS:
            yield f"{here}.commands", (
                f"at most {MAX_DBT_COMMANDS} commands (got {len(settings.commands)}); put the "
                "rest in another dbt task that depends on this one")
        for index, command in enumerate(settings.commands):
            problem = command_problem(command)
            if problem:
                yield f"{here}.commands[{index}]", problem
        if settings.warehouse_id is not None and settings.profiles_directory is not None:
            yield f"{here}.profiles_directory", (
                "profiles_directory and warehouse_id exclude each other: with warehouse_id the "
                "profile is written for that warehouse; remove one of them")
        for field in ("catalog", "schema"):
            if getattr(settings, field) is not None and settings.warehouse_id is None:
                yield f"{here}.{field}", (
                    f"{field} applies only to the profile written for a warehouse: set "
                    f"warehouse_id too, or set the {field} in your own profiles.yml")


def command_problem(command: str) -> str | None:
    """Why `command` is not a dbt command line (None when it is one)."""
    try:
        words = shlex.split(command)
    except ValueError as error:
        return f"{command!r} cannot be split into words ({error}); close its quotes"
    if not words or words[0] != "dbt":
        return f"{command!r} does not start with `dbt`; write it as on the command line, e.g. " \
               "\"dbt run --select my_model\""
    if len(words) == 1:
        return "`dbt` alone runs nothing; name a command, e.g. \"dbt build\""
    return None
