"""Bundle targets: from a bundle's files to each job's data, as the chosen target makes it.

A Databricks bundle (`databricks.yml` and the files loaded with it) defines jobs under
`resources.jobs` and `targets` (dev, test, prod, ...) that change them. `compose_bundle` chooses the
target, overlays its `resources.jobs` on the top-level jobs, fills in `${var.*}`, `${bundle.*}`
and `${workspace.current_user.*}`, and applies the target's `mode` and `presets`, all on plain
data BEFORE validation, so that the merged job is what gets validated. Every value keeps an
`Origin` (which file, which path in it), so that problems point at the line it was written on.

This module owns the composition, choosing the target and merging its overlays. The values it
passes around live in `core/bundle_model.py`, variables and `${...}` references in
`core/bundle_variables.py`, presets and modes in `core/bundle_presets.py`; the names other
modules use are re-exported here.

The overlay rules follow the Databricks CLI (`libs/dyn/merge`, the `MergeJob*` mutators):
mappings merge recursively, scalars are replaced, and a null in the target keeps the value; the
job lists `tasks`, `job_clusters`, `environments` and `parameters` merge element-wise by
`task_key`, `job_cluster_key`, `environment_key` and `name` (a new key is appended); every other
list is concatenated, as Databricks does (a target's `depends_on` or `libraries` for a task add
to the top-level ones).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace

from headwater.core.bundle_model import (
    BundleContext,
    BundleProblem,
    BundleSource,
    ComposedJob,
    Composition,
    Definition,
    Loc,
    Origin,
    add_problem,
    as_list,
    as_mapping,
    short_name,
)
from headwater.core.bundle_other import RESOURCE_TYPES, other_resources, resource_type_message
from headwater.core.bundle_paths import translate_paths
from headwater.core.bundle_presets import Presets, apply_presets, target_presets
from headwater.core.bundle_references import resolve_job_references
from headwater.core.bundle_scopes import scope_grants, scope_names
from headwater.core.bundle_sync import DeployedFolders, deployed_folders, sync_spec
from headwater.core.bundle_variables import (
    ReferenceContext,
    Unresolved,
    declared_variables,
    fill,
    fill_job,
    fill_value,
    lookup_problems,
)
from headwater.core.checks import format_path, suggest
from headwater.core.deployment import DEFAULT_TARGET
from headwater.core.load_messages import shown

__all__ = [
    "BundleContext",
    "BundleProblem",
    "BundleSource",
    "ComposedJob",
    "Composition",
    "Origin",
    "Presets",
    "apply_presets",
    "choose_target",
    "compose_bundle",
    "fill",
    "merge",
    "short_name",
]

KEYED_LISTS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
    "parameters": "name",
}
MODES = ("development", "production")
TARGET_KEYS = (
    "default",
    "mode",
    "variables",
    "resources",
    "workspace",
    "presets",
    "bundle",
    "git",
    "run_as",
    "permissions",
    "sync",
    "artifacts",
    "cluster_id",
    "compute_id",
)
JOBS_PATH = ("resources", "jobs")


def compose_bundle(
    sources: Sequence[BundleSource],
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
    context: BundleContext | None = None,
) -> Composition:
    """Each job of the bundle as the chosen target makes it, ready for validation.

    As the Databricks CLI does, references are filled in before the target's overlay is
    merged (a task or cluster keyed by `${var.x}` merges with the target's entry for its
    value), and relative file paths are made absolute from the file that writes them.

    Args:
        sources: the YAML files loaded together, in order; the first is the bundle's root.
        target: the target asked for (`--target`); None picks the one marked `default: true`,
            else the only target defined, else none at all.
        variables: values given on the command line (`--var name=value`); they win over the
            target's values and the defaults.
        user: the current user's name (an e-mail address on Databricks), for
            `${workspace.current_user.*}` and the development-mode prefix.
        context: what `${workspace.*}` and `${bundle.git.*}` mean here (its user wins over
            `user`); None: only the user is known.
    """
    context = context or BundleContext(user=user)
    problems: list[BundleProblem] = []
    chosen = choose_target(sources, target, problems)
    unchosen = chosen is None and bool(problems)
    _check_targets(sources, problems)
    if unchosen:  # the rest would only repeat that problem
        return Composition(None, [], problems)
    definitions = _target_definitions(sources, chosen)
    problems += other_resources(sources, definitions)
    references = ReferenceContext(
        declared_variables(sources, definitions, variables or {}, problems),
        chosen,
        _bundle_name(sources, definitions),
        context.user,
        bundle=context,
    )
    sync = sync_spec(sources, definitions, context.root)
    if context.workspace_dir is not None and references.bundle_name:  # a plain job file: here
        references.deployed = _deployed_folders(sources, definitions, references,
                                                context.workspace_dir, problems)
        sync = replace(sync, deployed=references.deployed)
    jobs = _base_jobs(sources)
    for job in jobs:
        job.data = fill_job(job.data, (), job, references, problems)
    for at, definition in definitions:
        _overlay_jobs(jobs, at, definition, references, problems)
    presets = target_presets(sources, definitions, references, problems)
    folders = {source.index: source.folder for source in sources if source.folder}
    permissions, run_as = _bundle_identity(sources, definitions, references, problems)
    named: list[str] = []
    for job in jobs:
        apply_presets(job, presets)
        _apply_identity(job, permissions, run_as)
        if folders:
            named += translate_paths(job, folders, sync, problems)
    # a resource headwater leaves out uses no lookup: it gets a context of its own to fill it
    others = _other_resources(sources, definitions, replace(references, lookups_used=set()))
    resolve_job_references(jobs, others, problems)
    sync = replace(sync, referenced=tuple(dict.fromkeys(named)))
    grants = scope_grants(sources, definitions, others, references, problems)
    problems += lookup_problems(references)
    return Composition(chosen, jobs, problems, references.bundle_name, scope_names(others),
                       sync, grants)


def _other_resources(
    sources: Sequence[BundleSource], definitions: Sequence[Definition],
    references: ReferenceContext,
) -> dict[str, dict[str, object]]:
    """The bundle's resources other than jobs by type and key, the target's overlaid, with
    their references filled in where they can be (a job may name their fields)."""
    sections = [s.data.get("resources") for s in sources]
    sections += [d.get("resources") for _, d in definitions]
    found: dict[str, dict[str, object]] = {}
    for section in sections:
        for kind, entries in as_mapping(section).items():
            if kind != "jobs":
                for key, value in as_mapping(entries).items():
                    merged = found.setdefault(kind, {}).get(key)
                    found[kind][key] = {**as_mapping(merged), **as_mapping(value)}
    try:
        filled = fill_value(found, references)
    except Unresolved:
        return found
    return filled if isinstance(filled, dict) else found


def _bundle_identity(
    sources: Sequence[BundleSource], definitions: Sequence[Definition],
    references: ReferenceContext, problems: list[BundleProblem],
) -> tuple[list[tuple[Origin, object]], tuple[Origin, object] | None]:
    """The bundle's `permissions` (top level, then the target's, each once) and `run_as` (the
    target's, else the top level's), filled in, with where each is written."""
    sections = [(Origin(s.index, ()), s.data) for s in sources]
    sections += [(at, definition) for at, definition in definitions]
    permissions: list[tuple[Origin, object]] = []
    run_as: tuple[Origin, object] | None = None
    for at, section in sections:
        for index, entry in enumerate(as_list(section.get("permissions"))):
            origin = Origin(at.source, (*at.path, "permissions", index))
            filled = _filled(entry, origin, references, problems)
            if all(filled != known for _, known in permissions):
                permissions.append((origin, filled))
        if section.get("run_as") is not None:
            origin = Origin(at.source, (*at.path, "run_as"))
            run_as = (origin, _filled(section["run_as"], origin, references, problems))
    return permissions, run_as


def _filled(value: object, origin: Origin, references: ReferenceContext,
            problems: list[BundleProblem]) -> object:
    try:
        return fill_value(value, references)
    except Unresolved as error:
        problems.append(BundleProblem(origin, format_path(origin.path), str(error)))
        return value


def _apply_identity(job: ComposedJob, permissions: Sequence[tuple[Origin, object]],
                    run_as: tuple[Origin, object] | None) -> None:
    """As the Databricks CLI: the bundle's permissions join each job's own (once), and the
    bundle's `run_as` applies to every job that sets none."""
    data = job.data
    if not isinstance(data, dict):
        return
    if permissions:
        own = data.setdefault("permissions", [])
        if isinstance(own, list):
            for origin, entry in permissions:
                if entry not in own:
                    job.origins[("permissions", len(own))] = origin
                    own.append(copy.deepcopy(entry))
    if run_as is not None and data.get("run_as") is None:
        job.origins[("run_as",)] = run_as[0]
        data["run_as"] = copy.deepcopy(run_as[1])


