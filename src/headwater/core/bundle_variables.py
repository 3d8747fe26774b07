"""Bundle variables and `${...}` references: declarations, their values, and filling them in.

Variables are declared under the top-level `variables` (`default`, `description`, and
`type: complex` for a mapping or list); a target's `variables` and the command line's
`--var name=value` give them values, the command line winning. `fill` replaces `${var.*}`,
`${bundle.target}`, `${bundle.name}` and `${workspace.current_user.*}` in a string; a string
that is one whole reference keeps its value's type. Other `${...}` references
(`${resources.jobs.x.id}`, ...) are left as written. Variables may refer to each other; a cycle
is reported with its chain.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from headwater.core.bundle_model import (
    BundleContext,
    BundleProblem,
    BundleSource,
    ComposedJob,
    Definition,
    Loc,
    Origin,
    as_mapping,
    short_name,
)
from headwater.core.bundle_sync import DeployedFolders
from headwater.core.checks import format_path, suggest
from headwater.core.load_messages import shown

VARIABLE_KEYS = ("default", "description", "type", "lookup")
REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\-\[\]]+)\}")


@dataclass(frozen=True, slots=True)
class Variable:
    """A declared variable and its value from the default, the target or the command line."""

    value: object = None
    has_value: bool = False
    is_complex: bool = False
    lookup: Origin | None = None  # where a `lookup:` is declared, until a value replaces it


@dataclass(slots=True)
class ReferenceContext:
    """What references resolve against; `resolving` is the chain of variables being filled in."""

    variables: dict[str, Variable]
    target: str | None
    bundle_name: str | None
    user: str
    resolving: list[str] = field(default_factory=list)
    bundle: BundleContext = field(default_factory=BundleContext)
    deployed: DeployedFolders | None = None  # a server's copy of the bundle, if deployed to one
    lookups_used: set[str] = field(default_factory=set)  # lookups a reference reached, by name


class Unresolved(Exception):
    """Raised when a reference cannot be filled in; the message says why and how to fix it."""


_LITERAL = object()  # a reference headwater leaves as written


def declared_variables(
    sources: Sequence[BundleSource],
    definitions: Sequence[Definition],
    given: Mapping[str, str],
    problems: list[BundleProblem],
) -> dict[str, Variable]:
    """Every declared variable with its value: command line over target over default."""
    declared: dict[str, Variable] = {}
    for source in sources:
        for name, spec in as_mapping(source.data.get("variables")).items():
            declared[name] = _declaration(spec, Origin(source.index, ("variables", name)), problems)
    for at, definition in definitions:
        for name, value in as_mapping(definition.get("variables")).items():
            origin = Origin(at.source, (*at.path, "variables", name))
            if name not in declared:
                message = f"variable {name!r} is not declared{_known(name, declared)}"
                problems.append(BundleProblem(origin, f"variables.{name}", message, True))
                continue
            declared[name] = replace(declared[name], value=_target_value(value), has_value=True)
    for name, text in given.items():
        _command_line_value(declared, name, text, problems)
    return declared


def lookup_problems(context: ReferenceContext) -> list[BundleProblem]:
    """A `lookup:` left without a value, once references are filled in: an error where what
    headwater runs uses it, else a warning (a bundle may declare lookups for resources headwater
    leaves out, or for other targets; the Databricks CLI would still resolve them)."""
    problems = []
    for name, variable in context.variables.items():
        if variable.lookup is None or variable.has_value:
            continue
        used = name in context.lookups_used
        message = (
            "lookup is not supported by headwater (there is no workspace to look in); "
            + ("" if used else "nothing headwater runs uses it, so it is ignored; before one "
               "does, ")
            + f"give the value as default, in the target's variables or with --var {name}=..."
        )
        problems.append(BundleProblem(variable.lookup, format_path(variable.lookup.path),
                                      message, True, warning=not used))
    return problems


def _declaration(spec: object, origin: Origin, problems: list[BundleProblem]) -> Variable:
    if spec is None:
        return Variable()
    if not isinstance(spec, Mapping):
        message = (
            f"must be a mapping (got {shown(spec)}); declare it as "
            f"{origin.path[-1]}: {{default: ..., description: ...}}"
        )
        problems.append(BundleProblem(origin, format_path(origin.path), message))
        return Variable(spec, True)
    for key in spec:
        message = _declaration_key_problem(str(key), spec)
        if message:
            where = Origin(origin.source, (*origin.path, key))
            problems.append(BundleProblem(where, format_path(where.path), message, True))
    is_complex = spec.get("type") == "complex"
    lookup = Origin(origin.source, (*origin.path, "lookup")) if "lookup" in spec else None
    return Variable(spec.get("default"), "default" in spec, is_complex, lookup)


def _declaration_key_problem(key: str, spec: Mapping[object, object]) -> str:
    if key not in VARIABLE_KEYS:
        return f"unknown variable setting {key!r}{suggest(key, VARIABLE_KEYS)}"
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
    declared: dict[str, Variable], name: str, text: str, problems: list[BundleProblem]
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


def _typed(text: str, variable: Variable) -> object:
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


def fill_job(
    value: object,
    at: Loc,
    job: ComposedJob,
    context: ReferenceContext,
    problems: list[BundleProblem],
) -> object:
    """`value` with the references in all its strings filled in; reports those that fail."""
    if isinstance(value, str):
        try:
            return fill(value, context)
        except Unresolved as error:
            job.failed.append(at)
            problems.append(BundleProblem(job.origin(at), format_path(at), str(error)))
            return value
    if isinstance(value, dict):
        return {k: fill_job(v, (*at, k), job, context, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_job(v, (*at, i), job, context, problems) for i, v in enumerate(value)]
    return value


def fill(text: str, context: ReferenceContext) -> object:
    """`text` with its references filled in; a whole-string reference keeps its value's type.

    Raises:
        Unresolved: for the first reference that cannot be filled in.
    """
    matches = list(REFERENCE.finditer(text))
    if len(matches) == 1 and matches[0].group(0) == text:
        value = _resolve(matches[0].group(1), context)
        return text if value is _LITERAL else copy.deepcopy(value)
    return REFERENCE.sub(lambda match: _as_text(match, context), text)


def _as_text(match: re.Match[str], context: ReferenceContext) -> str:
    value = _resolve(match.group(1), context)
    if value is _LITERAL:
        return match.group(0)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


def _resolve(reference: str, context: ReferenceContext) -> object:
    """The value of `${reference}`, or `_LITERAL` for references headwater leaves alone."""
    if reference.startswith("var."):
        return _variable_value(reference, context)
    known = _known_references(context)
    if reference not in known:
        return _LITERAL
    value, missing = known[reference]
    if value is None:
        raise Unresolved(f"${{{reference}}}: {missing}")
    return value


def _workspace_paths(root: str, deployed: DeployedFolders | None) -> dict[str, tuple[str, str]]:
    """`${workspace.*_path}`: on a server, its folders for the deployed copy (as Databricks
    names the workspace's); here, the bundle's folder, with headwater's own in it."""
    if deployed is None:
        paths = {"root_path": root, "file_path": root,
                 "artifact_path": f"{root}/.headwater/artifacts",
                 "resource_path": f"{root}/.headwater/resources",
                 "state_path": f"{root}/.headwater/state"}
    else:
        top = deployed.root_dir
        paths = {"root_path": top, "file_path": deployed.file_dir,
                 "artifact_path": f"{top}/artifacts", "resource_path": f"{top}/resources",
                 "state_path": f"{top}/state"}
    return {f"workspace.{name}": (path, "") for name, path in paths.items()}


def _known_references(context: ReferenceContext) -> dict[str, tuple[object, str]]:
    """Every `${...}` headwater fills in besides variables, with its local meaning (see
    `BundleContext`), and what to do when it has no value."""
    here = context.bundle
    user, name = context.user, short_name(context.user)
    known: dict[str, tuple[object, str]] = {
        "bundle.target": (
            context.target,
            "no target is chosen: pass --target or mark a target default: true",
        ),
        "bundle.name": (context.bundle_name, "the bundle has no name: add bundle: {name: ...}"),
        "workspace.current_user.short_name": (name, ""),
        "workspace.current_user.userName": (user, ""),
        "workspace.current_user.displayName": (user, ""),
        "workspace.current_user.domain_friendly_name": (name, ""),
        "workspace.host": (here.host or "http://localhost", ""),
        **_workspace_paths(here.root, context.deployed),
    }
    for key in GIT_FIELDS:
        known[f"bundle.git.{key}"] = (here.git.get(key, ""), "")
    return known


GIT_FIELDS = ("branch", "actual_branch", "commit", "origin_url", "bundle_root_path")


def _variable_value(reference: str, context: ReferenceContext) -> object:
    name, fields = _variable_path(reference.removeprefix("var."))
    variable = context.variables.get(name)
    if variable is None:
        raise Unresolved(
            f"${{{reference}}}: unknown variable {name!r}{_known(name, context.variables)}"
        )
    if not variable.has_value and variable.lookup is not None:
        context.lookups_used.add(name)  # reported once, at the lookup, by `lookup_problems`
        return f"${{{reference}}}"
    if not variable.has_value:
        raise Unresolved(
            f"${{{reference}}}: variable {name!r} has no value; give it a "
            f"default, a value in the target's variables, or pass --var {name}=..."
        )
    if name in context.resolving:
        chain = " -> ".join([*context.resolving[context.resolving.index(name) :], name])
        raise Unresolved(f"${{{reference}}}: variables refer to each other in a cycle: {chain}")
    context.resolving.append(name)
    try:
        value = fill_value(variable.value, context)
    finally:
        context.resolving.pop()
    for part in fields:
        value = _step(value, part, reference, name)
    return value


_PATH_PART = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]")


def _variable_path(text: str) -> tuple[str, list[str | int]]:
    """`x.a[0].b` -> (`x`, [`a`, 0, `b`]): a complex variable's fields and list indexes."""
    head = re.match(r"[A-Za-z0-9_\-]+", text)
    name = head.group(0) if head else text
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(text, len(name)):
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return name, parts


def _step(value: object, part: str | int, reference: str, name: str) -> object:
    if isinstance(part, int):
        if not isinstance(value, list) or part >= len(value):
            size = f"a list of {len(value)}" if isinstance(value, list) else shown(value)
            raise Unresolved(f"${{{reference}}}: variable {name!r} has no item [{part}] "
                             f"(its value is {size})")
        return value[part]
    if not isinstance(value, Mapping) or part not in value:
        raise Unresolved(f"${{{reference}}}: variable {name!r} has no field {part!r}")
    return value[part]


def fill_value(value: object, context: ReferenceContext) -> object:
    """A variable's value with the references inside it filled in (raises `Unresolved`)."""
    if isinstance(value, str):
        return fill(value, context)
    if isinstance(value, dict):
        return {key: fill_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_value(item, context) for item in value]
    return value
