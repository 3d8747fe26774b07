"""What the databricks-sdk asks a workspace for besides jobs: its probe of the host's
configuration (answered at once, without a token, as reference 6.2 asks) and the current
user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from headwater.api.access_documents import me_json
from headwater.api.auth import Caller

router = APIRouter(tags=["workspace"])


@router.get("/.well-known/databricks-config")
def host_config() -> dict[str, Any]:
    """An empty configuration: no workspace id (so no header to send), no OIDC endpoint
    (so the SDK never leaves token authentication)."""
    return {}


@router.get("/api/2.0/preview/scim/v2/Me")
def me(service: Caller) -> dict[str, Any]:
    """The user of the request's token."""
    return me_json(service.principal)
