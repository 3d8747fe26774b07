"""Bundle targets, variables and deployment modes: from a bundle's files to each job's data.

A Databricks bundle (`databricks.yml` and the files loaded with it) defines jobs under
`resources.jobs` and `targets` (dev, test, prod, ...) that change them. `compose_bundle` chooses the
target, overlays its `resources.jobs` on the top-level jobs, fills in `${var.*}`, `${bundle.*}`
and `${workspace.current_user.*}`, and applies the target's `mode` and `presets`, all on plain
data BEFORE validation, so that the merged job is what gets validated. Every value keeps an
`Origin` (which file, which path in it), so that problems point at the line it was written on.

The rules follow the Databricks CLI (`libs/dyn/merge`, the `ApplyTargetMode` and `ApplyPresets`
mutators, the `MergeJob*` mutators):

- mappings merge recursively, scalars are replaced, and a null in the target keeps the value;
- the job lists `tasks`, `job_clusters`, `environments` and `parameters` merge element-wise by
  `task_key`, `job_cluster_key`, `environment_key` and `name` (a new key is appended); every
  other list is concatenated, as Databricks does (a target's `depends_on` or `libraries` for a
  task add to the top-level ones);
- `mode: development` defaults the presets: the name prefix `[dev <short_name>] `, a `dev` tag,
  pause status PAUSED for a schedule, trigger or continuous that does not set its own, and
  `max_concurrent_runs: 4` where unset; the `presets` of the bundle and target change these;
- `mode: production` changes nothing. Databricks also checks, for production, that `run_as` is
  set and the Git branch matches; headwater does not.

Other `${...}` references (`${resources.jobs.x.id}`, ...) are left as written.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from headwater.core.checks import PathPart, format_path, suggest
from headwater.core.load_messages import shown

Loc = tuple[PathPart, ...]

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
VARIABLE_KEYS = ("default", "description", "type", "lookup")
PAUSE_STATUSES = ("PAUSED", "UNPAUSED")
DEVELOPMENT_CONCURRENT_RUNS = 4
REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\-\[\]]+)\}")
JOBS_PATH = ("resources", "jobs")


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


@dataclass(frozen=True, slots=True)
class BundleSource:
    """One YAML file of the bundle: its index among the files loaded and its top-level data."""

    index: int
    data: Mapping[str, object]


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


def compose_bundle(
    sources: Sequence[BundleSource],
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
) -> Composition:
    """Each job of the bundle as the chosen target makes it, ready for validation.

    Args:
        sources: the YAML files loaded together, in order.
        target: the target asked for (`--target`); None picks the one marked `default: true`,
            or none at all.
        variables: values given on the command line (`--var name=value`); they win over the
            target's values and the defaults.
        user: the current user's name (an e-mail address on Databricks), for
            `${workspace.current_user.*}` and the development-mode prefix.
    """
    problems: list[BundleProblem] = []
    chosen = choose_target(sources, target, problems)
    _check_targets(sources, problems)
    if target is not None and chosen is None:  # the rest would only repeat that problem
        return Composition(None, [], problems)
    definitions = _target_definitions(sources, chosen)
    jobs = _base_jobs(sources)
    for at, definition in definitions:
        _overlay_jobs(jobs, at, definition, problems)
    context = _Context(
        _variables(sources, definitions, variables or {}, problems),
        chosen,
        _bundle_name(sources, definitions),
        user,
    )
    for job in jobs:
        job.data = _fill_all(job.data, (), job, context, problems)
    presets = _presets(sources, definitions, context, problems)
    for job in jobs:
        apply_presets(job, presets)
    return Composition(chosen, jobs, problems)


def short_name(user: str) -> str:
    """Databricks' short user name: the part before `@`, other than letters and digits -> `_`."""
    local = user.partition("@")[0]
    return "".join(char if char.isalnum() else "_" for char in local)


# Targets --------------------------------------------------------------------------------------


