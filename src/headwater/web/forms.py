"""Form bodies: what a browser posts (`application/x-www-form-urlencoded`), read into a `Form`.

Every form of the UI posts URL-encoded fields (htmx does too), so the standard library reads
them and no multipart parser is needed. A body over `MAX_BODY` is refused before it is read
whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time
from urllib.parse import parse_qsl

from fastapi import Request

from headwater.errors import InvalidRequest

MAX_BODY = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class Form:
    """The fields of a posted form, in order; a name may repeat (checkboxes)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pairs = list(pairs)

    def get(self, name: str, default: str = "") -> str:
        """The first value of `name` (stripped), or `default`."""
        for key, value in self.pairs:
            if key == name:
                return value.strip()
        return default

    def raw(self, name: str) -> str:
        """The first value of `name` as sent (text areas keep their spaces)."""
        return next((value for key, value in self.pairs if key == name), "")

    def all(self, name: str) -> list[str]:
        """Every value of `name`, in order."""
        return [value for key, value in self.pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Fields named `prefix<rest>`, as rest -> value (the last one wins)."""
        return {key[len(prefix):]: value for key, value in self.pairs if key.startswith(prefix)}


async def read_form(request: Request) -> Form:
    """The posted form (empty for a request without a body).

    Raises:
        InvalidRequest: for a body that is not URL-encoded, or too large.
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return Form(request.query_params.multi_items())
    kind = request.headers.get("content-type", FORM_TYPE).split(";")[0].strip()
    if kind != FORM_TYPE:
        raise InvalidRequest(f"forms are sent as {FORM_TYPE}, not {kind}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise InvalidRequest(f"the form is larger than {MAX_BODY // 1024} KiB")
    return Form(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def day_bound(text: str, end: bool = False) -> datetime | None:
    """A date of a filter form (`YYYY-MM-DD`, UTC) as the first (or, with `end`, the last)
    instant of that day; None for "".

    Raises:
        InvalidRequest: for a text that is not such a date.
    """
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidRequest(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time.max if end else time.min, UTC)


def id_filter(text: str, what: str) -> int | None:
    """An id a filter form gives (`job_id`, `run_id`); None for "". A number too large for
    the store is left to the store to refuse (the caller's mistake, a 400 as any other).

    Raises:
        InvalidRequest: for a text that is not a number (at most 19 digits: int() refuses
            thousands, and no id has more than a 64-bit number's).
    """
    if not text:
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdecimal() and len(digits) <= 19):
        raise InvalidRequest(f"{what} {text!r} is not an id")
    return int(digits)


__all__ = ["Form", "day_bound", "id_filter", "read_form"]
