"""JSON over HTTP to a headwater server, with the standard library (no client dependency).

A Databricks-shaped error answer (`{"error_code", "message"}`) becomes the exception of
`headwater.errors` that carries that code, so a command reports it as it would locally.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from headwater.client.config import Remote
from headwater.errors import HeadwaterError, PermissionDenied, error_for

TIMEOUT_SECONDS = 60.0


class Api:
    """Calls to one server with one token."""

    def __init__(self, remote: Remote, timeout: float = TIMEOUT_SECONDS) -> None:
        self.remote, self.timeout = remote, timeout

    def get(self, path: str, **query: Any) -> Any:
        pairs = {k: _text(v) for k, v in query.items() if v is not None}
        suffix = f"?{urllib.parse.urlencode(pairs)}" if pairs else ""
        return self.call("GET", f"{path}{suffix}")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, {k: v for k, v in body.items() if v is not None})

    def get_bytes(self, path: str, **query: Any) -> bytes:
        """GET an answer that is not JSON (a log), as it is."""
        suffix = f"?{urllib.parse.urlencode({k: _text(v) for k, v in query.items()})}"
        answer: bytes = self.call("GET", f"{path}{suffix}", raw=True)
        return answer

    def post_bytes(self, endpoint: str, data: bytes, content_type: str, **query: Any) -> Any:
        """POST `data` as it is (an archive, say), with `query` in the URL."""
        suffix = f"?{urllib.parse.urlencode({k: _text(v) for k, v in query.items()})}"
        return self.call("POST", f"{endpoint}{suffix}", data=data, content_type=content_type)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             data: bytes | None = None, content_type: str = "application/json",
             raw: bool = False) -> Any:
        """The answer's JSON (its bytes with `raw`); an error answer raised as the
        `headwater.errors` exception of its code."""
        if body is not None:
            data = json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the user's own server
            f"{self.remote.host}{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {self.remote.token}",
                     "Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                text = answer.read()
        except urllib.error.HTTPError as error:
            raise _error(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise HeadwaterError(f"cannot reach the server at {self.remote.host}: {reason}"
                                 ) from None
        if raw:
            return text
        return json.loads(text) if text else {}


def _error(error: urllib.error.HTTPError) -> HeadwaterError:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        body = {}
    message = body.get("message") or f"HTTP {error.code} {error.reason}"
    if error.code == 401:
        return PermissionDenied(f"the server refused the token: {message}")
    if body.get("error_code") == "ENDPOINT_NOT_FOUND":  # a CLI newer than its server
        from importlib.metadata import version

        message += (f"; the server does not have what this headwater ({version('headwater')}) "
                    "asks for: it may run an older headwater, so upgrade it to this version")
    return error_for(str(body.get("error_code") or ""), message)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
