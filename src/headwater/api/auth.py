"""Who is calling: the bearer token of each request, throttled per client, as a service.

Every route but the SDK's probe (`/.well-known/databricks-config`) takes `Caller`: the
service acting as the token's user, so that the service checks that user's job permissions
and audits what they do under their name. A request without a valid token is refused with
401 before it reaches the service; a client past its rate is refused with 429 first.

Failed authentications (here and at the web UI's sign-in) are counted per address, in a
bucket of their own (`headwater server --failed-auth-limit`) that the API and the web UI
share: past it, the address is refused with 429 before its token is even looked at, so that
nobody learns by trying whether a token is valid faster than a few guesses a minute. Each
is logged (WARNING, with the address), for whoever watches for probing.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from headwater.api.errors import ApiError
from headwater.api.throttle import Throttle
from headwater.core.permissions import Principal
from headwater.service import Service

LOG = logging.getLogger("headwater.auth")

_BEARER = HTTPBearer(auto_error=False, description="A token from `headwater tokens create`.")
HOW_TO_GET_ONE = ("send `Authorization: Bearer <token>` with a token made by `headwater tokens "
                  "create --user NAME` on the server's machine")


def throttle(request: Request, client: str) -> None:
    """Let the request through, or refuse it with 429 and `Retry-After`."""
    limiter: Throttle = request.app.state.throttle
    wait = limiter.take(client, time.monotonic())
    if wait is not None:
        raise ApiError(429, "REQUEST_LIMIT_EXCEEDED",
                       f"This client sent more than {limiter.limit.rate:g} requests per second; "
                       f"wait {wait} s (Retry-After) before the next one.",
                       {"Retry-After": str(wait)})


def client_address(request: Request) -> str:
    """The address the request came from: what throttles a caller without a token."""
    return request.client.host if request.client is not None else "unknown"


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
           ) -> Service:
    """The service acting as the user of the request's token."""
    token = credentials.credentials if credentials is not None else None
    throttle(request, f"token:{token}" if token else f"address:{client_address(request)}")
    if not token:
        raise ApiError(401, "UNAUTHENTICATED", f"No credentials were sent: {HOW_TO_GET_ONE}.")
    service: Service = request.app.state.service
    return service.acting_as(_principal(request, service, token))


def _principal(request: Request, service: Service, token: str) -> Principal:
    """The user of an API token; 401 (counted as a failure) for any other."""
    refuse_if_locked_out(request)
    record = service.valid_token(token)
    if record is not None and not record.is_session:
        return Principal(record.user, record.admin)
    if record is not None:
        failed_authentication(request, "a web session's token sent as an API token")
        raise ApiError(401, "UNAUTHENTICATED",
                       "This is a web session's token (the UI's cookie), which opens pages "
                       f"only; {HOW_TO_GET_ONE}.")
    failed_authentication(request, "an unknown, revoked or expired token")
    raise ApiError(401, "UNAUTHENTICATED",
                   "The token is unknown, revoked or expired (`headwater tokens list` shows "
                   f"which are valid); {HOW_TO_GET_ONE}.")


def refuse_if_locked_out(request: Request) -> None:
    """429 with `Retry-After` while the request's address has failed to authenticate too
    often; else nothing."""
    wait = locked_out_for(request)
    if wait is not None:
        raise ApiError(429, "REQUEST_LIMIT_EXCEEDED",
                       f"Too many failed sign-ins from {client_address(request)}: its requests "
                       f"are refused for {wait} s (Retry-After), whatever their token; then "
                       "send a valid token.", {"Retry-After": str(wait)})


def locked_out_for(request: Request) -> int | None:
    """The seconds the request's address must wait, after too many failed
    authentications; None when it may try."""
    refusals: Throttle = request.app.state.refusals
    return refusals.waiting(client_address(request), time.monotonic())


def failed_authentication(request: Request, what: str) -> None:
    """Count a failed authentication against the request's address, and log it."""
    address = client_address(request)
    refusals: Throttle = request.app.state.refusals
    refusals.take(address, time.monotonic())
    LOG.warning("refused %s from %s (%s %s)", what, address, request.method, request.url.path,
                extra={"address": address})


def scraper(request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
            ) -> Service:
    """The service for `GET /api/metrics`: the server's own for the metrics token
    (headwater.yml `server.metrics_token_env`), which reads the metrics and nothing else;
    else the caller of a user's token, as for every route."""
    expected: str | None = request.app.state.metrics_token
    token = credentials.credentials if credentials is not None else ""
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        throttle(request, "metrics-token")
        service: Service = request.app.state.service
        return service
    return caller(request, credentials)


Caller = Annotated[Service, Depends(caller)]
Scraper = Annotated[Service, Depends(scraper)]

__all__ = ["Caller", "Scraper", "caller", "client_address", "failed_authentication",
           "locked_out_for", "refuse_if_locked_out", "scraper", "throttle"]
