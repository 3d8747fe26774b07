"""The run matrix of a job page: its last runs as columns, its tasks as rows, each cell the
state its task ended (or is) in that run, from the runs' `Run` documents. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.web.views.formats import duration, instant
from headwater.web.views.states import Shown, shown_of


@dataclass(frozen=True, slots=True)
class MatrixColumn:
    """One run: its id, state and what its header says."""

    run_id: int
    shown: Shown
    label: str


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One task: its state in each run (None: the task was not in that run)."""

    task_key: str
    cells: Sequence[Shown | None]


@dataclass(frozen=True, slots=True)
class Matrix:
    columns: Sequence[MatrixColumn]
    rows: Sequence[MatrixRow]


def latest_attempts(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each task's newest attempt in a `Run` document (its `tasks[]` list every attempt, each
    task's in order)."""
    found: dict[str, Mapping[str, Any]] = {}
    for task in document.get("tasks", []):
        found[task["task_key"]] = task
    return found


def run_matrix(documents: Sequence[Mapping[str, Any]], task_keys: Sequence[str]) -> Matrix:
    """The matrix of `documents` (oldest first) over `task_keys` (the job's tasks now; tasks
    only older runs had come after them)."""
    latest = [latest_attempts(document) for document in documents]
    keys = list(task_keys)
    for attempts in latest:
        keys += [key for key in attempts if key not in keys]
    columns = [MatrixColumn(d["run_id"], shown_of(d), _label(d)) for d in documents]
    rows = [MatrixRow(key, [shown_of(a[key]) if key in a else None for a in latest])
            for key in keys]
    return Matrix(columns, rows)


def _label(document: Mapping[str, Any]) -> str:
    shown = shown_of(document)
    words = f"Run {document['run_id']}: {shown.words}"
    if document.get("start_time"):
        words += f", started {instant(document['start_time'])}"
    if document.get("run_duration"):
        words += f", took {duration(document['run_duration'])}"
    return words


__all__ = ["Matrix", "MatrixColumn", "MatrixRow", "latest_attempts", "run_matrix"]
