"""What the `headwater` commands share: options, error reporting, settings, job choice.

`BUNDLE_VAR_<name>` environment variables set bundle variables as in the Databricks CLI, and
`--var` wins over them.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from headwater.errors import HeadwaterError, SpecError

if TYPE_CHECKING:
    from headwater.config import Settings
    from headwater.core.load import LoadedJob

F = TypeVar("F", bound=Callable[..., Any])

ENVIRONMENT_PREFIX = "BUNDLE_VAR_"
BUNDLE_FILE = Path("databricks.yml")  # what `run`, `validate` and `deploy` read by default


def db_option(command: F) -> F:
    return click.option(
        "--db", envvar="HEADWATER_DB", metavar="URL",
        help="SQLAlchemy URL or SQLite file of the state store "
             "[default: .headwater/headwater.db].",
    )(command)


def target_option(command: F) -> F:
    return click.option(
        "-t", "--target",  # `-t` as the Databricks CLI's bundle commands take it
        help="Bundle target (dev, test, prod, ...) [default: the one marked default: true].",
    )(command)


def var_option(command: F) -> F:
    return click.option(
        "--var", "var_pairs", multiple=True, metavar="NAME=VALUE",
        help="Set a bundle variable; repeatable. Wins over BUNDLE_VAR_<NAME> and the target.",
    )(command)


def reports_errors(command: F) -> F:
    """Turn headwater's errors into a message on stderr and exit code 1, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SpecError as error:
            click.echo(str(error), err=True)
            sys.exit(1)
        except HeadwaterError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def settings_for(db: str | None, max_parallel: int | None = None) -> Settings:
    from headwater.config import Settings

    return Settings.from_env(os.environ, Path.cwd(), db=db, max_parallel=max_parallel)


def counted(number: int, noun: str) -> str:
    """`1 task`, `2 tasks`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def parse_pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    """`name=value` pairs; the value may contain `=` and anything else, kept as is."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint=option)
        found[name] = value
    return found


def bundle_variables(pairs: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Variable values from `BUNDLE_VAR_<name>` in `environ`, overridden by `--var` pairs."""
    from_environment = {
        key.removeprefix(ENVIRONMENT_PREFIX): value
        for key, value in environ.items()
        if key.startswith(ENVIRONMENT_PREFIX) and len(key) > len(ENVIRONMENT_PREFIX)
    }
    return {**from_environment, **parse_pairs(pairs, "--var")}


def select_jobs(jobs: list[LoadedJob], name: str | None) -> list[LoadedJob]:
    """The jobs named `name` (resource or job name), or all of them."""
    if name is None:
        return jobs
    chosen = [job for job in jobs if name in (job.resource_name, job.settings.name)]
    if chosen:
        return chosen
    known = [job.resource_name for job in jobs]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise click.UsageError(f"no job {name!r}{hint}; the jobs are: {', '.join(known)}")


def require_jobs(jobs: list[LoadedJob], file: Path) -> list[LoadedJob]:
    """`jobs`, which the bundle of `file` must have at least one of."""
    if not jobs:
        raise click.UsageError(f"{file} defines no job: neither it nor a file its `include:` "
                               "lists has one under resources.jobs; add a job there")
    return jobs


def pick_job(jobs: list[LoadedJob], name: str | None, file: Path) -> LoadedJob:
    """The job named by `--job`, or the only one in the file."""
    require_jobs(jobs, file)
    if name is None and len(jobs) > 1:
        names = ", ".join(j.resource_name for j in jobs)
        raise click.UsageError(f"{file} defines {len(jobs)} jobs ({names}); pick one with --job")
    return select_jobs(jobs, name)[0]


class LazyGroup(click.Group):
    """A command group whose heavier subcommands are imported only when they are run.

    `lazy` maps a command name to `("module:attribute", "first sentence of its help")`; that
    sentence is what `--help` lists, so listing the commands imports none of them.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, _, attribute = self.lazy[cmd_name][0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        rows = []
        for name in names:
            # A stand-in with the lazy command's help: click shortens it as it would the real's.
            command = (click.Command(name, help=self.lazy[name][1]) if name in self.lazy
                       else super().get_command(ctx, name))
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
