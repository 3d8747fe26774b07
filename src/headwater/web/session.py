"""Who is looking: the session cookie of each request, and the CSRF token of every change.

Signing in with an API token opens a session (see `service/sessions.py`): its token goes in
an HttpOnly cookie (scripts cannot read it) with `SameSite=Lax` (the browser sends it with
no cross-site POST, yet a link to a run page from a mail or a chat opens signed in), and
`Secure` when the page came over HTTPS. Every page is rendered for the service acting as the
session's user, so the service checks that user's job permissions in every use case.

Every request that changes something is a POST carrying the session's CSRF token, in the
`X-CSRF-Token` header (htmx sends it on every request) or the `csrf_token` field (plain forms):
an HMAC of the session token, so that only pages the server rendered for this session know it.
The sign-in form itself, which has no session yet, carries a nonce that must match a cookie
set with the form (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from headwater.core.permissions import Principal
from headwater.service import Service
from headwater.web.forms import Form, read_form

SESSION_COOKIE = "headwater_session"
SIGNIN_COOKIE = "headwater_signin"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class SignInNeeded(Exception):
    """Raised when a page needs a session and the request has none (or an expired one)."""


class CsrfRefused(Exception):
    """Raised when a change arrives without this session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a request: the service acting as them, and their session."""

    service: Service
    principal: Principal
    session: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.session)


@dataclass(frozen=True, slots=True)
class Posted:
    """A change asked by a signed-in user: who, and the form they sent."""

    viewer: Viewer
    form: Form


def csrf_token(session: str) -> str:
    """The CSRF token of a session: only who knows the session token can compute it."""
    return hmac.new(session.encode(), b"headwater csrf", hashlib.sha256).hexdigest()


def session_of(request: Request) -> Viewer | None:
    """The viewer of the request's session cookie, if it names a valid session."""
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return None
    service: Service = request.app.state.service
    principal = service.principal_of_session(session)
    if principal is None:
        return None
    return Viewer(service.acting_as(principal), principal, session)


def signed_in(request: Request) -> Viewer:
    """The viewer; `SignInNeeded` without a valid session."""
    viewer = session_of(request)
    if viewer is None:
        raise SignInNeeded()
    return viewer


async def posted(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> Posted:
    """The viewer and the form of a change; `CsrfRefused` without the session's token."""
    form = await read_form(request)
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not sent or not hmac.compare_digest(sent, viewer.csrf):
        raise CsrfRefused()
    return Posted(viewer, form)


def set_cookie(response: Response, request: Request, name: str, value: str,
               path: str = "/", max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Lax cookie, Secure over HTTPS."""
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def nonce_matches(request: Request, sent: str) -> bool:
    """Whether the sign-in form's nonce is the one its cookie holds."""
    kept = request.cookies.get(SIGNIN_COOKIE, "")
    return bool(kept) and hmac.compare_digest(kept, sent)


SignedIn = Annotated[Viewer, Depends(signed_in)]
Change = Annotated[Posted, Depends(posted)]

__all__ = ["CSRF_FIELD", "SESSION_COOKIE", "SIGNIN_COOKIE", "Change", "CsrfRefused",
           "Posted", "SignInNeeded", "SignedIn", "Viewer", "csrf_token", "new_nonce",
           "nonce_matches", "session_of", "set_cookie"]
