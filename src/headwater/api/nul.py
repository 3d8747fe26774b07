"""No text a request sends may hold a NUL character (U+0000).

PostgreSQL's text cannot store one, so a job name or an idempotency token with `\\u0000` in it
failed in the store with a 500 (found by fuzzing the API); SQLite would have kept it and
handed it to a task's environment or an e-mail header. A request is refused before it reaches
a route, with the JSON path (or query parameter) of the first NUL found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from headwater.api.errors import error_body
from headwater.api.middleware import HttpMiddleware

NUL = "\x00"
ESCAPED = "\\u0000"  # how a NUL in a name is shown in a message


def nul_in(value: object, path: str = "$") -> str | None:
    """The JSON path of the first string (or key) in `value` that holds a NUL, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{str(key).replace(NUL, ESCAPED)}"
            found = where if NUL in str(key) else nul_in(item, where)
            if found:
                return found
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            found = nul_in(item, f"{path}[{index}]")
            if found:
                return found
    return None


def nul_in_query(query: bytes) -> str | None:
    """`query parameter NAME` for the first query parameter that holds a NUL, or None."""
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if NUL in name or NUL in value:
            return f"query parameter {name.replace(NUL, ESCAPED)}"
    return None


def nul_in_body(body: bytes) -> str | None:
    """Where a JSON body holds a NUL; None also for a body that is not JSON (the route's own
    reading refuses that, with its own words)."""
    try:
        return nul_in(json.loads(body))
    except (ValueError, RecursionError):
        return None


class RefuseNul(HttpMiddleware):
    """Answers 400 to a request whose query or JSON body holds a NUL; passes the others on
    (with a JSON body, read once here, handed on unchanged)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = nul_in_query(scope.get("query_string", b""))
        messages: list[Message] = []
        if where is None and scope.get("method") in ("POST", "PUT", "PATCH") \
                and _read_as_json(scope):
            body = b""
            while True:
                message = await receive()
                messages.append(message)
                body += message.get("body", b"")
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            where = nul_in_body(body)
        if where is not None:
            refusal = f"{where}: holds a NUL character ({ESCAPED}), which no text may hold; " \
                      "remove it"
            answer = JSONResponse(error_body("INVALID_PARAMETER_VALUE", refusal), status_code=400)
            await answer(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive) if messages else receive, send)


def _read_as_json(scope: Scope) -> bool:
    """Whether the body is read as JSON (`app.JsonBodies` labels every body so but a deploy's
    archive, a form and a Files API upload): only JSON text is looked into, and a file's
    bytes, which may hold anything and up to 5 GiB, are never read here."""
    return any(name == b"content-type" and value.lower().startswith(b"application/json")
               for name, value in scope.get("headers", []))


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the messages already read, then the rest from `receive`."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


__all__ = ["RefuseNul", "nul_in", "nul_in_body", "nul_in_query"]
