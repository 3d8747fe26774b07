"""The syntax and catalogue of dynamic value references, without any run to resolve them in.

Owns finding `{{ ... }}` in a text, parsing it into a `Reference` (namespace plus parts, with
backtick-quoted identifiers unquoted), and `shape_problem`: whether a reference in a known
namespace names something that exists at all (`{{job.naem}}` does not). Both `core/refs.py`
(run time) and `core/checks_refs.py` (load time) build on it, so they agree on every message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from headwater.core.refs_time import TIME_ARGUMENTS

# Deprecated bare references, still resolved: `{{run_id}}` is the TASK run id.
DEPRECATED = frozenset(
    ("job_id", "run_id", "parent_run_id", "start_date", "start_time", "task_retry_count",
     "task_key")
)
KNOWN_NAMESPACES = frozenset(
    ("job", "task", "tasks", "input", "workspace", "backfill", *DEPRECATED)
)

# Placeholders in the shapes below: a time argument, a user name, a task key.
ARG, NAME, KEY = "<arg>", "<name>", "<key>"
_PLACEHOLDERS = (ARG, NAME, KEY)
_SHAPES: dict[str, tuple[tuple[str, ...], ...]] = {
    "job": (
        ("id",),
        ("name",),
        ("run_id",),
        ("repair_count",),
        ("start_time", ARG),
        ("trigger", "type"),
        ("trigger", "time", ARG),
        ("trigger", "file_arrival", "location"),
        ("trigger", "table_update", "updated_tables"),  # and <table>.version|commit_timestamp
        ("parameters", NAME),
    ),
    "task": (("name",), ("run_id",), ("execution_count",), ("notebook_path",)),
    "tasks": (
        (KEY, "run_id"),
        (KEY, "result_state"),
        (KEY, "error_code"),
        (KEY, "execution_count"),
        (KEY, "values", NAME),
        (KEY, "output", "rows"),
        (KEY, "output", "first_row"),
        (KEY, "output", "first_row", NAME),
    ),
    "workspace": (("id",), ("url",)),
    "backfill": ((ARG,),),
    **{name: ((),) for name in DEPRECATED},
}
_BRACES = re.compile(r"\{\{\s*((?:`[^`]*`|[^{}`])*?)\s*\}\}")
_OPENING = re.compile(r"\{\{\s*`?([A-Za-z0-9_]+)")
_SEGMENT = re.compile(r"`([^`]+)`|([A-Za-z0-9_]+)")
_PLAIN = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Reference:
    """One parsed `{{ ... }}`: `{{tasks.`my task`.values.n}}` has namespace `tasks` and parts
    `("my task", "values", "n")`; `start`/`end` locate `raw` in the text it came from."""

    raw: str
    namespace: str
    parts: tuple[str, ...]
    start: int
    end: int

    @property
    def is_known(self) -> bool:
        """Whether the namespace is one Lakeflow knows; other references stay literal text."""
        return self.namespace in KNOWN_NAMESPACES

    @property
    def name(self) -> str:
        """The canonical spelling, `{{job.parameters.`run date`}}`, without inner spaces."""
        return render((self.namespace, *self.parts))


def render(parts: Iterable[str]) -> str:
    """`("job", "parameters", "a b")` -> ``{{job.parameters.`a b`}}``."""
    quoted = (p if _PLAIN.fullmatch(p) or p in _PLACEHOLDERS else f"`{p}`" for p in parts)
    return "{{" + ".".join(quoted) + "}}"


def did_you_mean(word: str, choices: Iterable[str], show: str = "{!r}") -> str:
    """` (did you mean 'x'?)` for the closest choice, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {show.format(close[0])}?)" if close else ""


def parse_parts(content: str) -> tuple[str, ...] | None:
    """`job.parameters.`a b`` -> `("job", "parameters", "a b")`; None for a syntax error."""
    parts: list[str] = []
    position = 0
    while True:
        match = _SEGMENT.match(content, position)
        if match is None:
            return None
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
        if position == len(content):
            return tuple(parts)
        if content[position] != ".":
            return None
        position += 1


def iter_braces(text: str) -> list[tuple[re.Match[str], Reference | None]]:
    """Every `{{ ... }}` of `text`, with its parsed `Reference` (None when it does not parse)."""
    found: list[tuple[re.Match[str], Reference | None]] = []
    for match in _BRACES.finditer(text):
        parts = parse_parts(match.group(1))
        reference = None
        if parts is not None:
            reference = Reference(match.group(0), parts[0], parts[1:], match.start(), match.end())
        found.append((match, reference))
    return found


