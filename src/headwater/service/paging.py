"""Pages of a list and their tokens: opaque to clients, the last id seen to the service.

As the Jobs API asks (reference 6.2), a page has a `next_page_token` only when another page
follows; an empty token never appears (the SDK would loop on it forever).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from headwater.core.spec_common import INT32_MAX
from headwater.errors import InvalidRequest

Item = TypeVar("Item")
_PREFIX = "hw1:"


@dataclass(frozen=True, slots=True)
class Page(Generic[Item]):
    """Some items, and the token of the next page when there is one."""

    items: Sequence[Item]
    next_page_token: str | None = None

    @property
    def has_more(self) -> bool:
        return self.next_page_token is not None


def number_token(prefix: str, number: int) -> str:
    """An opaque token that carries `number` (an id, a page index) after `prefix`."""
    return base64.urlsafe_b64encode(f"{prefix}{number}".encode()).decode()


def token_number(prefix: str, token: str) -> int:
    """The number a token made by `number_token(prefix, ...)` carries.

    Only ASCII digits up to an id the store can hold (32 bits) are read: a client's made-up
    token ("²", a thousand digits) is refused like any other, never a failure of `int()` or
    of the store.

    Raises:
        InvalidRequest: for a token this service never gave.
    """
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found = re.fullmatch(re.escape(prefix) + "([0-9]{1,10})", text)
    if found is None or int(found.group(1)) > INT32_MAX:
        raise InvalidRequest(f"page_token {token!r} is not a token this server gave; pass the "
                             "next_page_token of the previous page")
    return int(found.group(1))


def token_for(last_id: int) -> str:
    """The token of the page that starts after `last_id`."""
    return number_token(_PREFIX, last_id)


def id_of(token: str | None) -> int | None:
    """The id a page token starts from (after it; before it for newest-first lists).

    Raises:
        InvalidRequest: for a token this service never gave.
    """
    return None if token is None else token_number(_PREFIX, token)


def page_of(found: Sequence[Item], limit: int, key: Callable[[Item], int]) -> Page[Item]:
    """A page from up to `limit + 1` items read: the extra one says another page follows."""
    if len(found) <= limit:
        return Page(list(found))
    items = list(found[:limit])
    return Page(items, token_for(key(items[-1])))


def check_offset(offset: int) -> None:
    """`offset` (the deprecated way to page: items to skip) is never negative."""
    if offset < 0:
        raise InvalidRequest(f"offset must be 0 or more, got {offset}")
