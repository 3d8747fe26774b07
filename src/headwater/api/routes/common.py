"""What the routes share: which API version a request is for, and the server's base URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from headwater.service import Page

PAGED_PREFIX = "/api/2.2/"


def is_paged(request: Request) -> bool:
    """Whether the request is for API 2.2, which pages long arrays (2.1 returns them whole)."""
    return request.url.path.startswith(PAGED_PREFIX)


def base_url(request: Request) -> str:
    """Where run pages live: headwater.yml's `server.public_url` (behind a proxy, the address
    users know), else the server's address as the client reached it."""
    public: str | None = getattr(request.app.state, "public_url", None)
    return public or str(request.base_url).rstrip("/")


def list_body(name: str, entries: Sequence[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
    """A `jobs/list` or `runs/list` answer: the entries under `name` (left out when there are
    none, as Databricks does), `has_more`, and `next_page_token` only when a page follows."""
    body: dict[str, Any] = {"has_more": page.has_more}
    if entries:
        body[name] = list(entries)
    if page.next_page_token is not None:
        body["next_page_token"] = page.next_page_token
    return body


__all__ = ["base_url", "is_paged", "list_body"]
