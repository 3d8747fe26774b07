"""The REST server: the Jobs API 2.1/2.2, the permissions API and the SDK's workspace calls,
over one `Service`.

    app = create_app(service, ApiSettings())
    uvicorn.run(app, host="127.0.0.1", port=8080)

The same routers serve `/api/2.1/jobs/` and `/api/2.2/jobs/` (SDK 0.44 and older call 2.1);
only 2.2 pages long arrays. Errors leave as `{"error_code", "message"}` (see errors.py). Every
request gets an id, sent back as `X-Request-Id`; a failure nobody foresaw is logged with it
and answered 500 with it, and never with a stack trace.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.api.errors import (
    STATUSES,
    ApiError,
    error_body,
    from_service,
    not_json,
    validation_message,
)
from headwater.api.middleware import HttpMiddleware
from headwater.api.nul import RefuseNul
from headwater.api.routes import (
    backfill,
    deploy,
    files,
    git_credentials,
    health,
    jobs,
    logs,
    metrics,
    permissions,
    runs,
    workspace,
)
from headwater.api.routes import secrets as secret_scopes
from headwater.api.throttle import Limit, Throttle, failed_authentications
from headwater.errors import HeadwaterError
from headwater.service import Service

LOGGER = logging.getLogger("headwater.api")
JOBS_PREFIXES = ("/api/2.1/jobs", "/api/2.2/jobs")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """How the API serves: how fast one client may call, how `/api/health` learns
    whether the server's engine runs (None: the app has no engine of its own), and the web
    UI's public address, where run pages live (None: the address each client reached)."""

    limit: Limit = field(default_factory=Limit)
    engine_running: Callable[[], bool] | None = None
    public_url: str | None = None  # headwater.yml `server.public_url`
    metrics_token: str | None = None  # reads `GET /api/metrics` alone (`server.metrics_token_env`)
    # Failed authentications per address (api/auth.py); the server shares it with its web UI.
    refusals: Throttle = field(default_factory=lambda: Throttle(failed_authentications()))


def create_app(service: Service, settings: ApiSettings | None = None) -> FastAPI:
    """The API over `service` (which acts, per request, as the user of the request's token)."""
    settings = settings or ApiSettings()
    app = FastAPI(title="headwater", version="2.2",
                  description="The Databricks Jobs API 2.1/2.2, served by headwater.")
    app.state.service = service
    app.state.throttle = Throttle(settings.limit)
    app.state.refusals = settings.refusals
    app.state.counting = metrics.Counting()
    app.state.engine_running = settings.engine_running
    app.state.public_url = settings.public_url
    app.state.metrics_token = settings.metrics_token
    for prefix in JOBS_PREFIXES:
        app.include_router(jobs.router, prefix=prefix)
        app.include_router(runs.router, prefix=prefix)
    app.include_router(permissions.router)
    app.include_router(workspace.router)
    app.include_router(files.router)
    app.include_router(deploy.router)
    app.include_router(backfill.router)
    app.include_router(logs.router)
    app.include_router(secret_scopes.router)
    app.include_router(git_credentials.router)
    app.include_router(metrics.router)
    app.include_router(health.router)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HeadwaterError, _service_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(RefuseNul)
    app.add_middleware(JsonBodies)
    app.add_middleware(RequestIds)
    return app


def _answer(error: ApiError) -> JSONResponse:
    return JSONResponse(error_body(error.error_code, error.message), status_code=error.status,
                        headers=error.headers)


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return _answer(error)


async def _service_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HeadwaterError)
    wire = from_service(error, request.url.path)
    if wire.status >= 500 and wire.error_code != "TEMPORARILY_UNAVAILABLE":
        raise error  # not a refusal but a failure: RequestIds logs it and answers 500
    if wire.status >= 500:  # the store's own words (its URL, its SQL) stay in the log
        ident = request_id(request)
        LOGGER.warning("request %s: %s %s: %s", ident, request.method, request.url.path,
                       error, extra={"request_id": ident})
        wire = ApiError(wire.status, wire.error_code, "The state store is busy or unreachable; "
                        f"try again (request id {ident}).", {"Retry-After": "1"})
    return _answer(wire)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    message = validation_message(list(error.errors()))
    return _answer(ApiError(400, "INVALID_PARAMETER_VALUE", message))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        code, message = "ENDPOINT_NOT_FOUND", (f"No API found for '{request.method} "
                                               f"{request.url.path}'; see /openapi.json")
    elif error.status_code == 405:
        code, message = "METHOD_NOT_ALLOWED", (f"{request.url.path} does not take "
                                               f"{request.method}; see /openapi.json")
    elif error.status_code == 400 and error.__cause__ is not None:
        # FastAPI could not read the body at all (bytes that are not UTF-8, say): its own
        # words ("There was an error parsing the body") say neither where nor what.
        code, message = "INVALID_PARAMETER_VALUE", not_json(error.__cause__)
    else:
        code, message = "MALFORMED_REQUEST", str(error.detail)
    status = error.status_code if error.status_code in STATUSES.values() else 400
    return _answer(ApiError(status, code, message, error.headers))


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


_ARCHIVE = (b"content-type", b"application/gzip")
_FORM_ROUTES = ("/api/2.0/workspace/import",)  # what `w.workspace.upload` posts as a form
_RAW_ROUTE = "/api/2.0/fs/files"  # what `w.files.upload` puts: a file's bytes, as they are


class JsonBodies:
    """Reads every request body as JSON, whatever its `Content-Type` says: the API takes
    nothing else but a deploy's archive of files (`application/gzip`), the multipart form
    of a Workspace API import and a Files API upload, and `curl -d` sends JSON labelled as a
    form."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH") \
                and not _kept_as_sent(scope):
            headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


def _kept_as_sent(scope: Scope) -> bool:
    """Whether a body is read as its `Content-Type` says: a deploy's archive, a multipart
    form posted to a route that reads one, or a file uploaded to the Files API."""
    headers = scope.get("headers", [])
    if _ARCHIVE in headers or (scope.get("method") == "PUT"
                               and str(scope.get("path", "")).startswith(_RAW_ROUTE)):
        return True
    return scope.get("path") in _FORM_ROUTES and any(
        name == b"content-type" and value.lower().startswith(b"multipart/form-data")
        for name, value in headers)


class RequestIds(HttpMiddleware):
    """Gives each request an id (the `X-Request-Id` header of its answer) and turns any
    exception that reaches it into a logged 500 that names the id, never a stack trace."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        ident = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = ident
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append("X-Request-Id", ident)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            LOGGER.exception("request %s: %s %s failed", ident, scope.get("method"),
                             scope.get("path"), extra={"request_id": ident})
            if started:
                raise
            body: dict[str, Any] = error_body(
                "INTERNAL_ERROR", f"The server failed to answer this request (request id "
                                  f"{ident}); its log has the details under that id.")
            await JSONResponse(body, status_code=500)(scope, receive, send_with_id)


__all__ = ["ApiSettings", "create_app"]
