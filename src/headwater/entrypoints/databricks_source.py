"""Our reader of Databricks source-format notebooks (`.py` files exported from a workspace).

The format: the first line is `# Databricks notebook source`; cells are separated by lines
`# COMMAND ----------`; a cell in another language has every line prefixed by `# MAGIC `, its
first line naming the language (`%md`, `%sql`, `%run`, `%sh`, `%pip`, ...); `# DBTITLE` lines
title a cell. jupytext cannot read it (see the dependency notes), hence this converter.

Pure: text in, cells out. A `.py` file without the header line is one Python cell.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["HEADER", "Cell", "CellKind", "NotebookFormatError", "parse_notebook"]

HEADER = "# Databricks notebook source"
_SEPARATOR = re.compile(r"^# COMMAND -{10,}\s*$")
_MAGIC = re.compile(r"^# MAGIC ?")
_TITLE = re.compile(r"^# DBTITLE ")


class CellKind(StrEnum):
    """What a cell holds, hence how the executor runs it."""

    PYTHON = "python"  # Python code, run in the notebook's namespace
    MARKDOWN = "markdown"  # `%md`: documentation, skipped
    SQL = "sql"  # `%sql`: run against the task's SQL warehouse
    RUN = "run"  # `%run ./other`: include another notebook in the same namespace
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
    can point into the file. For a `%run` cell, `source` is the path to include.
    """

    number: int
    kind: CellKind
    source: str
    first_line: int


def parse_notebook(text: str, name: str = "notebook") -> list[Cell]:
    """The cells of a notebook's source text, in order.

    Raises:
        NotebookFormatError: for an unsupported magic or a `%run` without exactly one path,
            naming the cell and `name`.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != HEADER:
        return [Cell(1, CellKind.PYTHON, text, 1)]
    cells: list[Cell] = []
    start, chunk = 2, list[str]()
    for number, line in enumerate(lines[1:], start=2):
        if _SEPARATOR.match(line):
            cells.append(_cell(len(cells) + 1, chunk, start, name))
            start, chunk = number + 1, []
        else:
            chunk.append(line)
    cells.append(_cell(len(cells) + 1, chunk, start, name))
    return cells


def _cell(number: int, lines: list[str], first_line: int, name: str) -> Cell:
    while lines and (not lines[0].strip() or _TITLE.match(lines[0])):
        lines, first_line = lines[1:], first_line + 1
    code = [line for line in lines if line.strip()]
    if not code or not all(_MAGIC.match(line) for line in code):
        return Cell(number, CellKind.PYTHON, "\n".join(lines).rstrip(), first_line)
    body = [_MAGIC.sub("", line, count=1) for line in lines]
    magic, _, rest = body[0].strip().partition(" ")
    where = f"cell {number} of {name}"
    if magic in _UNSUPPORTED:
        raise NotebookFormatError(f"{where}: {magic} is not supported: {_UNSUPPORTED[magic]}")
    kind = _MAGICS.get(magic)
    if kind is None:
        return Cell(number, CellKind.PYTHON, "\n".join(body).rstrip(), first_line)  # `%` fails
    if kind is CellKind.RUN:
        return Cell(number, kind, _run_target(rest, where), first_line)
    source = "\n".join([rest, *body[1:]]).rstrip()
    return Cell(number, kind, source, first_line)


def _run_target(arguments: str, where: str) -> str:
    try:
        words = shlex.split(arguments)
    except ValueError as error:
        raise NotebookFormatError(f"{where}: %run {arguments}: {error}") from None
    if len(words) != 1:
        raise NotebookFormatError(
            f"{where}: %run takes exactly one notebook path (arguments such as $name=value "
            f"are not supported yet), got {arguments!r}")
    return words[0]
