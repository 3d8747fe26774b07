"""Our reader of Databricks source-format notebooks (`.py` and `.sql` files exported from a
workspace).

The format: the first line is `# Databricks notebook source` (a Python notebook) or
`-- Databricks notebook source` (a SQL notebook); cells are separated by lines
`# COMMAND ----------` (`-- COMMAND ----------`); a cell in another language than the
notebook's has every line prefixed by `# MAGIC ` (`-- MAGIC `), its first line naming the
language (`%md`, `%sql`, `%python`, `%run`, `%sh`, `%pip`, ...); `# DBTITLE` lines title a
cell. jupytext cannot read it (see the dependency notes), hence this converter.

Pure: text in, cells out. A file without a header line is one cell of its language.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["HEADER", "SQL_HEADER", "Cell", "CellKind", "NotebookFormatError", "parse_notebook"]

HEADER = "# Databricks notebook source"
SQL_HEADER = "-- Databricks notebook source"


class CellKind(StrEnum):
    """What a cell holds, hence how the executor runs it."""

    PYTHON = "python"  # Python code, run in the notebook's namespace
    MARKDOWN = "markdown"  # `%md`: documentation, skipped
    SQL = "sql"  # `%sql`: run against the task's SQL warehouse
    RUN = "run"  # `%run ./other [$name=value ...]`: include another notebook in the same namespace
    SHELL = "sh"  # `%sh`: run with /bin/sh in the job directory


_MAGICS = {"%md": CellKind.MARKDOWN, "%md-sandbox": CellKind.MARKDOWN, "%sql": CellKind.SQL,
           "%run": CellKind.RUN, "%sh": CellKind.SHELL, "%python": CellKind.PYTHON}
_UNSUPPORTED = {"%pip": "declare dependencies in the job's `environments` instead",
                "%scala": "headwater runs Python notebooks only",
                "%r": "headwater runs Python notebooks only",
                "%fs": "use Python file operations instead"}


class NotebookFormatError(ValueError):
    """Raised when a cell cannot be run: an unsupported magic or a malformed `%run`."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its number (1-based, counting every cell), kind, and source.

    `first_line` is the file line (1-based) of the source's first line, so that tracebacks
    can point into the file. For a `%run` cell, `source` is the path to include and
    `arguments` the widget values it passes (`$name=value`).
    """

    number: int
    kind: CellKind
    source: str
    first_line: int
    arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Language:
    """How a notebook of one language writes its structure: its comment and own cell kind."""

    kind: CellKind
    separator: re.Pattern[str]
    magic: re.Pattern[str]
    title: re.Pattern[str]


def _language(kind: CellKind, comment: str) -> _Language:
    quoted = re.escape(comment)
    return _Language(kind, re.compile(rf"^{quoted} COMMAND -{{10,}}\s*$"),
                     re.compile(rf"^{quoted} MAGIC ?"), re.compile(rf"^{quoted} DBTITLE "))


_LANGUAGES = {HEADER: _language(CellKind.PYTHON, "#"), SQL_HEADER: _language(CellKind.SQL, "--")}


def parse_notebook(text: str, name: str = "notebook", default: CellKind = CellKind.PYTHON
                   ) -> list[Cell]:
    """The cells of a notebook's source text, in order.

    Args:
        text: the notebook's source.
        name: its file name, for messages.
        default: the kind of a file without a header line (one cell).

    Raises:
        NotebookFormatError: for an unsupported magic or a malformed `%run` (no path, an
            argument that is not `$name=value`, more lines), naming the cell and `name`.
    """
    lines = text.splitlines()
    language = _LANGUAGES.get(lines[0].strip()) if lines else None
    if language is None:
        return [Cell(1, default, text, 1)]
    cells: list[Cell] = []
    start, chunk = 2, list[str]()
    for number, line in enumerate(lines[1:], start=2):
        if language.separator.match(line):
            cells.append(_cell(len(cells) + 1, chunk, start, name, language))
            start, chunk = number + 1, []
        else:
            chunk.append(line)
    cells.append(_cell(len(cells) + 1, chunk, start, name, language))
    return cells


def _cell(number: int, lines: list[str], first_line: int, name: str, language: _Language
          ) -> Cell:
    while lines and (not lines[0].strip() or language.title.match(lines[0])):
        lines, first_line = lines[1:], first_line + 1
    code = [line for line in lines if line.strip()]
    if not code or not all(language.magic.match(line) for line in code):
        return Cell(number, language.kind, "\n".join(lines).rstrip(), first_line)
    body = [language.magic.sub("", line, count=1) for line in lines]
    magic, _, rest = body[0].strip().partition(" ")
    where = f"cell {number} of {name}"
    if magic in _UNSUPPORTED:
        raise NotebookFormatError(f"{where}: {magic} is not supported: {_UNSUPPORTED[magic]}")
    kind = _MAGICS.get(magic)
    if kind is None:
        return Cell(number, language.kind, "\n".join(body).rstrip(), first_line)  # `%` fails
    if kind is CellKind.RUN:
        return _run_cell(number, rest, [line for line in body[1:] if line.strip()],
                         first_line, where)
    source = "\n".join([rest, *body[1:]]).rstrip()
    return Cell(number, kind, source, first_line)


# `$name=value`, as `%run` passes a widget; shell quotes around the value (or the whole) go.
_ARGUMENT = re.compile(r"\$([^\s=$]+)=(.*)", re.DOTALL)


def _run_cell(number: int, written: str, more: list[str], line: int, where: str) -> Cell:
    """A `%run PATH [$name=value ...]` cell: the path, and the widgets it passes."""
    where = f"{where}, line {line}: " + f"%run {written.strip()}".rstrip()
    if more:
        raise NotebookFormatError(f"{where}: %run must be alone in its cell, its arguments on "
                                  f"its line; move {more[0].strip()!r} to a cell of its own")
    try:
        words = shlex.split(written)
    except ValueError as error:  # an unclosed quote
        raise NotebookFormatError(f"{where}: {error}") from None
    if not words:
        raise NotebookFormatError(f"{where}: give the path of the notebook to include")
    arguments: dict[str, str] = {}
    for word in words[1:]:
        match = _ARGUMENT.fullmatch(word)
        if match is None:
            raise NotebookFormatError(
                f"{where}: {word!r} is not an argument; after the notebook path, write each "
                f"as $name=value (quoted when it holds a space: $name=\"a b\")")
        arguments[match[1]] = match[2]
    return Cell(number, CellKind.RUN, words[0], line, arguments)
