"""Jobs API 2.2 pages inside one document: `runs/get` and `jobs/get` give 100 elements of each
long array per call, with `next_page_token` while another page follows.

The databricks-sdk joins the pages by `.extend()`-ing every paged array, so each one is on
every page (empty once it is complete), and it loops while `next_page_token` is present, so
the token is left out (never empty) on the last page (reference finding 6). List entries
(`jobs/list`, `runs/list` with `expand_tasks`) carry the first 100 and `has_more` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headwater.service.paging import number_token, token_number

PAGE_SIZE = 100
RUN_ARRAYS = ("tasks", "job_clusters", "job_parameters", "repair_history")
JOB_ARRAYS = ("tasks", "job_clusters", "parameters", "environments")
_PREFIX = "hwpage1:"


def page_token(index: int) -> str:
    return number_token(_PREFIX, index)


def page_index(token: str | None) -> int:
    """The page a token names (0 without one); `InvalidRequest` for a token never given."""
    return token_number(_PREFIX, token) if token else 0


def _slice(container: Mapping[str, Any], names: Sequence[str], index: int,
           size: int) -> tuple[dict[str, Any], bool]:
    """`container` with page `index` of each array in `names` (present, maybe empty), and
    whether any of them goes on past it."""
    body = dict(container)
    more = False
    for name in names:
        items = list(container.get(name) or [])
        body[name] = items[index * size:(index + 1) * size]
        more = more or len(items) > (index + 1) * size
    return body, more


def run_page(document: Mapping[str, Any], token: str | None,
             size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of a `runs/get` document: its tasks and other arrays, or a for-each task
    run's `iterations` (then the tasks stay whole, as the SDK reads only the iterations)."""
    index = page_index(token)
    names = RUN_ARRAYS if "iterations" not in document else ("iterations", *RUN_ARRAYS[1:])
    body, more = _slice(document, names, index, size)
    body.pop("next_page_token", None)
    if more:
        body["next_page_token"] = page_token(index + 1)
    return body


def job_page(document: Mapping[str, Any], token: str | None,
             size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of a `jobs/get` document: the arrays of its settings."""
    index = page_index(token)
    settings, more = _slice(document.get("settings") or {}, JOB_ARRAYS, index, size)
    body = {**document, "settings": settings}
    body.pop("next_page_token", None)
    if more:
        body["next_page_token"] = page_token(index + 1)
    return body


def first_elements(container: Mapping[str, Any], names: Sequence[str],
                   size: int = PAGE_SIZE) -> tuple[dict[str, Any], bool]:
    """A list entry's arrays cut to their first `size` elements, and whether any was cut."""
    body, more = dict(container), False
    for name in names:
        if name in container:
            items = list(container[name] or [])
            body[name], more = items[:size], more or len(items) > size
    return body, more


__all__ = ["JOB_ARRAYS", "PAGE_SIZE", "RUN_ARRAYS", "first_elements", "job_page",
           "page_index", "page_token", "run_page"]
