"""Pages from Jinja2 templates: one environment per app, autoescaped, with the filters the
templates share (instants, durations, states) and what every page needs (who is signed in,
the CSRF token, the static files' version)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from headwater.core.deployment import deployment_source
from headwater.core.spec import RunIf, Task
from headwater.design.words import RUN_IF_WORDS, task_policy_words, type_words
from headwater.web.session import Viewer
from headwater.web.views import formats, states
from headwater.web.views.job_lock import lock_note

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def static_version() -> str:
    """A short hash of the static files: their URLs change when they do, so browsers may
    cache them for good."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(instant=formats.instant, iso=formats.iso, duration=formats.duration,
                       seconds=formats.seconds, number=formats.number,
                       shown=states.shown, shown_of=states.shown_of)
    env.globals.update(static_version=static_version(), task_kind=type_words,
                       policy_words=task_policy_words, run_if_words=run_if_words,
                       lock_note=lock_note, deployment_source=deployment_source)
    return env


def run_if_words(task: Task) -> str:
    """`all succeeded`, `at least one failed`, ... (for a task without dependencies, "")."""
    if not task.depends_on:
        return ""
    return RUN_IF_WORDS[task.run_if or RunIf.ALL_SUCCESS]


class Pages:
    """Renders templates into responses."""

    def __init__(self) -> None:
        self.env = environment()

    def render(self, request: Request, name: str, viewer: Viewer | None,
               context: Mapping[str, Any] | None = None, status: int = 200,
               headers: Mapping[str, str] | None = None) -> HTMLResponse:
        template = self.env.get_template(name)
        text = template.render(request=request, viewer=viewer, path=request.url.path,
                               partial=is_htmx(request), **(context or {}))
        return HTMLResponse(text, status_code=status, headers=dict(headers or {}))


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it wants a fragment, not a whole page)."""
    return request.headers.get("hx-request") == "true"


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


__all__ = ["STATIC", "Pages", "is_htmx", "pages_of"]
