"""`GET /api/health`: whether this server can do its work, for a load balancer's or
Kubernetes' probes. No token: a probe has none.

200 when the state store answers a read and the server's engine is running; 503 otherwise,
and while the server drains (SIGTERM stops its engine first), so that traffic goes
elsewhere. The body says which check failed and nothing more (anyone may call it); the
reason is in the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from headwater.api.auth import client_address, throttle
from headwater.service import Service

LOGGER = logging.getLogger("headwater.api")
router = APIRouter(tags=["health"])


@router.get("/api/health", summary="Whether this server can serve: its store and its engine")
def health(request: Request) -> JSONResponse:
    throttle(request, f"address:{client_address(request)}")
    service: Service = request.app.state.service
    engine_running: Callable[[], bool] | None = request.app.state.engine_running
    problem = service.store_problem()
    if problem is not None:
        LOGGER.warning("health check: %s", problem)
    engine = "none" if engine_running is None else (
        "running" if engine_running() else "stopped")
    ok = problem is None and engine != "stopped"
    body = {"status": "ok" if ok else "unavailable",
            "store": "ok" if problem is None else "unreachable", "engine": engine}
    return JSONResponse(body, status_code=200 if ok else 503)


__all__ = ["router"]
