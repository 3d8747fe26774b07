"""`jobs/update`: a job's settings after a partial update, as the Jobs API defines it.

"Top-level fields specified in `new_settings` are completely replaced, except for arrays which
are merged": an entry of `tasks` replaces the task with the same `task_key` or is added, and
the same for `job_clusters` (by `job_cluster_key`), `environments` (by `environment_key`) and
`parameters` (by `name`). `fields_to_remove` drops top-level fields (`"schedule"`) or single
entries of those arrays (`"tasks/clean_up"`, `"job_clusters/etl"`). Removal happens first,
then the merge. Pure: the caller validates the result as `JobSettings`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.errors import InvalidRequest, InvalidState

if TYPE_CHECKING:
    from headwater.core.checks import PathPart
    from headwater.core.load import SentAt

# Arrays merged entry by entry, and the field that names an entry.
MERGED_ARRAYS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
    "parameters": "name",
}


def apply_update(settings: Mapping[str, Any], new_settings: Mapping[str, Any],
                 fields_to_remove: Sequence[str] = ()) -> dict[str, Any]:
    """The settings after removing `fields_to_remove`, then merging `new_settings` in.

    Raises:
        InvalidRequest: naming every removal that names nothing (all of them at once).
    """
    return updated(settings, new_settings, fields_to_remove)[0]


def updated(settings: Mapping[str, Any], new_settings: Mapping[str, Any],
            fields_to_remove: Sequence[str] = ()) -> tuple[dict[str, Any], SentAt]:
    """`apply_update`'s settings, and where each of their values was in `new_settings` (None
    for a value the job had): what `jobs/update` holds to typed JSON."""
    result = copy.deepcopy(dict(settings))
    problems = [problem for index, path in enumerate(fields_to_remove)
                if (problem := _remove(result, index, path))]
    if problems:
        raise InvalidRequest("; ".join(problems))
    origins: dict[str, list[int | None]] = {}  # of each merged array's entries
    for name, value in new_settings.items():
        key = MERGED_ARRAYS.get(name)
        if key is not None and isinstance(value, list):
            result[name], origins[name] = _merge(result.get(name) or [], value, key)
        else:
            result[name] = copy.deepcopy(value)

    def sent_at(parts: tuple[PathPart, ...]) -> tuple[PathPart, ...] | None:
        name = parts[0] if parts else None
        if not isinstance(name, str) or name not in new_settings:
            return None  # the job's own
        entries = origins.get(name)
        if entries is None or len(parts) < 2 or not isinstance(parts[1], int):
            return parts  # sent whole
        origin = entries[parts[1]] if parts[1] < len(entries) else None
        return None if origin is None else (name, origin, *parts[2:])

    return result, sent_at


def paused_changes(job_id: int, settings: Mapping[str, Any], paused: bool
                   ) -> dict[str, Any]:
    """The `new_settings` that pause (or unpause) a job's schedule, trigger and continuous
    settings; `InvalidState` for a job that has none of them."""
    status = "PAUSED" if paused else "UNPAUSED"
    changes: dict[str, Any] = {name: {**settings[name], "pause_status": status}
                               for name in ("schedule", "trigger", "continuous")
                               if settings.get(name) is not None}
    if settings.get("triggers"):  # the multi-trigger list: every entry
        changes["triggers"] = [{**entry, "pause_status": status}
                               for entry in settings["triggers"]]
    if not changes:
        raise InvalidState(f"Job {job_id} has no schedule, trigger or continuous run to "
                           "pause or unpause.")
    return changes


def _remove(settings: dict[str, Any], index: int, path: str) -> str | None:
    """Remove one field or array entry; a message when it names nothing."""
    where = f"fields_to_remove[{index}]"
    field, _, entry = path.partition("/")
    if not entry:
        if field not in settings:
            return f"{where}: the job has no field {path!r} to remove"
        del settings[field]
        return None
    key = MERGED_ARRAYS.get(field)
    if key is None:
        arrays = ", ".join(f"{name}/<{named}>" for name, named in MERGED_ARRAYS.items())
        return (f"{where}: {path!r} removes a nested field; only whole top-level fields and "
                f"entries of {arrays} can be removed")
    entries = settings.get(field) or []
    kept = [item for item in entries if item.get(key) != entry]
    if len(kept) == len(entries):
        known = ", ".join(str(item.get(key)) for item in entries) or "none"
        return f"{where}: the job has no {field} entry {entry!r} (it has: {known})"
    settings[field] = kept
    return None


def _merge(current: list[Any], updates: list[Any], key: str
           ) -> tuple[list[Any], list[int | None]]:
    """`current` with each update replacing the entry of the same key, or appended; and for
    each entry, the index of the update it is (None for one of `current`'s)."""
    merged = [copy.deepcopy(item) for item in current]
    origins: list[int | None] = [None] * len(merged)
    position = {item.get(key): index for index, item in enumerate(merged)
                if isinstance(item, dict)}
    for sent, item in enumerate(updates):
        name = item.get(key) if isinstance(item, dict) else None
        if name is not None and name in position:
            merged[position[name]] = copy.deepcopy(item)
            origins[position[name]] = sent
        else:
            position[name] = len(merged)
            merged.append(copy.deepcopy(item))
            origins.append(sent)
    return merged, origins


__all__ = ["MERGED_ARRAYS", "apply_update", "updated"]