def choose_target(
    sources: Sequence[BundleSource], requested: str | None, problems: list[BundleProblem]
) -> str | None:
    """The `requested` target, else the one marked `default: true`, else None."""
    defined: dict[str, Origin] = {}
    defaults: list[tuple[str, Origin]] = []
    for source in sources:
        for name, definition in _mapping(source.data.get("targets")).items():
            origin = Origin(source.index, ("targets", name))
            defined.setdefault(name, origin)
            if _mapping(definition).get("default") is True:
                defaults.append((name, origin))
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
    first = next(s for s in sources if _mapping(s.data.get("targets")))
    message = (
        f"unknown target {requested!r}{suggest(requested, defined)}; "
        f"the targets defined are: {', '.join(defined)}"
    )
    return BundleProblem(Origin(first.index, ("targets",)), "targets", message)


def _check_targets(sources: Sequence[BundleSource], problems: list[BundleProblem]) -> None:
    """Unknown keys, bad modes and unsupported resource types in every target."""
    for source in sources:
        for name, definition in _mapping(source.data.get("targets")).items():
            at = ("targets", name)
            for key in _mapping(definition):
                if key not in TARGET_KEYS:
                    message = f"unknown target setting {key!r}{suggest(key, TARGET_KEYS)}"
                    _add(problems, Origin(source.index, (*at, key)), message, at_key=True)
            mode = _mapping(definition).get("mode")
            if mode is not None and mode not in MODES:
                hint = suggest(str(mode), MODES).replace(" (", "; ").rstrip(")")
                message = f"mode must be one of {', '.join(MODES)} (got {shown(mode)}{hint})"
                _add(problems, Origin(source.index, (*at, "mode")), message)
            for key in _mapping(_mapping(definition).get("resources")):
                if key != "jobs":
                    message = f"unsupported resource type {key!r}; headwater loads only jobs"
                    origin = Origin(source.index, (*at, "resources", key))
                    _add(problems, origin, message, at_key=True)


# The chosen target as one file defines it, and where: `targets.<name>` in that file.
Definition = tuple[Origin, dict[str, object]]


def _target_definitions(sources: Sequence[BundleSource], chosen: str | None) -> list[Definition]:
    """The chosen target as each file defines it (a target may be spread over several files)."""
    if chosen is None:
        return []
    found = []
    for source in sources:
        targets = _mapping(source.data.get("targets"))
        if chosen in targets:
            found.append((Origin(source.index, ("targets", chosen)), _mapping(targets[chosen])))
    return found


def _bundle_name(sources: Sequence[BundleSource], definitions: Sequence[Definition]) -> str | None:
    """`bundle.name`; a target's `bundle` section may change it."""
    sections = [s.data.get("bundle") for s in sources] + [d.get("bundle") for _, d in definitions]
    name: object = None
    for section in sections:
        name = _mapping(section).get("name", name)
    return name if isinstance(name, str) else None


# Overlay ---------------------------------------------------------------------------------------


def _base_jobs(sources: Sequence[BundleSource]) -> list[ComposedJob]:
    jobs = []
    for source in sources:
        for name, data in _mapping(_mapping(source.data.get("resources")).get("jobs")).items():
            origin = Origin(source.index, (*JOBS_PATH, name))
            jobs.append(ComposedJob(name, source.index, copy.deepcopy(data), {(): origin}))
    return jobs


def _overlay_jobs(
    jobs: list[ComposedJob],
    at: Origin,
    definition: Mapping[str, object],
    problems: list[BundleProblem],
) -> None:
    """Merge one target definition's `resources.jobs` into `jobs`; add the jobs it alone has."""
    for name, overlay in _mapping(_mapping(definition.get("resources")).get("jobs")).items():
        origin = Origin(at.source, (*at.path, *JOBS_PATH, name))
        job = next((job for job in jobs if job.resource_name == name), None)
        if job is None:
            jobs.append(ComposedJob(name, at.source, copy.deepcopy(overlay), {(): origin}))
        else:
            job.data = merge(job.data, overlay, (), origin, job, problems)


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


# Variables and references ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Variable:
    """A declared variable and its value from the default, the target or the command line."""

    value: object = None
    has_value: bool = False
    is_complex: bool = False


