"""The options that shape one run, as `databricks bundle run` spells them: `--only` (a partial
run) and the legacy task parameters (`--python-params a,b`, `--notebook-params k=v,k2=v2`, ...).

Lists are comma-separated (CSV, so a value may hold a quoted comma) and repeatable; maps are
`key=value` items the same way. The task parameters are gathered into one dict that
`task_parameters()` returns, so the commands' signatures do not grow by five arguments each.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# option -> (the run-now field, whether it is a map of key=value items)
TASK_PARAMETER_OPTIONS = {
    "--notebook-params": ("notebook_params", True),
    "--python-params": ("python_params", False),
    "--python-named-params": ("python_named_params", True),
    "--sql-params": ("sql_params", True),
    "--dbt-commands": ("dbt_commands", False),
}
_META = "headwater.task_parameters"


def only_option(command: F) -> F:
    """`--only`: a partial run of some tasks, as `databricks bundle run --only` takes them."""
    return click.option(
        "--only", "only", multiple=True, metavar="TASKS", callback=_task_keys,
        help="Run only these tasks (comma-separated; repeatable): +KEY adds every task KEY "
             "depends on, KEY+ every task that depends on KEY.",
    )(command)


def task_parameter_options(command: F) -> F:
    """`--notebook-params`, `--python-params`, ...: run-now's legacy task parameters, for a
    job without job parameters (core/task_parameters.py)."""
    for option, (field, is_map) in reversed(TASK_PARAMETER_OPTIONS.items()):
        what = "KEY=VALUE,..." if is_map else "VALUE,..."
        command = click.option(
            option, multiple=True, metavar=what, expose_value=False, callback=_gather,
            help=f"This run's {field} (a job without job parameters); repeatable.",
        )(command)
    return command


def task_parameters() -> dict[str, Any]:
    """The task parameters the current command was given, by run-now field."""
    return dict(click.get_current_context().meta.get(_META, {}))


def _items(values: Sequence[str]) -> list[str]:
    return [item.strip() for value in values for item in next(csv.reader([value]), [])
            if item.strip()]


def _gather(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> None:
    if not values:
        return
    field, is_map = TASK_PARAMETER_OPTIONS[param.opts[0]]
    items = _items(values)
    if is_map:
        pairs = {}
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise click.BadParameter(f"{item!r} is not KEY=VALUE", ctx, param)
            pairs[key] = value
        ctx.meta.setdefault(_META, {})[field] = pairs
    else:
        ctx.meta.setdefault(_META, {})[field] = items


def _task_keys(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]
               ) -> list[str]:
    from headwater.core.partial_run import split_keys  # the core's spec models load slowly

    return split_keys(values)


__all__ = ["only_option", "task_parameter_options", "task_parameters"]
