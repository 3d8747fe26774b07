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
from typing import TYPE_CHECKING

import click

from headwater.cli.common import reports_errors, settings_for
from headwater.errors import InvalidRequest

if TYPE_CHECKING:
    from headwater.runners.sql import Warehouses

EMBEDDED = "(embedded)"  # how the embedded warehouse is listed: no warehouse_id names it


@click.group()
def warehouses() -> None:
    """The SQL warehouses a task's warehouse_id names: list them, check each answers."""


@warehouses.command("list")
@reports_errors
def list_warehouses() -> None:
    """Each warehouse of headwater.yml and the embedded one: id, URL, where its password is."""
    from headwater.config import load_config

    config = load_config(os.environ, Path.cwd())
    embedded = settings_for(None).home.absolute() / "warehouse.duckdb"
    click.echo(f"{EMBEDDED}  duckdb:///{embedded}  (a task without a configured warehouse_id)")
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
    from headwater.bootstrap import warehouses as configured
    from headwater.config import load_config

    settings = settings_for(None)
    found = configured(settings, load_config(os.environ, Path.cwd()))
    known = [EMBEDDED, *found.by_id]
    for name in ids:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidRequest(f"headwater.yml has no warehouse {name!r}{hint}; "
                                 "`headwater warehouses list` shows them")
    failed = 0
    for name in ids or known:
        outcome = _probe(found, None if name == EMBEDDED else name, settings.secrets_dir)
        failed += outcome.startswith("FAILED")
        click.echo(f"{name}: {outcome}")
    if failed:
        raise SystemExit(1)


def _probe(found: Warehouses, warehouse_id: str | None, secrets_dir: Path) -> str:
    """`ok (N ms): URL` once `SELECT 1` answered on the warehouse, else `FAILED: URL: why`
    (the URL never with its password)."""
    from headwater.entrypoints.sql import run_script, warehouse_url
    from headwater.runtime.secret_store import SECRETS_VARIABLE, with_secret_references

    url = found.by_id[warehouse_id].url if warehouse_id else found.default_url(Path.cwd())
    started = time.monotonic()
    try:
        env = found.environment(warehouse_id, Path.cwd())
        env = with_secret_references({**env, SECRETS_VARIABLE: str(secrets_dir.absolute())})
        run_script(warehouse_url(env), "SELECT 1", {})
    except Exception as error:
        return f"FAILED: {url}: {error}"
    return f"ok ({(time.monotonic() - started) * 1000:.0f} ms): {url}"
