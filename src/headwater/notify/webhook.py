"""Webhooks: POST a JSON document with `urllib`, no redirects followed, 10 s at most.

2xx is delivered. 408, 425, 429 and 5xx are temporary (a `Retry-After` in seconds is
honoured, up to the retry policy's backoff cap); other answers are permanent, redirects
included (following one could send the alert, and its headers, somewhere the configuration
never named). A refused connection or a timeout is temporary.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from headwater.notify.messages import DeliveryError

TEMPORARY = frozenset({408, 425, 429})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, document: Mapping[str, Any], headers: Mapping[str, str],
              timeout: float) -> None:
    """POST `document` to `url`; `DeliveryError` unless the answer is 2xx."""
    body = json.dumps(document).encode("utf-8")
    # The scheme is http(s): checked when the configuration is read and by the Router.
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "User-Agent": "headwater", **headers})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise _from_status(url, error) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"POST {url}: {reason}", retryable=True) from error


def _from_status(url: str, error: urllib.error.HTTPError) -> DeliveryError:
    code = error.code
    retryable = code in TEMPORARY or code >= 500
    after = _retry_after(error.headers.get("Retry-After")) if error.headers else None
    words = "redirects are not followed" if 300 <= code < 400 else error.reason
    return DeliveryError(f"POST {url}: HTTP {code} ({words})", retryable, after)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (`DeliveryError` bounds them)."""
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: fall back on our own backoff


class WebhookTransport:
    """A generic webhook destination."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float) -> None:
        self.url, self.headers, self.timeout = url, headers, timeout

    def send(self, document: Mapping[str, Any]) -> None:
        post_json(self.url, document, self.headers, self.timeout)
