"""Where a setting of a loaded job is written in its bundle's files, and how it is written there.

Reuses the loader's own machinery: `core/bundle.py`'s `compose_bundle` records, for every part
of a job as a target makes it, the place it comes from (which file of the bundle, and the job
under `resources.jobs` there or the target that overrode it), and `core/load_yaml.py` finds
that place's node and its `line:col`. A bundle is its first file and the files its `include:`
patterns name, so a job defined in `resources/x.yml` is located there and a target's override
in `databricks.yml`. A JSON file is read with the same YAML composer (JSON is YAML here) and has
no targets. Pure: the files' text in, positions and written values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import Node

from headwater.core.bundle import BundleSource, ComposedJob, compose_bundle
from headwater.core.load_yaml import compose, construct, find_node, position

__all__ = ["SourceFile", "SourceMap", "source_map"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceFile:
    """One file of the bundle as read: its name as the user sees it, its YAML tree and data
    (None when it cannot be read as YAML, e.g. a Python file defining resources)."""

    name: str
    root: Node | None
    data: object


@dataclass(frozen=True)
class SourceMap:
    """One job's files, to point at its settings: `where(path)` -> `file:line:col`."""

    files: tuple[SourceFile, ...]  # the bundle's files, in the order they were loaded
    job: ComposedJob | None  # None for JSON: paths in the job are paths in the file

    def _place(self, parts: Sequence[str | int]) -> tuple[SourceFile, Loc]:
        """The file the value at `parts` inside the job is written in, and its path there."""
        if self.job is None:
            return self.files[0], tuple(parts)
        origin = self.job.origin(parts)
        return self.files[origin.source], origin.path

    def where(self, parts: Sequence[str | int] = ()) -> str:
        """`file:line:col` of the value at `parts` (the job's name key for `()`)."""
        file, path = self._place(parts)
        if file.root is None:
            return file.name
        line, column = position(find_node(file.root, path, key=not parts))
        return f"{file.name}:{line}:{column}"

    def target_where(self, target: str) -> str:
        """`file:line:col` of the target's key under `targets`, in the file defining it."""
        for file in self.files:
            targets = file.data.get("targets") if isinstance(file.data, dict) else None
            if file.root is not None and isinstance(targets, dict) and target in targets:
                line, column = position(find_node(file.root, ["targets", target], key=True))
                return f"{file.name}:{line}:{column}"
        return self.files[0].name

    def written(self, parts: Sequence[str | int]) -> str | None:
        """The text of a string value as the file writes it (before `${var.*}` are filled in)."""
        file, path = self._place(parts)
        value = file.data
        for part in path:
            in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
            if not (in_list or (isinstance(value, dict) and part in value)):
                return None
            value = value[part]  # type: ignore[index]
        return value if isinstance(value, str) else None


def source_map(
    files: Sequence[tuple[str, str]],
    resource_name: str,
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
) -> SourceMap:
    """The source map of job `resource_name` in a bundle's `files` (name and text of each, the
    bundle's first file first, then the files it includes, as the loader read them), as
    `target` makes the job."""
    read = tuple(_read(name, text) for name, text in files)
    if not read or read[0].name.lower().endswith(".json"):
        return SourceMap(read or (SourceFile("", None, None),), None)
    sources = [BundleSource(index, {str(key): value for key, value in file.data.items()})
               for index, file in enumerate(read) if isinstance(file.data, dict)]
    composition = compose_bundle(sources, target, variables, user)
    job = next((j for j in composition.jobs if j.resource_name == resource_name), None)
    if job is None:  # defined where no YAML tells (Python): name the bundle's file alone
        return SourceMap((SourceFile(read[0].name, None, None),), None)
    return SourceMap(read, job)


def _read(name: str, text: str) -> SourceFile:
    try:
        root = compose(text)
    except yaml.YAMLError:  # the loader accepted the file: JSON YAML cannot read, or Python
        return SourceFile(name, None, None)
    if root is None:
        return SourceFile(name, None, None)
    return SourceFile(name, root, construct(root, check=False))
