"""Who is calling: the bearer token of each request, throttled per client, as a service.

Every route but the SDK's probe (`/.well-known/databricks-config`) takes `Caller`: the
service acting as the token's user, so that the service checks that user's job permissions
and audits what they do under their name. A request without a valid token is refused with
401 before it reaches the service; a client past its rate is refused with 429 first.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from headwater.api.errors import ApiError
from headwater.api.throttle import Throttle
from headwater.service import Service

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
    principal = service.principal_of_token(token)
    if principal is None:
        raise ApiError(401, "UNAUTHENTICATED",
                       "The token is unknown, revoked or expired (`headwater tokens list` shows "
                       f"which are valid); {HOW_TO_GET_ONE}.")
    return service.acting_as(principal)


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

__all__ = ["Caller", "Scraper", "caller", "client_address", "scraper", "throttle"]
