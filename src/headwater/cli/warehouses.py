"""`headwater warehouses`: the SQL warehouses a task's `warehouse_id` may name (headwater.yml's
`warehouses`, and the embedded DuckDB file), and whether each answers.

    headwater warehouses list            each id, its URL (never a password), where its
                                         password comes from
    headwater warehouses check [ID...]   connect to each (or those named) as a task would,
                                         from this environment, and run `SELECT 1`

`check` resolves a password as an engine started here would (its variable, or the secret
scope), so it finds a missing variable or a wrong password before a job does. It exits 1 if
any warehouse did not answer.
"""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import click

from headwater.cli.common import reports_errors, settings_for
from headwater.errors import InvalidRequest

EMBEDDED = "(embedded)"  # how the embedded warehouse is listed: no warehouse_id names it


@click.group()
def warehouses() -> None:
    """The SQL warehouses a task's warehouse_id names: list them, check each answers."""


@warehouses.command("list")
@reports_errors
def list_warehouses() -> None:
    """Each warehouse of headwater.yml and the embedded one: id, URL, where its password is."""
    from headwater.bootstrap import warehouses as configured
    from headwater.config import load_config

    config = load_config(os.environ, Path.cwd())
    embedded = configured(settings_for(None), config).url_of(None, Path.cwd())
    click.echo(f"{EMBEDDED}  {embedded}  (a task without a configured warehouse_id)")
    for name, warehouse in config.warehouses.items():
        password = (f"password from ${warehouse.password_env}" if warehouse.password_env else
                    f"password from secret {warehouse.password_secret}"
                    if warehouse.password_secret else "no password")
        click.echo(f"{name}  {warehouse.url}  ({password})")


@warehouses.command("check")
@click.argument("ids", nargs=-1)
@reports_errors
def check(ids: Sequence[str]) -> None:
    """Connect to each warehouse (or those named) as a task would and run SELECT 1; exit 1 if
    one did not answer."""
    from headwater.bootstrap import probe_warehouse
    from headwater.config import load_config

    settings, config = settings_for(None), load_config(os.environ, Path.cwd())
    known = [EMBEDDED, *config.warehouses]
    for name in ids:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidRequest(f"headwater.yml has no warehouse {name!r}{hint}; "
                                 "`headwater warehouses list` shows them")
    failed = 0
    for name in ids or known:
        started = time.monotonic()
        url, problem = probe_warehouse(settings, config, None if name == EMBEDDED else name)
        took = (time.monotonic() - started) * 1000
        failed += problem is not None
        click.echo(f"{name}: FAILED: {url}: {problem}" if problem else
                   f"{name}: ok ({took:.0f} ms): {url}")
    if failed:
        raise SystemExit(1)
