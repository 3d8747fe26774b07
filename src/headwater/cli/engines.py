"""`headwater engines`: which engines share the state store, and whether each is alive.

    headwater engines list [--json]

An engine of `headwater engine` or `headwater server` says it is alive at each lease renewal
(a third of `HEADWATER_LEASE_SECONDS`) and that it stopped when it hands back its runs; one
that stops saying so within its lease is unresponsive (killed, hung, or cut off from the
database); one of this host whose process ended is gone at once. `headwater run`'s one-run
engines are not listed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from headwater.cli.common import db_option, reports_errors, settings_for
from headwater.cli.connect import store_on_this_machine

if TYPE_CHECKING:
    from headwater.ports import EngineRecord


@click.group()
def engines() -> None:
    """The engines sharing the state store: alive, unresponsive, gone or stopped."""


@engines.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@db_option
@reports_errors
@store_on_this_machine
def engines_list(as_json: bool, db: str | None) -> None:
    """Every engine seen in the last day, newest first: its state, when it was last seen,
    the runs it holds, its version and home. Exit 1 when none is alive."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as app:
        found = app.service.engines()
    for engine in found:
        click.echo(json.dumps(_json(engine)) if as_json else _line(engine))
    if not found and not as_json:
        click.echo("no engine seen in the last day: start `headwater engine` or "
                   "`headwater server`", err=True)
    if not any(engine.state == "alive" for engine in found):
        raise SystemExit(1)


def _json(engine: EngineRecord) -> dict[str, object]:
    return {"name": engine.name, "state": engine.state, "runs_held": engine.runs_held,
            "last_seen": engine.last_seen.isoformat(timespec="seconds"),
            "seconds_since_seen": round(engine.seconds_since_seen, 1),
            "started": engine.started_time.isoformat(timespec="seconds"),
            "version": engine.version, "home": engine.home}


def _line(engine: EngineRecord) -> str:
    return (f"{engine.name:<40} {engine.state:<12} runs {engine.runs_held:<4} "
            f"seen {engine.seconds_since_seen:.0f} s ago  "
            f"started {engine.started_time.isoformat(timespec='seconds')}  "
            f"{engine.version}  {engine.home}")
