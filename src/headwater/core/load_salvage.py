"""Salvaging an invalid job so its graph can still be checked, for one complete report.

When pydantic rejects some fields, the semantic checks (duplicate keys, unknown dependencies,
cycles) would otherwise stay silent until the user fixed those fields and tried again. Here the
rejected parts are repaired until the rest validates: a bad value is removed (its default
applies), a missing text field becomes "", a missing choice (an enum such as a
condition_task's `op`) becomes its first member, a bad list item of objects becomes {}, and
only when nothing else works is an object dropped: dropping a condition_task for its bad `op`
would make each dependant's `outcome` a second, wrong finding. Findings are mapped back to
the original indexes, and those about repaired parts are left out, since pydantic already
reported them. Repairing instead of dropping keeps the indexes that check messages quote
("tasks[0] and tasks[2]").
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ValidationError

from headwater.core.checks import PathPart, check_job, parse_path
from headwater.core.load_messages import annotation_at
from headwater.core.spec import JobSettings

Loc = tuple[PathPart, ...]
MAX_ROUNDS = 10


class _Dropped:
    """Marks a removed list item, so the other items keep their original indexes."""


_DROPPED = _Dropped()


@dataclass(frozen=True)
class Salvaged:
    """What validates of an invalid job: its settings, and the way back to `data`'s paths."""

    settings: JobSettings
    work: object  # `data` repaired, dropped list items marked
    removed: tuple[Loc, ...]  # the repaired parts, which pydantic reported already

    def original(self, path: str) -> Loc | None:
        """Where a path of `settings` is in the original data; None inside a repaired part
        (a finding there would repeat, or contradict, pydantic's)."""
        loc = _original(self.work, parse_path(path))
        return None if _overlaps(loc, self.removed) else loc


def salvage(data: object) -> Salvaged | None:
    """`data` repaired until it validates; None when the whole job is unusable."""
    work = copy.deepcopy(data)
    removed: list[Loc] = []
    for _ in range(MAX_ROUNDS):
        try:
            settings = JobSettings.model_validate(_compact(work))
        except ValidationError as error:
            repairs = [_repair(work, detail["loc"], detail["type"]) for detail in error.errors()]
            if not all(loc for loc, _ in repairs):  # the whole job is unusable: give up quietly
                return None
            for loc, replacement in repairs:
                _replace(work, loc, replacement)
            removed += [loc for loc, _ in repairs]
            continue
        return Salvaged(settings, work, tuple(removed))
    return None


def salvaged_findings(data: object, destinations: Collection[str] | None = None
                      ) -> list[tuple[Loc, str]]:
    """Check findings of what remains valid in `data`, at original paths (empty if none);
    with `destinations`, an unknown webhook id is one (see `check_job`)."""
    salvaged = salvage(data)
    if salvaged is None:
        return []
    findings = [(salvaged.original(path), msg)
                for path, msg in check_job(salvaged.settings, destinations)]
    return [(loc, msg) for loc, msg in findings if loc is not None]


def _repair(work: object, loc: Sequence[object], kind: str) -> tuple[Loc, object]:
    """Where to repair one error (in `work`'s indexes) and the value to put there."""
    parts = tuple(part for part in loc if isinstance(part, str | int) and part != "[key]")
    expected = annotation_at(JobSettings, parts)
    is_model = isinstance(expected, type) and issubclass(expected, BaseModel)
    list_item = bool(parts) and isinstance(parts[-1], int)
    if kind == "missing" and expected is str:
        return _original(work, parts), ""
    if kind == "missing" and isinstance(expected, type) and issubclass(expected, Enum):
        return _original(work, parts), next(iter(expected)).value
    if is_model and (kind == "missing" or (kind == "model_type" and list_item)):
        return _original(work, parts), {}
    if kind == "missing":
        return _original(work, parts[:-1]), _DROPPED
    return _original(work, parts), _DROPPED


def _compact(value: object) -> object:
    """A copy of `value` without the dropped list items."""
    if isinstance(value, dict):
        return {key: _compact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_compact(item) for item in value if item is not _DROPPED]
    return value


def _original(work: object, loc: Sequence[PathPart]) -> Loc:
    """Map a path in the compacted data back to the same place in `work`."""
    node: object = work
    out: list[PathPart] = []
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            kept = [index for index, item in enumerate(node) if item is not _DROPPED]
            index = kept[part] if part < len(kept) else part
            out.append(index)
            node = node[index] if index < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def _replace(work: object, loc: Loc, value: object) -> None:
    """Put `value` at `loc`; `_DROPPED` removes a mapping key or marks a list item dropped."""
    parent: object = work
    for part in loc[:-1]:
        if isinstance(parent, dict):
            parent = parent.get(part)
        elif isinstance(parent, list) and isinstance(part, int) and part < len(parent):
            parent = parent[part]
        else:
            return
    last = loc[-1]
    if isinstance(parent, dict):
        if value is _DROPPED:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        parent[last] = value


def _overlaps(loc: Loc, removed: Sequence[Loc]) -> bool:
    """True if `loc` is inside a repaired part, or an object (not a top-level list) holding one."""
    for gone in removed:
        if loc[: len(gone)] == gone or (len(loc) >= 2 and gone[: len(loc)] == loc):
            return True
    return False
