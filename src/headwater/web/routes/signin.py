"""Signing in with a token, and out: `/signin`, `/signout`; `/` leads to the jobs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from headwater.api.auth import client_address, failed_authentication, locked_out_for
from headwater.web.forms import read_form
from headwater.web.render import pages_of
from headwater.web.session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Change,
    new_nonce,
    nonce_matches,
    session_of,
    set_cookie,
)

router = APIRouter()
HOME = "/jobs"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site's URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form (or, signed in already, where the user was going)."""
    if session_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, safe_next(next), error="", status=200)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Open a session for a valid token and go on to where the user was going."""
    form = await read_form(request)
    target = safe_next(form.get("next"))
    if not nonce_matches(request, form.get("nonce")):
        return _form(request, target, "The sign-in form expired; sign in again.", 403)
    wait = locked_out_for(request)
    if wait is not None:
        return _form(request, target, f"Too many failed sign-ins from this address; wait {wait} "
                                      "s and try again.", 429, {"Retry-After": str(wait)})
    service = request.app.state.service
    opened = service.open_session(form.get("token"), request.app.state.settings.session_lifetime,
                                  client_address(request))
    if opened is None:
        failed_authentication(request, "a sign-in with an unknown, revoked or expired token")
        return _form(request, target, "That token is unknown, revoked or expired. "
                                      "`headwater tokens create --user NAME` makes one.", 401)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, opened[1])
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, change: Change) -> Response:
    """End the session (its token is revoked) and forget the cookie."""
    change.viewer.service.close_session(change.viewer.session)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _form(request: Request, target: str, error: str, status: int,
          headers: dict[str, str] | None = None) -> Response:
    nonce = new_nonce()
    response = pages_of(request).render(request, "signin.html", None,
                                        {"next": target, "nonce": nonce, "error": error},
                                        status=status)
    response.headers.update(headers or {})
    set_cookie(response, request, SIGNIN_COOKIE, nonce, path="/signin", max_age=3600)
    return response