def _deployed_folders(
    sources: Sequence[BundleSource], definitions: Sequence[Definition],
    references: ReferenceContext, workspace_dir: str, problems: list[BundleProblem],
) -> DeployedFolders | None:
    """Where the bundle lives on the server it deploys to: its `workspace.root_path` and
    `file_path` (the target's win), filled in, or Databricks' defaults."""
    sections = [(Origin(s.index, ()), s.data) for s in sources]
    sections += [(at, definition) for at, definition in definitions]
    written: list[tuple[Origin, str, str]] = []
    for at, section in sections:
        for name in ("root_path", "file_path"):
            value = as_mapping(section.get("workspace")).get(name)
            origin = Origin(at.source, (*at.path, "workspace", name))
            filled = _filled(value, origin, references, problems) if value is not None else None
            if isinstance(filled, str):
                written.append((origin, name, filled))
    default = (references.user, str(references.bundle_name),
               references.target or DEFAULT_TARGET)
    return deployed_folders(written, default, workspace_dir, problems)


# Targets --------------------------------------------------------------------------------------


def choose_target(
    sources: Sequence[BundleSource], requested: str | None, problems: list[BundleProblem]
) -> str | None:
    """The `requested` target, else the one marked `default: true`, else the only one defined.

    As the Databricks CLI: several targets with none marked default, and none requested, is an
    error; no targets at all is no target.
    """
    defined: dict[str, Origin] = {}
    defaults: list[tuple[str, Origin]] = []
    for source in sources:
        for name, definition in as_mapping(source.data.get("targets")).items():
            origin = Origin(source.index, ("targets", name))
            defined.setdefault(name, origin)
            if as_mapping(definition).get("default") is True:
                defaults.append((name, origin))
    if requested is None and len(defined) == 1:
        return next(iter(defined))
    if requested is None and defined and not defaults:
        first = next(iter(defined.values()))
        message = (
            f"the bundle defines the targets {', '.join(defined)} and none is marked "
            "default: true; choose one with --target, or mark one default: true"
        )
        problems.append(BundleProblem(Origin(first.source, first.path[:1]), "targets", message,
                                      at_key=True))
        return None
    if requested is None:
        return _default_target(defaults, problems)
    if requested in defined:
        return requested
    problems.append(_unknown_target(sources, requested, list(defined)))
    return None


