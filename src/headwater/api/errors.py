"""How errors reach a client: `{"error_code", "message"}` with Databricks' HTTP statuses.

Each `HeadwaterError` carries its stable `error_code`; this module gives it the status the
Jobs API uses (reference 6.2 item 6) and turns FastAPI's own refusals (bad JSON, a missing or
mistyped field, an unknown path) into the same shape, each located by a JSON path. A client's
mistake is a 4xx; a 5xx means the server failed, and its body never holds a stack trace.

Messages never contain the phrases the databricks-sdk retries on ("Unexpected error", "Please
try again later or try a faster operation.", ...), so a permanent error is never retried:
headwater's own texts avoid them, and where a message quotes the caller's text (a parameter
named "Unexpected error"), a zero-width space after the phrase's first letter breaks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headwater.errors import HeadwaterError

STATUSES = {
    "INVALID_PARAMETER_VALUE": 400,
    "INVALID_STATE": 400,
    "DIRECTORY_NOT_EMPTY": 400,
    "MAX_NOTEBOOK_SIZE_EXCEEDED": 400,
    "MALFORMED_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "RESOURCE_CONFLICT": 409,
    "RESOURCE_ALREADY_EXISTS": 409,
    "ALREADY_EXISTS": 409,  # the Files API's word for it
    "REQUEST_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}

# What pydantic says, in the words of headwater's job-file messages.
_PHRASES = {
    "extra_forbidden": "unknown field; remove it or check its spelling",
    "missing": "required field missing",
}
class ApiError(Exception):
    """Raised by the API itself (not the service): a status, a code, a message, headers."""

    def __init__(self, status: int, error_code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message
        self.headers = dict(headers or {})


JOBS_API_PREFIXES = ("/api/2.1/jobs/", "/api/2.2/jobs/")
WORKSPACE_API_PREFIX = "/api/2.0/workspace/"


# What databricks-sdk's `_is_retryable` looks for in an error's message (_base_client.py).
SDK_RETRIED_PHRASES = (
    "com.databricks.backend.manager.util.UnknownWorkerEnvironmentException",
    "does not have any associated worker environments",
    "There is no worker environment with id",
    "Unknown worker environment",
    "ClusterNotReadyException",
    "Unexpected error",
    "Please try again later or try a faster operation.",
    "RPC token bucket limit has been exceeded",
)


def error_body(error_code: str, message: str) -> dict[str, str]:
    return {"error_code": error_code, "message": not_retried(message)}


def not_retried(message: str) -> str:
    """`message` with every phrase the SDK would retry on broken by a zero-width space."""
    for phrase in SDK_RETRIED_PHRASES:
        message = message.replace(phrase, f"{phrase[0]}\u200b{phrase[1:]}")
    return message


def from_service(error: HeadwaterError, path: str) -> ApiError:
    """The wire form of an error the service raised on the request for `path`.

    The Jobs API answers an unknown job or run with 400 `INVALID_PARAMETER_VALUE` ("Job 7
    does not exist."), which the SDK turns into `ResourceDoesNotExist` on `jobs/get` and
    `runs/get` and leaves an `InvalidParameterValue` elsewhere; the permissions API answers
    404 `RESOURCE_DOES_NOT_EXIST`, and so does headwater's own deploy endpoint. The Workspace
    API answers an object that exists already (`import` without `overwrite`, `mkdirs` over a
    file) with 400 `RESOURCE_ALREADY_EXISTS`, where newer APIs send 409.
    """
    code = error.error_code
    if code == "RESOURCE_DOES_NOT_EXIST" and path.startswith(JOBS_API_PREFIXES):
        code = "INVALID_PARAMETER_VALUE"
    return ApiError(status_for(code, path), code, str(error))


def status_for(code: str, path: str) -> int:
    """The HTTP status an error `code` is answered with on `path`: the table's, but for the
    Workspace API's older 400 for an object that exists already."""
    if code == "RESOURCE_ALREADY_EXISTS" and path.startswith(WORKSPACE_API_PREFIX):
        return 400
    return STATUSES.get(code, 500)


def location(loc: Sequence[int | str]) -> str:
    """`$.tasks[0].task_key` for a body field; `query parameter run_id` for the query."""
    if loc and loc[0] in ("query", "path", "header"):
        return f"{loc[0]} parameter {'.'.join(str(p) for p in loc[1:])}"
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def not_json(detail: object) -> str:
    """What is wrong with a body that is not JSON (`detail`: the parser's words)."""
    return f"$: the request body is not valid JSON ({detail}); send one JSON object"


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """Every problem FastAPI found in a request, each located, in one message."""
    lines = []
    for error in errors:
        kind, loc = str(error.get("type", "")), tuple(error.get("loc", ()))
        if kind == "json_invalid":
            lines.append(not_json((error.get("ctx") or {}).get("error", "")))
            continue
        phrase = _PHRASES.get(kind) or str(error.get("msg", "invalid"))
        lines.append(f"{location(loc)}: {phrase}")
    count = len(lines)
    head = f"{count} problem{'s' if count != 1 else ''} found in the request:\n"
    return head + "\n".join(lines) if count > 1 else lines[0] if lines else "invalid request"


__all__ = ["STATUSES", "ApiError", "error_body", "from_service", "location", "not_json",
           "status_for", "validation_message"]
