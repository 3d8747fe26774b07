"""Web sessions: signing in with an API token opens a session, a token of its own.

A session is a token of the same user (and admin flag) that remembers the API token it was
opened with: revoking that token (or all of its user's) revokes the session with it, and it
expires after a few hours, or with that token if sooner. It is revoked at sign-out. The
browser keeps only the session token, never the API token; the tokens table keeps only its
hash, like any token's; `headwater tokens list` shows open sessions and `tokens revoke` ends
one. A session's token opens pages only: the API refuses it (`api/auth.py`), and no
session opens another. Nothing lives in a server's memory, so any server on the store knows
every session, and a restart ends none. Signing in and out is audited.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.permissions import Principal
from headwater.service.access import TOKEN_PREFIX, AccessMixin, token_hash

SESSION_COMMENT = "web session"


class SessionsMixin(AccessMixin):
    """Opening and closing web sessions; mixed into `Service`."""

    def open_session(self, token: str, lifetime: timedelta,
                     address: str = "") -> tuple[Principal, str] | None:
        """A new session for the user of the API token `token` (their principal and the
        session's token), or None when `token` is not a valid API token now. `address`
        (where the request came from) goes in the audit entry."""
        parent = self.valid_token(token)
        if parent is None or parent.is_session:
            return None
        session = f"{TOKEN_PREFIX}{secrets.token_hex(16)}"
        now = self.clock.now()
        ends = now + lifetime
        if parent.expiry_time is not None:
            ends = min(ends, parent.expiry_time)
        opened = AuditEntry(now, parent.user, AuditAction.SESSION_OPENED,
                            details={"parent_token_id": parent.token_id, "address": address})
        self.store.add_token(token_hash(session), parent.user, parent.admin, SESSION_COMMENT,
                             now, ends, parent_id=parent.token_id, audit=opened)
        return Principal(parent.user, parent.admin), session

    def principal_of_session(self, session: str) -> Principal | None:
        """Who a session belongs to, if it is a valid session now (an API token is not)."""
        record = self.valid_token(session)
        if record is None or not record.is_session:
            return None
        return Principal(record.user, record.admin)

    def close_session(self, session: str) -> None:
        """Revoke a session's token (nothing happens for one that is not valid)."""
        record = self.store.token_by_hash(token_hash(session))
        if record is not None and record.is_session:
            now = self.clock.now()
            self.store.revoke_token(record.token_id, now, AuditEntry(
                now, record.user, AuditAction.SESSION_CLOSED))


__all__ = ["SESSION_COMMENT", "SessionsMixin"]