def _default_target(
    defaults: Sequence[tuple[str, Origin]], problems: list[BundleProblem]
) -> str | None:
    names = list(dict.fromkeys(name for name, _ in defaults))
    if len(names) > 1:
        origin = next(origin for name, origin in defaults if name == names[1])
        message = (
            f"targets {', '.join(map(repr, names))} are all marked default: true; "
            "keep it on one of them, or choose one with --target"
        )
        problems.append(
            BundleProblem(
                Origin(origin.source, (*origin.path, "default")),
                f"targets.{names[1]}.default",
                message,
            )
        )
    return names[0] if names else None


def _unknown_target(
    sources: Sequence[BundleSource], requested: str, defined: list[str]
) -> BundleProblem:
    if not defined:
        message = f"unknown target {requested!r}: no file defines targets; add targets.{requested}"
        return BundleProblem(None, "targets", message)
    first = next(s for s in sources if as_mapping(s.data.get("targets")))
    message = (
        f"unknown target {requested!r}{suggest(requested, defined)}; "
        f"the targets defined are: {', '.join(defined)}"
    )
    return BundleProblem(Origin(first.index, ("targets",)), "targets", message)


def _check_targets(sources: Sequence[BundleSource], problems: list[BundleProblem]) -> None:
    """Unknown keys, bad modes and unsupported resource types in every target."""
    for source in sources:
        for name, definition in as_mapping(source.data.get("targets")).items():
            at = ("targets", name)
            for key in as_mapping(definition):
                if key not in TARGET_KEYS:
                    message = f"unknown target setting {key!r}{suggest(key, TARGET_KEYS)}"
                    add_problem(problems, Origin(source.index, (*at, key)), message, at_key=True)
            mode = as_mapping(definition).get("mode")
            if mode is not None and mode not in MODES:
                hint = suggest(str(mode), MODES).replace(" (", "; ").rstrip(")")
                message = f"mode must be one of {', '.join(MODES)} (got {shown(mode)}{hint})"
                add_problem(problems, Origin(source.index, (*at, "mode")), message)
            for key in as_mapping(as_mapping(definition).get("resources")):
                if key not in RESOURCE_TYPES:
                    origin = Origin(source.index, (*at, "resources", key))
                    add_problem(problems, origin, resource_type_message(key), at_key=True)


