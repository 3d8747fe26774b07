"""Web sessions: signing in with an API token opens a session, a token of its own.

A session is a token of the same user (and admin flag) that expires after a few hours and is
revoked at sign-out. The browser keeps only the session token, never the API token it was
opened with; the tokens table keeps only its hash, like any token's; `headwater tokens list`
shows open sessions (comment "web session") and `tokens revoke` ends one. Nothing lives in a
server's memory, so any server on the store knows every session, and a restart ends none.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from headwater.core.permissions import Principal
from headwater.service.access import TOKEN_PREFIX, AccessMixin, token_hash

SESSION_COMMENT = "web session"


class SessionsMixin(AccessMixin):
    """Opening and closing web sessions; mixed into `Service`."""

    def open_session(self, token: str, lifetime: timedelta) -> tuple[Principal, str] | None:
        """A new session for the user of `token` (their principal and the session's token),
        or None when `token` is not valid now."""
        principal = self.principal_of_token(token)
        if principal is None:
            return None
        session = f"{TOKEN_PREFIX}{secrets.token_hex(16)}"
        now = self.clock.now()
        self.store.add_token(token_hash(session), principal.user, principal.admin,
                             SESSION_COMMENT, now, now + lifetime)
        return principal, session

    def close_session(self, session: str) -> None:
        """Revoke a session's token (nothing happens for one that is not valid)."""
        record = self.store.token_by_hash(token_hash(session))
        if record is not None and record.comment == SESSION_COMMENT:
            self.store.revoke_token(record.token_id, self.clock.now())


__all__ = ["SESSION_COMMENT", "SessionsMixin"]
