"""The values a bundle's composition passes around, and the small helpers its modules share.

`core/bundle.py` composes a bundle from its files; `core/bundle_variables.py` fills in its
`${...}` references and `core/bundle_presets.py` applies its presets and modes. This module owns
what all three share: where a value is written (`Origin`), what is wrong (`BundleProblem`), the
files read (`BundleSource`), each job as it is being composed (`ComposedJob`) and the result
(`Composition`), plus the shape helpers they use to read plain YAML data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headwater.core.checks import PathPart, format_path

if TYPE_CHECKING:
    from headwater.core.bundle_scopes import ScopeGrant
    from headwater.core.bundle_sync import BundleSync

Loc = tuple[PathPart, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value is written: its file's index among the files loaded, and its path there."""

    source: int
    path: Loc


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """Something wrong in the bundle's sections or references; no `origin`: the command line."""

    origin: Origin | None
    path: str
    message: str
    at_key: bool = False
    warning: bool = False  # the Databricks CLI warns here and goes on; so does headwater


@dataclass(frozen=True, slots=True)
class BundleSource:
    """One YAML file of the bundle: its index among the files loaded and its top-level data.

    `folder` is the file's absolute folder (POSIX text), where its relative paths start; ""
    leaves the paths as written (when only locating lines).
    """

    index: int
    data: Mapping[str, object]
    folder: str = ""


@dataclass(slots=True)
class ComposedJob:
    """One job's data after the overlay, substitution and presets, with where each part came from.

    `origins` maps paths inside the job to where they are written; a path not in it comes from
    the same place as its nearest listed ancestor (`()` is always listed). `failed` lists the
    paths whose references could not be filled in (already reported).
    """

    resource_name: str
    source: int
    data: object
    origins: dict[Loc, Origin]
    failed: list[Loc] = field(default_factory=list)

    def origin(self, parts: Sequence[PathPart]) -> Origin:
        """Where the value at `parts` inside the job is written (or its nearest ancestor)."""
        for end in range(len(parts), -1, -1):
            found = self.origins.get(tuple(parts[:end]))
            if found is not None:
                return Origin(found.source, (*found.path, *parts[end:]))
        raise KeyError(parts)  # unreachable: () is always listed


@dataclass(frozen=True, slots=True)
class Composition:
    """What `compose_bundle` made: the chosen target, every job and every problem found."""

    target: str | None
    jobs: list[ComposedJob]
    problems: list[BundleProblem]
    bundle: str | None = None  # `bundle.name`, as the target leaves it
    secret_scopes: tuple[str, ...] = ()  # the names of its `resources.secret_scopes`
    sync: BundleSync | None = None  # what a deploy copies; None: composition stopped early
    scope_grants: tuple[ScopeGrant, ...] = ()  # the ACL entries its secret scopes ask for


@dataclass(frozen=True, slots=True)
class BundleContext:
    """What a bundle's `${workspace.*}` and `${bundle.git.*}` mean on this machine.

    On Databricks they name the workspace the bundle deploys to; here `root` (the absolute
    folder of the bundle's first file, which the CLI syncs) stands for the workspace folders
    (`${workspace.file_path}`, `root_path`, `artifact_path`), `host` for the workspace URL
    (the server the CLI talks to, if any) and `git` for the checkout's branch, commit and
    origin URL (`branch`, `commit`, `origin_url`, `bundle_root_path`). With `workspace_dir`
    (the folder standing for `/Workspace` on the server the bundle deploys to) they name the
    server's copy of the bundle instead (`core/bundle_sync.py`). `destinations` are the
    notification destination ids of the configuration file read here: a job naming another
    is warned of (None: not known here, not checked).
    """

    user: str = "local"
    root: str = "."
    host: str | None = None
    workspace_dir: str | None = None
    git: Mapping[str, str] = field(default_factory=dict)
    destinations: frozenset[str] | None = None


# The chosen target as one file defines it, and where: `targets.<name>` in that file.
Definition = tuple[Origin, dict[str, object]]


def short_name(user: str) -> str:
    """Databricks' short user name: the part before `@`, other than letters and digits -> `_`."""
    local = user.partition("@")[0]
    return "".join(char if char.isalnum() else "_" for char in local)


def as_mapping(value: object) -> dict[str, object]:
    """`value` if it is a mapping, else {}: bad shapes are reported elsewhere."""
    if isinstance(value, dict):
        return value
    return {}


def as_list(value: object) -> list[object]:
    """`value` if it is a list, else []: bad shapes are reported elsewhere."""
    if isinstance(value, list):
        return value
    return []


def add_problem(
    problems: list[BundleProblem], origin: Origin, message: str, *, at_key: bool = False,
    warning: bool = False,
) -> None:
    """Report `message` about the value (or with `at_key`, the key) written at `origin`."""
    problems.append(BundleProblem(origin, format_path(origin.path), message, at_key, warning))