@dataclass(slots=True)
class _Context:
    """What references resolve against; `resolving` is the chain of variables being filled in."""

    variables: dict[str, _Variable]
    target: str | None
    bundle_name: str | None
    user: str
    resolving: list[str] = field(default_factory=list)


class _Unresolved(Exception):
    """Raised when a reference cannot be filled in; the message says why and how to fix it."""


_LITERAL = object()  # a reference headwater leaves as written


def _variables(
    sources: Sequence[BundleSource],
    definitions: Sequence[Definition],
    given: Mapping[str, str],
    problems: list[BundleProblem],
) -> dict[str, _Variable]:
    """Every declared variable with its value: command line over target over default."""
    declared: dict[str, _Variable] = {}
    for source in sources:
        for name, spec in _mapping(source.data.get("variables")).items():
            declared[name] = _declaration(spec, Origin(source.index, ("variables", name)), problems)
    for at, definition in definitions:
        for name, value in _mapping(definition.get("variables")).items():
            origin = Origin(at.source, (*at.path, "variables", name))
            if name not in declared:
                message = f"variable {name!r} is not declared{_known(name, declared)}"
                problems.append(BundleProblem(origin, f"variables.{name}", message, True))
                continue
            declared[name] = replace(declared[name], value=_target_value(value), has_value=True)
    for name, text in given.items():
        _command_line_value(declared, name, text, problems)
    return declared


def _declaration(spec: object, origin: Origin, problems: list[BundleProblem]) -> _Variable:
    if spec is None:
        return _Variable()
    if not isinstance(spec, Mapping):
        message = (
            f"must be a mapping (got {shown(spec)}); declare it as "
            f"{origin.path[-1]}: {{default: ..., description: ...}}"
        )
        problems.append(BundleProblem(origin, format_path(origin.path), message))
        return _Variable(spec, True)
    for key in spec:
        message = _declaration_key_problem(str(key), spec)
        if message:
            where = Origin(origin.source, (*origin.path, key))
            problems.append(BundleProblem(where, format_path(where.path), message, True))
    is_complex = spec.get("type") == "complex"
    return _Variable(spec.get("default"), "default" in spec, is_complex)


def _declaration_key_problem(key: str, spec: Mapping[object, object]) -> str:
    if key not in VARIABLE_KEYS:
        return f"unknown variable setting {key!r}{suggest(key, VARIABLE_KEYS)}"
    if key == "lookup":
        return (
            "lookup is not supported by headwater (there is no workspace to look in); "
            "give the value as default, in the target's variables or with --var"
        )
    if key == "type" and spec.get("type") != "complex":
        return f"type must be complex (got {shown(spec.get('type'))}); remove it for text"
    if (
        key == "default"
        and isinstance(spec["default"], dict | list)
        and (spec.get("type") != "complex")
    ):
        return "a mapping or list default needs type: complex"
    return ""


def _target_value(value: object) -> object:
    """A target's value for a variable: `name: value`, or the long form `name: {default: v}`."""
    if isinstance(value, Mapping) and "default" in value and set(value) <= set(VARIABLE_KEYS):
        return value["default"]
    return value


def _command_line_value(
    declared: dict[str, _Variable], name: str, text: str, problems: list[BundleProblem]
) -> None:
    """Set `name` from `--var name=text`, read as the type of its default."""
    variable = declared.get(name)
    where = f"--var {name}"
    if variable is None:
        problems.append(
            BundleProblem(None, where, f"unknown variable {name!r}{_known(name, declared)}")
        )
        return
    try:
        value = _typed(text, variable)
    except ValueError as error:
        problems.append(BundleProblem(None, where, f"{error} (got {text!r})"))
        return
    declared[name] = replace(variable, value=value, has_value=True)


def _typed(text: str, variable: _Variable) -> object:
    default = variable.value
    if variable.is_complex:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("a complex variable takes a JSON value") from None
    if isinstance(default, bool):
        if text not in ("true", "false"):
            raise ValueError("must be true or false, like its default")
        return text == "true"
    if isinstance(default, int | float):
        kind = type(default)
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"must be a number ({kind.__name__}), like its default") from None
    return text


