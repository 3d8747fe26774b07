"""`headwater secrets`: the secret scopes tasks read with `dbutils.secrets`, named as the
Databricks CLI names its commands.

    headwater secrets create-scope SCOPE
    headwater secrets put-secret SCOPE KEY [--string-value TEXT]   (else read from stdin)
    headwater secrets list-scopes | list-secrets SCOPE
    headwater secrets delete-secret SCOPE KEY | delete-scope SCOPE

The store is `<HEADWATER_HOME>/secrets` (`runtime/secret_store.py`), where the engine tells its
tasks to look. A value is never printed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from headwater.cli.common import reports_errors, settings_for
from headwater.runtime.secret_store import SecretError, SecretStore


def _store() -> SecretStore:
    return SecretStore(settings_for(None).home / "secrets")


@contextmanager
def _said() -> Iterator[None]:
    """A missing scope or secret, or a bad name, as the command's error."""
    try:
        yield
    except SecretError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def secrets() -> None:
    """Secret scopes for dbutils.secrets: create, put, list, delete."""


@secrets.command("create-scope")
@click.argument("scope")
@reports_errors
def create_scope(scope: str) -> None:
    """Create a secret scope."""
    with _said():
        made = _store().create_scope(scope)
    click.echo(f"scope {scope!r} {'created' if made else 'already exists'}")


@secrets.command("put-secret")
@click.argument("scope")
@click.argument("key")
@click.option("--string-value", help="The value [default: read from standard input, or "
              "asked for without echo on a terminal].")
@reports_errors
def put_secret(scope: str, key: str, string_value: str | None) -> None:
    """Store a secret in a scope (replacing its value), creating the scope if needed."""
    if string_value is not None:
        value = string_value.encode()
    elif sys.stdin.isatty():
        value = click.prompt(f"value of {scope}/{key}", hide_input=True).encode()
    else:
        value = sys.stdin.buffer.read()
    with _said():
        store = _store()
        store.create_scope(scope)
        store.put(scope, key, value)
    click.echo(f"secret {key!r} stored in scope {scope!r} ({len(value)} bytes)")


@secrets.command("list-scopes")
@reports_errors
def list_scopes() -> None:
    """The secret scopes, one a line."""
    for scope in _store().list_scopes():
        click.echo(scope)


@secrets.command("list-secrets")
@click.argument("scope")
@reports_errors
def list_secrets(scope: str) -> None:
    """The keys of a scope, one a line (never their values)."""
    with _said():
        keys = _store().list_secrets(scope)
    for key in keys:
        click.echo(key)


@secrets.command("delete-secret")
@click.argument("scope")
@click.argument("key")
@reports_errors
def delete_secret(scope: str, key: str) -> None:
    """Delete a secret."""
    with _said():
        _store().delete(scope, key)
    click.echo(f"secret {key!r} deleted from scope {scope!r}")


@secrets.command("delete-scope")
@click.argument("scope")
@reports_errors
def delete_scope(scope: str) -> None:
    """Delete a scope and every secret in it."""
    with _said():
        _store().delete_scope(scope)
    click.echo(f"scope {scope!r} deleted")


__all__ = ["secrets"]