def _target_definitions(sources: Sequence[BundleSource], chosen: str | None) -> list[Definition]:
    """The chosen target as each file defines it (a target may be spread over several files)."""
    if chosen is None:
        return []
    found = []
    for source in sources:
        targets = as_mapping(source.data.get("targets"))
        if chosen in targets:
            found.append((Origin(source.index, ("targets", chosen)), as_mapping(targets[chosen])))
    return found


def _bundle_name(sources: Sequence[BundleSource], definitions: Sequence[Definition]) -> str | None:
    """`bundle.name`; a target's `bundle` section may change it."""
    sections = [s.data.get("bundle") for s in sources] + [d.get("bundle") for _, d in definitions]
    name: object = None
    for section in sections:
        name = as_mapping(section).get("name", name)
    return name if isinstance(name, str) else None


# Overlay ---------------------------------------------------------------------------------------


def _base_jobs(sources: Sequence[BundleSource]) -> list[ComposedJob]:
    jobs = []
    for source in sources:
        for name, data in as_mapping(as_mapping(source.data.get("resources")).get("jobs")).items():
            origin = Origin(source.index, (*JOBS_PATH, name))
            jobs.append(ComposedJob(name, source.index, copy.deepcopy(data), {(): origin}))
    return jobs


def _overlay_jobs(
    jobs: list[ComposedJob],
    at: Origin,
    definition: Mapping[str, object],
    references: ReferenceContext,
    problems: list[BundleProblem],
) -> None:
    """Merge one target definition's `resources.jobs` (filled in) into `jobs`; add the jobs it
    alone has."""
    for name, written in as_mapping(as_mapping(definition.get("resources")).get("jobs")).items():
        origin = Origin(at.source, (*at.path, *JOBS_PATH, name))
        overlay = ComposedJob(name, at.source, copy.deepcopy(written), {(): origin})
        overlay.data = fill_job(overlay.data, (), overlay, references, problems)
        job = next((job for job in jobs if job.resource_name == name), None)
        if job is None:
            jobs.append(overlay)
        else:
            job.data = merge(job.data, overlay.data, (), origin, job, problems)
            job.failed += overlay.failed


def merge(
    base: object,
    overlay: object,
    at: Loc,
    origin: Origin,
    job: ComposedJob,
    problems: list[BundleProblem],
) -> object:
    """`overlay` (written at `origin`) merged into `base` (at `at` inside `job`)."""
    if overlay is None:
        return base
    if base is None:
        _replaced(job, at, origin)
        return copy.deepcopy(overlay)
    if isinstance(base, dict) and isinstance(overlay, Mapping):
        for key, value in overlay.items():
            inner = Origin(origin.source, (*origin.path, key))
            base[key] = merge(base.get(key), value, (*at, key), inner, job, problems)
        return base
    if isinstance(base, list) and isinstance(overlay, list):
        return _merge_list(base, overlay, at, origin, job, problems)
    if isinstance(base, dict | list) or isinstance(overlay, Mapping | list):
        message = (
            f"cannot merge {shown(overlay)} from the target into {shown(base)} at "
            f"{format_path((*JOBS_PATH, job.resource_name, *at))}; write the same kind of value"
        )
        problems.append(BundleProblem(origin, format_path(at), message))
        return base
    _replaced(job, at, origin)
    return overlay


def _merge_list(
    base: list[object],
    overlay: list[object],
    at: Loc,
    origin: Origin,
    job: ComposedJob,
    problems: list[BundleProblem],
) -> list[object]:
    key_field = KEYED_LISTS.get(str(at[0])) if len(at) == 1 else None
    for index, item in enumerate(overlay):
        item_origin = Origin(origin.source, (*origin.path, index))
        match = _same_key(base, item, key_field)
        if match is None:
            job.origins[(*at, len(base))] = item_origin
            base.append(copy.deepcopy(item))
        else:
            base[match] = merge(base[match], item, (*at, match), item_origin, job, problems)
    return base


def _same_key(items: Sequence[object], item: object, key_field: str | None) -> int | None:
    """The index of the element of `items` with the same key as `item` (None if none)."""
    if key_field is None or not isinstance(item, Mapping) or item.get(key_field) is None:
        return None
    for index, candidate in enumerate(items):
        if isinstance(candidate, Mapping) and candidate.get(key_field) == item[key_field]:
            return index
    return None


def _replaced(job: ComposedJob, at: Loc, origin: Origin) -> None:
    """Record that the value at `at` now comes from `origin`, with everything inside it."""
    for loc in [loc for loc in job.origins if len(loc) > len(at) and loc[: len(at)] == at]:
        del job.origins[loc]
    job.origins[at] = origin
