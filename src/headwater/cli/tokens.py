"""`headwater tokens`: the API's tokens, made and revoked on this machine's state store.

    headwater tokens create --user NAME [--admin] [--lifetime-days N] [--comment TEXT]
    headwater tokens list
    headwater tokens revoke TOKEN_ID | --user NAME

A token is printed once, when it is made; only its SHA-256 is stored. Making and revoking
tokens is audited (`headwater audit list`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from headwater.cli.common import db_option, reports_errors, settings_for
from headwater.cli.connect import store_on_this_machine

if TYPE_CHECKING:
    from headwater.ports import TokenRecord


@click.group()
def tokens() -> None:
    """The API's tokens: create, list, revoke."""


@tokens.command("create")
@click.option("--user", required=True, help="The user the token acts as (not 'admins' or "
              "'users': those name the built-in groups).")
@click.option("--admin", is_flag=True, help="The user may do everything.")
@click.option("--lifetime-days", type=click.IntRange(min=1),
              help="Days until it expires [default: never].")
@click.option("--comment", default="", help="What the token is for.")
@db_option
@reports_errors
@store_on_this_machine
def tokens_create(user: str, admin: bool, lifetime_days: int | None, comment: str,
                  db: str | None) -> None:
    """Make a token and print it (the only time it is shown)."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as app:
        made = app.service.create_token(user, admin, lifetime_days, comment)
    expires = made.record.expiry_time.isoformat(timespec="seconds") \
        if made.record.expiry_time else "never"
    click.echo(f"token {made.token_id} for {user}{' (admin)' if admin else ''}, expires "
               f"{expires}; it is shown only now:", err=True)
    click.echo(made.token)


@tokens.command("list")
@db_option
@reports_errors
@store_on_this_machine
def tokens_list(db: str | None) -> None:
    """Every token: its id, user, whether admin, when made, expires or was revoked."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as app:
        found = app.service.list_tokens()
    for token in found:
        state = ("revoked " + token.revoked_time.isoformat(timespec="seconds")
                 if token.revoked_time else
                 "expires " + (token.expiry_time.isoformat(timespec="seconds")
                               if token.expiry_time else "never"))
        click.echo(f"{token.token_id:>5}  {token.user:<24} {'admin' if token.admin else '':<6}"
                   f"{token.created_time.isoformat(timespec='seconds')}  {state}  "
                   f"{_what(token)}")


def _what(token: TokenRecord) -> str:
    """A token's comment; a web session says which token opened it (revoking that ends it)."""
    return f"web session of token {token.parent_id}" if token.is_session else token.comment


@tokens.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--user", help="Revoke every token and web session of this user instead "
                             "(offboarding).")
@db_option
@reports_errors
@store_on_this_machine
def tokens_revoke(token_id: int | None, user: str | None, db: str | None) -> None:
    """Revoke a token, and the web sessions opened with it: requests carrying them are
    refused from now on."""
    from headwater.bootstrap import application

    if (token_id is None) == (user is None):
        raise click.UsageError("give a TOKEN_ID, or --user NAME for all of a user's tokens "
                               "(not both)")
    with application(settings_for(db)) as app:
        revoked = (app.service.revoke_token(token_id) if token_id is not None
                   else app.service.revoke_user_tokens(str(user)))
    click.echo(f"revoked token{'s' if len(revoked) > 1 else ''} "
               f"{', '.join(map(str, revoked))}", err=True)
