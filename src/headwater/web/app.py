"""The web UI: server-rendered pages over one `Service`, beside the REST API.

    site = with_web_ui(create_app(service), create_web_app(service))
    uvicorn.run(site, host="127.0.0.1", port=8080)

Pages are Jinja2 templates; htmx (vendored under static/, no build step) polls a running run
and swaps the parts that changed. Every page is rendered for the service acting as the
session's user (session.py), so the service decides what each user may see and do; a page
offers only what the user may do. Errors become pages with the status the API would give.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.api.errors import STATUSES
from headwater.api.middleware import HttpMiddleware
from headwater.api.throttle import Throttle, failed_authentications
from headwater.errors import HeadwaterError
from headwater.service import Service
from headwater.web.render import STATIC, Pages, is_htmx
from headwater.web.routes import (
    audit,
    edit,
    edit_yaml,
    jobs,
    lifecycle,
    logs,
    metrics,
    run_actions,
    runs,
    signin,
    whatif,
)
from headwater.web.session import CsrfRefused, SignInNeeded, session_of

LOGGER = logging.getLogger("headwater.web")
# What the REST API answers: everything else is a page.
API_PREFIXES = ("/api/", "/.well-known/")
API_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the UI serves: how long a session lasts, how often a running run is polled."""

    session_lifetime: timedelta = timedelta(hours=12)
    poll_seconds: float = 1.0  # while a run is active
    idle_poll_seconds: float = 5.0  # once it ended (a repair may start it again)
    # Failed sign-ins per address (api/auth.py); the server shares it with its API.
    refusals: Throttle = field(default_factory=lambda: Throttle(failed_authentications()))


def create_web_app(service: Service, settings: WebSettings | None = None) -> FastAPI:
    """The pages over `service` (which acts, per request, as the session's user)."""
    app = FastAPI(title="headwater UI", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.state.settings = settings or WebSettings()
    app.state.pages = Pages()
    app.state.refusals = app.state.settings.refusals
    # lifecycle first: its `/jobs/new` would otherwise be read as a job's id
    for module in (signin, lifecycle, jobs, whatif, edit, edit_yaml, runs, run_actions, logs,
                   audit, metrics):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(HeadwaterError, _service_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_address)
    app.add_exception_handler(Exception, _failure)
    app.add_middleware(SecurityHeaders)
    return app


def with_web_ui(api: ASGIApp, web: ASGIApp) -> ASGIApp:
    """One application: the API's paths go to `api`, every other path to `web`."""

    async def site(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path.startswith(API_PREFIXES) or path in API_PATHS:
            await api(scope, receive, send)
        else:
            await web(scope, receive, send)

    return site


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An error as a page (or, for htmx, as the message shown in the page's flash area)."""
    pages: Pages = request.app.state.pages
    headers: Mapping[str, str] = {}
    template = "error.html"
    if is_htmx(request):
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        template = "error_fragment.html"
    return pages.render(request, template, session_of(request),
                        {"status": status, "title": title, "message": message},
                        status=status, headers=headers)


async def _sign_in(request: Request, error: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/signin?next={quote(target, safe='')}" if request.method == "GET" else "/signin"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _csrf_refused(request: Request, error: Exception) -> Response:
    return error_page(request, 403, "Refused", "This request did not carry the security token "
                      "of your session, so it was not carried out. Reload the page and try "
                      "again.")


async def _service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HeadwaterError)
    status = STATUSES.get(error.error_code, 500)
    if status >= 500:
        LOGGER.error("%s %s failed: %s", request.method, request.url.path, error)
        return error_page(request, status, "Something failed",
                          "The server could not answer this request; its log says why.")
    titles = {401: "Sign in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
              429: "Slow down"}
    return error_page(request, status, titles.get(status, "Cannot do that"), str(error))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_page(request, 404, "Not found", f"There is no page at {request.url.path}.")
    return error_page(request, error.status_code, "Cannot do that", str(error.detail))


async def _invalid_address(request: Request, error: Exception) -> Response:
    """An address the routes cannot read: one naming no page (`/jobs/abc`) is not found; a
    query field of the wrong form (`?page=x`) is named."""
    assert isinstance(error, RequestValidationError)
    problems = [problem for problem in error.errors() if problem.get("loc")]
    if any(problem["loc"][0] == "path" for problem in problems):
        return error_page(request, 404, "Not found", f"There is no page at {request.url.path}.")
    message = "; ".join(f"{' '.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                        for problem in problems) or "This request cannot be read."
    return error_page(request, 400, "Cannot do that", message)


async def _failure(request: Request, error: Exception) -> Response:
    """A failure nobody foresaw: logged with its stack, answered as a page without it."""
    ident = secrets.token_hex(8)
    LOGGER.error("request %s: %s %s failed", ident, request.method, request.url.path,
                 exc_info=error)
    return error_page(request, 500, "Something failed",
                      f"The server could not answer this request (request id {ident}); its "
                      "log has the details under that id.")


class SecurityHeaders(HttpMiddleware):
    """Adds the security headers to every answer; pages are never cached (they show what one
    user may see), static files are cached for good (their URLs carry their version)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers["Cache-Control"] = ("public, max-age=31536000, immutable" if static
                                            else "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["WebSettings", "create_web_app", "error_page", "with_web_ui"]
