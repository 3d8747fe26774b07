"""`headwater secrets`: the secret scopes tasks read with `dbutils.secrets`, named as the
Databricks CLI names its commands.

    headwater secrets create-scope SCOPE [--initial-manage-principal users]
    headwater secrets put-secret SCOPE KEY [--string-value TEXT]   (else read from stdin)
    headwater secrets list-scopes | list-secrets SCOPE
    headwater secrets delete-secret SCOPE KEY | delete-scope SCOPE
    headwater secrets put-acl SCOPE PRINCIPAL READ|WRITE|MANAGE | delete-acl SCOPE PRINCIPAL
    headwater secrets list-acls SCOPE | get-acl SCOPE PRINCIPAL

The store is `<HEADWATER_HOME>/secrets` (`runtime/secret_store.py`), where the engine tells its
tasks to look; the scopes' ACLs are in the state store. The command line acts as the machine's
admin: a scope it makes is managed by the group `admins`, closed to other users until an ACL
entry grants them (`put-acl`), or by `users` (everyone) if asked. Each change goes through the
service, into the audit log. A value is never printed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from headwater.cli.common import reports_errors, settings_for
from headwater.cli.connect import store_on_this_machine

if TYPE_CHECKING:
    from headwater.ports import EngineRecord
    from headwater.service import Service


@contextmanager
def _service() -> Iterator[Service]:
    """The service, acting as this machine's user (an admin of its own store)."""
    from headwater.bootstrap import application

    settings = settings_for(None)
    with application(settings) as app:
        _warn_of_other_homes(settings.home, app.store.list_engines())
        yield app.service


def _warn_of_other_homes(home: Path, engines: Sequence[EngineRecord]) -> None:
    """Secrets live under a home, their ACLs in the store: a store whose engines all keep
    another home (a server's, reached with HEADWATER_DB) would never see a secret put here."""
    homes = {engine.home for engine in engines}
    here = str(home.absolute())
    if homes and here not in homes:
        click.echo(f"Warning: the engines of this state store keep their secrets under "
                   f"{' or '.join(f'{h}/secrets' for h in sorted(homes))}, not {here}/secrets, "
                   f"where this command acts: set HEADWATER_HOME to "
                   f"{sorted(homes)[0]} (or run it in that folder's parent)", err=True)


@click.group()
def secrets() -> None:
    """Secret scopes for dbutils.secrets: create, put, list, delete, and their ACLs."""


@secrets.command("create-scope")
@click.argument("scope")
@click.option("--initial-manage-principal", type=click.Choice(["users"]),
              help="Let every user manage (and so read) the scope [default: only admins, "
              "until `put-acl` grants others].")
@reports_errors
@store_on_this_machine
def create_scope(scope: str, initial_manage_principal: str | None) -> None:
    """Create a secret scope, managed by admins (or by every user)."""
    with _service() as service:
        service.create_secret_scope(scope, initial_manage_principal)
    click.echo(f"scope {scope!r} created")


@secrets.command("put-secret")
@click.argument("scope")
@click.argument("key")
@click.option("--string-value", help="The value [default: read from standard input, or "
              "asked for without echo on a terminal].")
@reports_errors
@store_on_this_machine
def put_secret(scope: str, key: str, string_value: str | None) -> None:
    """Store a secret in a scope (replacing its value), creating the scope if needed."""
    if string_value is not None:
        value = string_value.encode()
    elif sys.stdin.isatty():
        value = click.prompt(f"value of {scope}/{key}", hide_input=True).encode()
    else:
        value = sys.stdin.buffer.read()
    with _service() as service:
        if scope not in service.secret_scopes():
            service.create_secret_scope(scope)
        service.put_secret(scope, key, value)
    click.echo(f"secret {key!r} stored in scope {scope!r} ({len(value)} bytes)")


@secrets.command("list-scopes")
@reports_errors
@store_on_this_machine
def list_scopes() -> None:
    """The secret scopes, one a line."""
    with _service() as service:
        scopes = service.secret_scopes()
    for scope in scopes:
        click.echo(scope)


@secrets.command("list-secrets")
@click.argument("scope")
@reports_errors
@store_on_this_machine
def list_secrets(scope: str) -> None:
    """The keys of a scope, one a line (never their values)."""
    with _service() as service:
        keys = service.secret_keys(scope)
    for key, _ in keys:
        click.echo(key)


@secrets.command("delete-secret")
@click.argument("scope")
@click.argument("key")
@reports_errors
@store_on_this_machine
def delete_secret(scope: str, key: str) -> None:
    """Delete a secret."""
    with _service() as service:
        service.delete_secret(scope, key)
    click.echo(f"secret {key!r} deleted from scope {scope!r}")


@secrets.command("put-acl")
@click.argument("scope")
@click.argument("principal")
@click.argument("permission", type=click.Choice(["READ", "WRITE", "MANAGE"]))
@reports_errors
@store_on_this_machine
def put_acl(scope: str, principal: str, permission: str) -> None:
    """Give a user (or `users`, everyone) READ, WRITE or MANAGE on a scope: its jobs' runs
    read the scopes their user may read."""
    with _service() as service:
        service.put_secret_acl(scope, principal, permission)
    click.echo(f"{principal} has {permission} on scope {scope!r}")


@secrets.command("list-acls")
@click.argument("scope")
@reports_errors
@store_on_this_machine
def list_acls(scope: str) -> None:
    """A scope's ACL, one principal and permission a line (none, for a scope made before
    scopes had ACLs: every run reads it)."""
    with _service() as service:
        acls = service.secret_acls(scope)
    for acl in acls:
        click.echo(f"{acl.principal}\t{acl.permission.name}")


@secrets.command("get-acl")
@click.argument("scope")
@click.argument("principal")
@reports_errors
@store_on_this_machine
def get_acl(scope: str, principal: str) -> None:
    """A principal's permission on a scope."""
    with _service() as service:
        acl = service.secret_acl(scope, principal)
    click.echo(acl.permission.name)


@secrets.command("delete-acl")
@click.argument("scope")
@click.argument("principal")
@reports_errors
@store_on_this_machine
def delete_acl(scope: str, principal: str) -> None:
    """Take a principal's permission on a scope away (not the scope's last entry)."""
    with _service() as service:
        service.delete_secret_acl(scope, principal)
    click.echo(f"{principal}'s ACL on scope {scope!r} deleted")


@secrets.command("delete-scope")
@click.argument("scope")
@reports_errors
@store_on_this_machine
def delete_scope(scope: str) -> None:
    """Delete a scope and every secret in it."""
    with _service() as service:
        service.delete_secret_scope(scope)
    click.echo(f"scope {scope!r} deleted")


__all__ = ["secrets"]
