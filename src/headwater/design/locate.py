"""Where a setting of a loaded job is written in its file, and how it is written there.

Reuses the loader's own machinery: `core/bundle.py`'s `compose_bundle` records, for every part
of a job as a target makes it, the place it comes from (the job under `resources.jobs`, or the
target that overrode it), and `core/load_yaml.py` finds that place's node and its `line:col`.
A JSON file is read with the same YAML composer (JSON is YAML here) and has no targets. Pure:
the file's text in, positions and written values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import Node

from headwater.core.bundle import BundleSource, ComposedJob, compose_bundle
from headwater.core.load_yaml import compose, construct, find_node, position

__all__ = ["SourceMap", "source_map"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceMap:
    """One job's file, to point at its settings: `where(path)` -> `file:line:col`."""

    name: str  # the file as the user named it
    root: Node | None
    data: object
    job: ComposedJob | None  # None for JSON: paths in the job are paths in the file

    def file_path(self, parts: Sequence[str | int]) -> Loc:
        """Where the value at `parts` inside the job is written, as a path from the file's root."""
        if self.job is None:
            return tuple(parts)
        return self.job.origin(parts).path

    def where(self, parts: Sequence[str | int] = ()) -> str:
        """`file:line:col` of the value at `parts` (the job's name key for `()`)."""
        if self.root is None:
            return self.name
        node = find_node(self.root, self.file_path(parts), key=not parts)
        line, column = position(node)
        return f"{self.name}:{line}:{column}"

    def target_where(self, target: str) -> str:
        """`file:line:col` of the target's key under `targets`."""
        if self.root is None:
            return self.name
        line, column = position(find_node(self.root, ["targets", target], key=True))
        return f"{self.name}:{line}:{column}"

    def written(self, parts: Sequence[str | int]) -> str | None:
        """The text of a string value as the file writes it (before `${var.*}` are filled in)."""
        value = self.data
        for part in self.file_path(parts):
            in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
            if not (in_list or (isinstance(value, dict) and part in value)):
                return None
            value = value[part]  # type: ignore[index]
        return value if isinstance(value, str) else None


def source_map(
    name: str,
    text: str,
    resource_name: str,
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
) -> SourceMap:
    """The source map of job `resource_name` in a file's `text`, as `target` makes the job."""
    try:
        root = compose(text)
    except yaml.YAMLError:  # the loader accepted the file, so this is JSON YAML cannot read
        return SourceMap(name, None, None, None)
    if root is None:
        return SourceMap(name, None, None, None)
    data = construct(root, check=False)
    if name.lower().endswith(".json") or not isinstance(data, dict):
        return SourceMap(name, root, data, None)
    source = BundleSource(0, {str(key): value for key, value in data.items()})
    composition = compose_bundle([source], target, variables, user)
    job = next((j for j in composition.jobs if j.resource_name == resource_name), None)
    return SourceMap(name, root, data, job)
