"""`headwater db`: the state store's schema, looked at and upgraded on purpose.

    headwater db status [--db URL]     # exit 0 at head, 1 when it lags, 2 when it cannot be
    headwater db upgrade [--db URL]    # brought to head from here

Every other command creates a new store at head and upgrades a SQLite store that lags; a
PostgreSQL store that lags, which engines of several versions may share, they refuse until
`headwater db upgrade` has run (the policy is `store/migrate.py`'s `refusal`;
docs/guide/operations.md says how to upgrade).
"""

from __future__ import annotations

import sys

import click

from headwater.cli.common import db_option, reports_errors, settings_for
from headwater.cli.connect import store_on_this_machine
from headwater.errors import StoreError

# `db status` exits with these, so that a script can tell what to do.
AT_HEAD, LAGS, CANNOT = 0, 1, 2


@click.group()
def db() -> None:
    """The state store's schema: its revision, and upgrading it to this headwater's."""


@db.command("status")
@db_option
@reports_errors
@store_on_this_machine
def db_status(db: str | None) -> None:
    """Show the store's schema revision, the one this headwater needs, and the migrations
    pending.

    Exits 0 at head, 1 when it lags (`headwater db upgrade` brings it there), 2 when it
    cannot be read or brought to head from here (a newer headwater wrote it, say).
    """
    from headwater.bootstrap import store_schema

    try:
        status = store_schema(settings_for(db))
    except StoreError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(CANNOT)
    click.echo(f"state store: {status.where}")
    click.echo(f"revision:    {status.revision or 'none (no schema yet)'}")
    click.echo(f"needed:      {status.head} (this headwater's)")
    for migration in status.pending:
        click.echo(f"pending:     {migration}")
    if status.blocked is not None:
        click.echo(f"error: {status.blocked}", err=True)
        sys.exit(CANNOT)
    if status.revision == status.head:
        click.echo("at head: nothing to upgrade")
        sys.exit(AT_HEAD)
    if status.revision is None:
        click.echo(f"new: `headwater db upgrade`, or any other command, creates its schema at "
                   f"{status.head}")
        sys.exit(LAGS)
    click.echo("behind: back the store up (docs/guide/operations.md), stop the engines and "
               "servers of older headwater versions, then run `headwater db upgrade`")
    sys.exit(LAGS)


@db.command("upgrade")
@db_option
@reports_errors
@store_on_this_machine
def db_upgrade(db: str | None) -> None:
    """Upgrade the store's schema to the revision this headwater needs (back it up first,
    and stop older engines: they cannot use the new schema)."""
    from headwater.bootstrap import upgrade_store_schema

    before, after = upgrade_store_schema(settings_for(db))
    if before == after:
        click.echo(f"already at {after}")
    else:
        click.echo(f"revision {before or 'none'} -> {after}")


__all__ = ["db"]