def find_references(text: str) -> list[Reference]:
    """Every well-formed reference in `text`, known namespace or not (see `is_known`)."""
    return [reference for _, reference in iter_braces(text) if reference is not None]


def malformed_references(text: str) -> list[str]:
    """Texts that open like a known reference but are not valid syntax, so stay literal.

    Examples: `{{job.id}` (a brace missing), `{{job.parameters.run-date}}` (a name with `-`
    needs backticks).
    """
    valid = {reference.start for reference in find_references(text)}
    malformed: list[str] = []
    for match in _OPENING.finditer(text):
        if match.group(1) in KNOWN_NAMESPACES and match.start() not in valid:
            malformed.append(_excerpt(text, match.start()))
    return malformed


def _excerpt(text: str, start: int) -> str:
    """From `start` through the first `}` (or `}}`) on the same line, else to the line's end."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    close = text.find("}", start, line_end)
    if close < 0:
        return text[start:line_end]
    return text[start : close + 2 if text.startswith("}}", close) else close + 1]


def shape_problem(reference: Reference) -> str | None:
    """Why a reference in a known namespace names nothing headwater knows, or None if it does.

    Only the shape is judged (`{{job.naem}}`, `{{job.start_time.iso_dat}}`); whether a named
    parameter, task or value exists depends on the job or the run.
    """
    namespace, parts = reference.namespace, reference.parts
    if namespace == "input":
        return None  # {{input}} and {{input.<field>...}}, any depth
    if namespace == "job" and parts[:2] == ("trigger", "table_update"):
        return _table_update_problem(parts[2:])
    shapes = _SHAPES[namespace]
    for shape in shapes:
        if _fits(shape, parts):
            return _time_argument_problem(shape, parts)
    return _unknown(namespace, parts, shapes)


def _table_update_problem(parts: tuple[str, ...]) -> str | None:
    """`updated_tables`, `<table>.version` or `<table>.commit_timestamp.<arg>` (a table's
    name may hold dots: `main.bronze.orders`)."""
    if parts == ("updated_tables",) or (len(parts) >= 2 and parts[-1] == "version"):
        return None
    if len(parts) >= 3 and parts[-2] == "commit_timestamp":
        return _time_argument_problem((ARG,), parts[-1:])
    return ("unknown reference; use {{job.trigger.table_update.updated_tables}}, "
            "{{job.trigger.table_update.<table>.version}} or "
            "{{job.trigger.table_update.<table>.commit_timestamp.<arg>}}")


def _fits(shape: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    return len(shape) == len(parts) and all(
        s == p or s in _PLACEHOLDERS for s, p in zip(shape, parts, strict=True)
    )


def _time_argument_problem(shape: tuple[str, ...], parts: tuple[str, ...]) -> str | None:
    if not shape or shape[-1] != ARG or parts[-1] in TIME_ARGUMENTS:
        return None
    return (
        f"unknown time argument {parts[-1]!r}{did_you_mean(parts[-1], TIME_ARGUMENTS)}; "
        f"use one of {', '.join(TIME_ARGUMENTS)}"
    )


def _unknown(namespace: str, parts: tuple[str, ...], shapes: tuple[tuple[str, ...], ...]) -> str:
    longer = [s for s in shapes if len(s) > len(parts) and _fits(s[: len(parts)], parts)]
    if longer:
        choices = ", ".join(_candidate(namespace, s, parts) for s in longer)
        return f"incomplete reference; complete it as one of {choices}"
    # Compare what follows the namespace, so the shared `{{job.` does not make all look close.
    candidates = {".".join(_filled(s, parts)): _candidate(namespace, s, parts) for s in shapes}
    close = difflib.get_close_matches(".".join(parts), list(candidates), n=1)
    return "unknown reference" + (f" (did you mean {candidates[close[0]]}?)" if close else "")


def _filled(shape: tuple[str, ...], parts: tuple[str, ...]) -> list[str]:
    """A shape with the user's own names in its placeholders where it has them."""
    return [parts[i] if s in _PLACEHOLDERS and i < len(parts) else s for i, s in enumerate(shape)]


def _candidate(namespace: str, shape: tuple[str, ...], parts: tuple[str, ...]) -> str:
    return render((namespace, *_filled(shape, parts)))