def _known(name: str, declared: Mapping[str, object]) -> str:
    if not declared:
        return "; no variables are declared: declare it under the top-level variables"
    return f"{suggest(name, declared)}; the variables declared are: {', '.join(declared)}"


def _fill_all(
    value: object, at: Loc, job: ComposedJob, context: _Context, problems: list[BundleProblem]
) -> object:
    """`value` with the references in all its strings filled in; reports those that fail."""
    if isinstance(value, str):
        try:
            return fill(value, context)
        except _Unresolved as error:
            job.failed.append(at)
            problems.append(BundleProblem(job.origin(at), format_path(at), str(error)))
            return value
    if isinstance(value, dict):
        return {k: _fill_all(v, (*at, k), job, context, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_all(v, (*at, i), job, context, problems) for i, v in enumerate(value)]
    return value


def fill(text: str, context: _Context) -> object:
    """`text` with its references filled in; a whole-string reference keeps its value's type.

    Raises:
        _Unresolved: for the first reference that cannot be filled in.
    """
    matches = list(REFERENCE.finditer(text))
    if len(matches) == 1 and matches[0].group(0) == text:
        value = _resolve(matches[0].group(1), context)
        return text if value is _LITERAL else copy.deepcopy(value)
    return REFERENCE.sub(lambda match: _as_text(match, context), text)


def _as_text(match: re.Match[str], context: _Context) -> str:
    value = _resolve(match.group(1), context)
    if value is _LITERAL:
        return match.group(0)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


def _resolve(reference: str, context: _Context) -> object:
    """The value of `${reference}`, or `_LITERAL` for references headwater leaves alone."""
    if reference.startswith("var."):
        return _variable_value(reference, context)
    known: dict[str, tuple[object, str]] = {
        "bundle.target": (
            context.target,
            "no target is chosen: pass --target or mark a target default: true",
        ),
        "bundle.name": (context.bundle_name, "the bundle has no name: add bundle: {name: ...}"),
        "workspace.current_user.short_name": (short_name(context.user), ""),
        "workspace.current_user.userName": (context.user, ""),
    }
    if reference not in known:
        return _LITERAL
    value, missing = known[reference]
    if value is None:
        raise _Unresolved(f"${{{reference}}}: {missing}")
    return value


def _variable_value(reference: str, context: _Context) -> object:
    name, *fields = reference.removeprefix("var.").split(".")
    variable = context.variables.get(name)
    if variable is None:
        raise _Unresolved(
            f"${{{reference}}}: unknown variable {name!r}{_known(name, context.variables)}"
        )
    if not variable.has_value:
        raise _Unresolved(
            f"${{{reference}}}: variable {name!r} has no value; give it a "
            f"default, a value in the target's variables, or pass --var {name}=..."
        )
    if name in context.resolving:
        chain = " -> ".join([*context.resolving[context.resolving.index(name) :], name])
        raise _Unresolved(f"${{{reference}}}: variables refer to each other in a cycle: {chain}")
    context.resolving.append(name)
    try:
        value = _fill_value(variable.value, context)
    finally:
        context.resolving.pop()
    for part in fields:
        if not isinstance(value, Mapping) or part not in value:
            raise _Unresolved(f"${{{reference}}}: variable {name!r} has no field {part!r}")
        value = value[part]
    return value


def _fill_value(value: object, context: _Context) -> object:
    """A variable's value with the references inside it filled in (raises `_Unresolved`)."""
    if isinstance(value, str):
        return fill(value, context)
    if isinstance(value, dict):
        return {key: _fill_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_value(item, context) for item in value]
    return value


# Presets and modes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Presets:
    """What a target does to every job: `presets`, with the defaults of `mode: development`."""

    name_prefix: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    trigger_pause_status: str | None = None
    jobs_max_concurrent_runs: int | None = None


def _presets(
    sources: Sequence[BundleSource],
    definitions: Sequence[Definition],
    context: _Context,
    problems: list[BundleProblem],
) -> Presets:
    """The bundle's `presets`, then the target's, filled in and checked; then the mode's."""
    sections = [(Origin(s.index, ("presets",)), s.data.get("presets")) for s in sources]
    sections += [
        (Origin(at.source, (*at.path, "presets")), d.get("presets")) for at, d in definitions
    ]
    written: dict[str, tuple[object, Origin]] = {}
    for at, section in sections:
        for key, value in _mapping(section).items():
            written[key] = (value, Origin(at.source, (*at.path, key)))
    mode = next((d["mode"] for _, d in reversed(definitions) if "mode" in d), None)
    filled = {
        key: _filled_preset(value, origin, context, problems)
        for key, (value, origin) in written.items()
    }
    presets = _checked_presets(filled, written, problems)
    return _development(presets, context.user) if mode == "development" else presets


def _filled_preset(
    value: object, origin: Origin, context: _Context, problems: list[BundleProblem]
) -> object:
    try:
        return _fill_value(value, context)
    except _Unresolved as error:
        problems.append(BundleProblem(origin, format_path(origin.path), str(error)))
        return None


def _checked_presets(
    values: Mapping[str, object],
    written: Mapping[str, tuple[object, Origin]],
    problems: list[BundleProblem],
) -> Presets:
    def bad(key: str, message: str) -> None:
        origin = written[key][1]
        problems.append(BundleProblem(origin, format_path(origin.path), message))

    prefix, tags = values.get("name_prefix") or "", values.get("tags") or {}
    pause, runs = values.get("trigger_pause_status"), values.get("jobs_max_concurrent_runs")
    if not isinstance(prefix, str):
        bad("name_prefix", f"must be a string (got {shown(prefix)})")
        prefix = ""
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        bad("tags", f"must be a mapping of strings (got {shown(tags)})")
        tags = {}
    if pause is not None and pause not in PAUSE_STATUSES:
        bad("trigger_pause_status", f"must be PAUSED or UNPAUSED (got {shown(pause)})")
        pause = None
    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
        bad("jobs_max_concurrent_runs", f"must be an integer >= 1 (got {shown(runs)})")
        runs = None
    return Presets(
        prefix,
        {str(k): str(v) for k, v in tags.items()},
        str(pause) if pause else None,
        runs if isinstance(runs, int) else None,
    )


def _development(presets: Presets, user: str) -> Presets:
    """The presets of a `mode: development` target: its own, else the development defaults."""
    name = short_name(user)
    return Presets(
        presets.name_prefix or f"[dev {name}] ",
        {"dev": name, **presets.tags},
        presets.trigger_pause_status or "PAUSED",
        presets.jobs_max_concurrent_runs or DEVELOPMENT_CONCURRENT_RUNS,
    )


def apply_presets(job: ComposedJob, presets: Presets) -> None:
    """Prefix the name, add the tags it lacks, set unset pause statuses and concurrency."""
    data = job.data
    if not isinstance(data, dict):
        return
    name = data.get("name")
    if presets.name_prefix and (name is None or isinstance(name, str)):
        data["name"] = presets.name_prefix + (name or job.resource_name)
    if presets.tags and data.get("tags") is None:
        data["tags"] = {}
    tags = data.get("tags")
    if isinstance(tags, dict):
        tags.update({k: v for k, v in presets.tags.items() if not tags.get(k)})
    if presets.jobs_max_concurrent_runs and not data.get("max_concurrent_runs"):
        data["max_concurrent_runs"] = presets.jobs_max_concurrent_runs
    for key in ("schedule", "trigger", "continuous"):
        section = data.get(key)
        if (
            presets.trigger_pause_status
            and isinstance(section, dict)
            and (not section.get("pause_status"))
        ):
            section["pause_status"] = presets.trigger_pause_status


# Helpers ---------------------------------------------------------------------------------------


def _mapping(value: object) -> dict[str, object]:
    """`value` if it is a mapping, else {}: bad shapes are reported elsewhere."""
    if isinstance(value, dict):
        return value
    return {}


def _add(
    problems: list[BundleProblem], origin: Origin, message: str, *, at_key: bool = False
) -> None:
    problems.append(BundleProblem(origin, format_path(origin.path), message, at_key))
