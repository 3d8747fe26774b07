"""Loading job files: JSON `JobSettings` bodies and YAML bundles, with every problem located.

A JSON file holds one `JobSettings`; its resource name is the file's stem. A YAML file uses the
Databricks bundle layout, `resources.jobs.<resource_name>: {JobSettings}`, with several jobs per
file; the `bundle`, `include`, `variables`, `workspace` and `targets` sections are parsed and kept.
The YAML files loaded together form one bundle: `core/bundle.py` applies its target, variables and
mode to the jobs before they are validated, and each problem in the result is reported where the
offending value is written (in the job, or in the target that overrode it). JSON files are plain
`JobSettings` bodies: no targets, variables or modes apply to them. Problems are collected over
all files and raised together as one `SpecError`: YAML ones at `file:line:col`, JSON ones at
`file: $.json.path`. A notebook, script, SQL file or dbt project a job names that is not there
is one of them (`core/load_code.py`), as the Databricks CLI refuses it.
"""

from __future__ import annotations

import glob
import json
import posixpath
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node

from headwater.core.bundle import (
    BundleContext,
    BundleProblem,
    BundleSource,
    ComposedJob,
    Composition,
    Origin,
    choose_target,
    compose_bundle,
)
from headwater.core.bundle_coerce import coerce
from headwater.core.bundle_model import as_mapping
from headwater.core.bundle_other import RESOURCE_TYPES, resource_type_message
from headwater.core.bundle_scopes import ScopeGrant
from headwater.core.bundle_sync import BundleSync
from headwater.core.checks import PathPart, check_job, format_path, parse_path, suggest
from headwater.core.checks_run_job import undeclared_child_parameters
from headwater.core.checks_warnings import (
    destination_warnings,
    job_warnings,
    written_case_warnings,
)
from headwater.core.deployment import bundle_key, file_key
from headwater.core.load_code import missing_code
from headwater.core.load_messages import describe, shown
from headwater.core.load_salvage import salvaged_findings
from headwater.core.load_yaml import (
    compose,
    construct,
    find_node,
    holds_anchors,
    position,
    scan,
    syntax_error,
)
from headwater.core.spec import TYPED_JSON, TYPED_JSON_ERRORS, JobSettings
from headwater.errors import Problem, SpecError

BUNDLE_SECTIONS = (
    "bundle",
    "include",
    "variables",
    "workspace",
    "targets",
    "resources",
    "sync",
    "artifacts",
    "permissions",
    "run_as",
    "presets",
    "experimental",
    "python",
    "scripts",
    "definitions",
)
JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yml", ".yaml")

# (path inside the job settings, point at the key rather than the value, message)
Finding = tuple[tuple[PathPart, ...], bool, str]
# Where a value of a Jobs API body's settings is in what the client sent, or None for one it
# did not send: `jobs/update` validates the job's stored settings with what it sent merged in.
SentAt = Callable[[tuple[PathPart, ...]], tuple[PathPart, ...] | None]


def sent_as_is(parts: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
    """Where a value of `jobs/create`, `jobs/reset` or `runs/submit` settings was sent: where
    it is, since the client sent all of them."""
    return parts


@dataclass(frozen=True)
class LoadedJob:
    """One valid job: its resource name (bundle key or JSON file stem), settings and file.

    `source` is the file the job is loaded from: a bundle's first file (`databricks.yml`),
    whose folder is where the job runs and its relative paths start, even for a job that an
    `include:`d file defines (`defined_in`). `target` is the bundle target its settings were
    made for (None: no target applied); `bundle` is the bundle's name (None for a plain job
    file).
    """

    resource_name: str
    settings: JobSettings
    source: Path
    target: str | None = None
    bundle: str | None = None
    defined_in: Path | None = None
    root_path: str | None = None  # loaded to deploy to a server: its `workspace.root_path`

    @property
    def deployment_key(self) -> str:
        """What names this job wherever it is deployed or run, as the Databricks CLI's
        deployment does: the bundle, its target, its root path on a server and the resource
        key (a plain job file: its path, which the caller makes absolute, and its name in the
        file)."""
        if self.bundle is not None:
            return bundle_key(self.bundle, self.target, self.resource_name, self.root_path)
        return file_key(self.source.as_posix(), self.resource_name)


@dataclass(frozen=True)
class BundleFile:
    """One loaded file: its jobs and its other top-level sections, kept as parsed."""

    source: Path
    sections: Mapping[str, object]
    jobs: tuple[LoadedJob, ...]


@dataclass(frozen=True)
class LoadedBundle:
    """What loading files gave: every file with its jobs, and the warnings to show the user
    (what the Databricks CLI accepts with a warning: resources headwater does not deploy,
    `include:` patterns that match nothing, ...)."""

    files: list[BundleFile]
    warnings: list[Problem]
    secret_scopes: tuple[str, ...] = ()  # made where the bundle runs or deploys
    bundle: str | None = None  # `bundle.name`; None: plain job files, not a bundle
    target: str | None = None  # the target applied (None: the bundle defines none)
    sync: BundleSync | None = None  # what a deploy to a server copies (None: plain job files)
    scope_grants: tuple[ScopeGrant, ...] = ()  # the secret scopes' ACL entries, put on deploy

    @property
    def jobs(self) -> list[LoadedJob]:
        return [job for bundle in self.files for job in bundle.jobs]

    @property
    def root_path(self) -> str | None:
        """Loaded to deploy to a server: the `workspace.root_path` its deployment is at."""
        deployed = self.sync.deployed if self.sync is not None else None
        return deployed.root_path if deployed is not None else None


@dataclass(frozen=True)
class PythonResource:
    """One resource a bundle's Python code defined, and where (`file:line:col`)."""

    kind: str  # the resource type: jobs, pipelines, ...
    key: str
    data: object
    where: str


@dataclass(frozen=True)
class PythonResources:
    """What running a bundle's `python.resources` functions gave: resources, or errors."""

    resources: list[PythonResource]
    errors: list[str]


# Runs a bundle's Python resource functions: (the bundle's first file, its `python` section,
# the target, the variables' values) -> the resources. An adapter: it starts a process.
PythonLoader = Callable[[Path, Mapping[str, object], str | None, Mapping[str, object]],
                        PythonResources]


@dataclass
class _FileResult:
    """What reading one file produced; `where` maps resource names to their places.

    A YAML file keeps its `document` (to report problems found later, at their line) and its
    top-level `data` (for the bundle); its jobs are validated once the bundle is composed.
    """

    path: Path
    problems: list[Problem] = field(default_factory=list)
    sections: dict[str, object] = field(default_factory=dict)
    jobs: list[LoadedJob] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)
    document: _YamlFile | None = None
    data: dict[str, object] = field(default_factory=dict)
    folder: Path | None = None  # where its relative paths start, if not its own folder
    warnings: list[Problem] = field(default_factory=list)  # a JSON file's (YAML: document's)

    def all_problems(self) -> list[Problem]:
        return self.document.problems() if self.document else self.problems

    def all_warnings(self) -> list[Problem]:
        return self.document.warnings() if self.document else self.warnings


def load_file(
    path: Path,
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
) -> list[LoadedJob]:
    """The jobs defined in one JSON or YAML file.

    Raises:
        SpecError: listing every problem of the file.
    """
    return load_files([path], target, variables, user)


def load_files(
    paths: Sequence[Path],
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
    context: BundleContext | None = None,
) -> list[LoadedJob]:
    """The jobs defined in several files, in file order.

    Args:
        paths: JSON (`.json`) and YAML bundle (`.yml`, `.yaml`) files; the YAML ones form one
            bundle (targets and variables defined in one file apply to the jobs of all).
        target: the bundle target to apply, which one of the files must define; None applies
            the target marked `default: true`, or the only one.
        variables: bundle variable values from the command line (`--var name=value`), which
            win over the target's values and the defaults.
        user: the current user's name, for `${workspace.current_user.short_name}`,
            `${workspace.current_user.userName}` and the `mode: development` name prefix.
        context: what `${workspace.*}` and `${bundle.git.*}` mean here; None: the bundle's
            folder, no host, no Git.

    Raises:
        SpecError: listing every problem of every file, not only the first.
    """
    return load_bundle(paths, target, variables, context or BundleContext(user=user),
                       check_code=False).jobs


def read_bundles(
    paths: Sequence[Path],
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = "local",
) -> list[BundleFile]:
    """Like `load_files`, but keeps each file's top-level sections (`bundle`, `targets`, ...)."""
    return load_bundle(paths, target, variables, BundleContext(user=user), check_code=False).files


def load_bundle(
    paths: Sequence[Path],
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    context: BundleContext | None = None,
    python: PythonLoader | None = None,
    check_code: bool = True,
) -> LoadedBundle:
    """Like `load_files`, with each file's sections and the warnings to show, and (with
    `check_code`) a problem for each notebook, script, SQL file or dbt project a job names
    that is not there (`core/load_code.py`), as every command of the Databricks CLI that
    loads a bundle refuses it. `load_files` leaves that out: it reads a job's design
    (`simulate`, `headwater.testing`), whose code need not be written yet.

    The files a bundle names under `include:` (glob patterns relative to it) join the bundle,
    and so do the resources its `python:` section defines, through `python` (without one,
    such a bundle is an error that says what is missing). The folder of the first YAML file
    is the bundle's root: `${workspace.file_path}`, where its jobs run, the start of the paths
    of Python-defined jobs, and (widened by `sync.paths`) the bound of all relative paths.

    Raises:
        SpecError: listing every problem of every file, not only the first.
    """
    context = context or BundleContext()
    results = _read_with_includes(paths, context.destinations, check_code)
    results += _python_results(results, target, python)
    yaml_results = [(i, r) for i, r in enumerate(results) if r.document]
    root_file = yaml_results[0][1].path if yaml_results else None
    root = _posix(root_file.parent) if root_file else "."
    context = replace(context, root=root)
    sources = [BundleSource(i, r.data, _posix(r.folder or r.path.parent))
               for i, r in yaml_results]
    composition = compose_bundle(sources, target, variables, context.user, context)
    for job in composition.jobs:
        _validate_composed(results, job, composition, root_file, context.destinations,
                           check_code)
    _warn_undeclared_parameters(results, composition)
    command_line = [_report(results, problem) for problem in composition.problems]
    problems = [problem for result in results for problem in result.all_problems()]
    problems += [problem for problem in command_line if problem is not None]
    problems += _duplicate_names(results)
    if problems:
        raise SpecError(problems)
    files = [BundleFile(r.path, r.sections, tuple(r.jobs)) for r in results]
    return LoadedBundle(files, [w for result in results for w in result.all_warnings()],
                        composition.secret_scopes, composition.bundle, composition.target,
                        composition.sync, composition.scope_grants)


def _python_results(results: Sequence[_FileResult], target: str | None,
                    python: PythonLoader | None) -> list[_FileResult]:
    """A result per resource the root file's `python.resources` functions define."""
    root = next((result for result in results if result.document), None)
    if root is None or root.document is None:
        return []
    experimental = root.data.get("experimental")
    conf = root.data.get("python") or (experimental.get("python")
                                       if isinstance(experimental, dict) else None)
    if not isinstance(conf, dict) or not conf.get("resources"):
        return []
    node = find_node(root.document.root, ["python"] if "python" in root.data
                     else ["experimental", "python"])
    if python is None:
        root.document.report(node, "python", "jobs defined in Python need the databricks-bundles "
                                             "package, which this caller cannot run")
        return []
    sources = [BundleSource(i, r.data) for i, r in enumerate(results) if r.document]
    chosen = choose_target(sources, target, [])
    declared = as_mapping(root.data.get("variables"))
    values = {name: as_mapping(spec).get("default") for name, spec in declared.items()}
    loaded = python(root.path, conf, chosen, values)
    for error in loaded.errors:
        root.document.report(node, "python.resources", error)
    return [_python_result(root.path.parent, resource) for resource in loaded.resources]


def _python_result(folder: Path, resource: PythonResource) -> _FileResult:
    """A Python-defined resource as a YAML file of its own, located where Python defined it."""
    text = yaml.safe_dump({"resources": {resource.kind: {resource.key: resource.data}}})
    file = Path(resource.where.rsplit(":", 2)[0])
    result = _read_yaml(file, text)
    if result.document is not None:
        result.document = _PlacedYamlFile(file, result.document.root, place=resource.where)
        result.document.located = []  # a dump of valid data: nothing to report of its own
        _read_bundle(result.document, result.data, result)
    result.folder = folder
    return result


def _posix(folder: Path) -> str:
    """A folder as absolute POSIX text, normalised without following links."""
    return posixpath.normpath(folder.absolute().as_posix())


def _read_with_includes(paths: Sequence[Path], destinations: Collection[str] | None = None,
                        check_code: bool = False) -> list[_FileResult]:
    """Read `paths`, then the files their `include:` patterns name, each file once."""
    results: list[_FileResult] = []
    seen: set[Path] = set()
    pending = list(paths)
    while pending:
        path = pending.pop(0)
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        result = _read(path, destinations, check_code)
        results.append(result)
        pending += _included(result)
    return results


def _included(result: _FileResult) -> list[Path]:
    """The files matching a YAML bundle's `include:` patterns; a pattern matching none is a
    problem of that file."""
    patterns = result.data.get("include") if result.document else None
    if not isinstance(patterns, list):
        return []
    document = result.document
    assert document is not None
    found: list[Path] = []
    for index, pattern in enumerate(patterns):
        matches = sorted(_glob(result.path.parent, str(pattern)))
        if not matches:  # the Databricks CLI goes on without a word; a hint helps a typo
            document.warn(find_node(document.root, ["include", index]), f"include[{index}]",
                          f"the pattern {pattern!r} matches no file next to "
                          f"{result.path.name}")
        found += [m for m in matches if m.suffix.lower() in YAML_SUFFIXES]
    return found


def _glob(folder: Path, pattern: str) -> list[Path]:
    """The files `pattern` names from `folder`; `../` and absolute patterns work as in the CLI."""
    if Path(pattern).is_absolute():
        return [Path(m) for m in glob.glob(pattern)]
    return [Path(m) for m in glob.glob(str(folder / pattern))]


def _read(path: Path, destinations: Collection[str] | None = None, check_code: bool = False
          ) -> _FileResult:
    suffix = path.suffix.lower()
    if suffix not in JSON_SUFFIXES + YAML_SUFFIXES:
        message = f"unsupported file type {suffix or '(none)'!r}; use .json, .yml or .yaml"
        return _FileResult(path, [Problem(str(path), "", message)])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _FileResult(path, [Problem(str(path), "", f"cannot read the file: {error}")])
    return (_read_json(path, text, destinations, check_code) if suffix in JSON_SUFFIXES
            else _read_yaml(path, text))


def validate(data: object, destinations: Collection[str] | None = None,
             sent: SentAt | None = None) -> tuple[JobSettings | None, list[Finding]]:
    """Validate one job's data; the settings if valid, else None, and every finding.

    When fields are invalid, the graph is still checked on what remains valid, so that one
    report names every problem. With `destinations` (the configured notification destination
    ids), a webhook id that is not one of them is a finding too. With `sent`, `data` is a Jobs
    API body, validated as typed JSON (`TYPED_JSON`) so that the model's one report also holds
    each number or boolean given for a string, and a for-each's `inputs` past the API's limit,
    where `sent` says the client wrote it; a value it did not send (stored before) is not held
    to that.
    """
    try:
        settings = JobSettings.model_validate(data, context=None if sent is None else TYPED_JSON)
    except ValidationError as error:
        return _refused(data, error, destinations, sent or sent_as_is)
    checked = [(parse_path(path), False, message)
               for path, message in check_job(settings, destinations)]
    return (None if checked else settings), checked


def _refused(data: object, error: ValidationError, destinations: Collection[str] | None,
             sent: SentAt) -> tuple[JobSettings | None, list[Finding]]:
    """`validate`'s answer for `data` that the model refused with `error`: its problems, then
    what remains valid checked as a graph, then what only typed JSON gets wrong (the order
    of one report)."""
    details = error.errors()
    typed: list[Finding] = [
        (tuple(detail["loc"]), False, detail["msg"]) for detail in details
        if detail["type"] in TYPED_JSON_ERRORS and sent(tuple(detail["loc"])) is not None]
    if all(detail["type"] in TYPED_JSON_ERRORS for detail in details):
        # Valid but for how it was typed (or for values stored before): read as a job file
        # reads it, so that its graph and destinations are checked as those of a valid body.
        settings, checked = validate(data, destinations)
        return (None if typed else settings), checked + typed
    findings: list[Finding] = []
    for detail in details:
        if detail["type"] not in TYPED_JSON_ERRORS:
            loc, message = describe(detail, JobSettings)
            findings.append((loc, detail["type"] == "extra_forbidden", message))
    findings += [(loc, False, message)
                 for loc, message in salvaged_findings(data, destinations)]
    return None, findings + typed


def settings_from_body(data: object, field: str = "",
                       destinations: Collection[str] | None = None, typed_json: bool = False,
                       sent: SentAt = sent_as_is) -> JobSettings:
    """The settings of a request body (`jobs/create`, `new_settings` of `jobs/reset`).

    Each problem is located by its JSON path in the request (`$.new_settings.tasks[0]...`):
    where `sent` says the client wrote the value (`jobs/update` merges what it sent into the
    job's settings, so its third task may be the first it sent), or, for a value the job
    already had, as the job's own (`the job's $.tasks[2]...`). With `destinations` (the
    server's configured ids), an unknown webhook id is one. With `typed_json`, the body is a
    Jobs API body, typed JSON where it was sent (see `validate`); without it, it is read as
    leniently as a job file (a deployment of files, the web editor).

    Raises:
        SpecError: listing every problem, not only the first.
    """
    settings, findings = validate(data, destinations, sent if typed_json else None)
    if settings is not None:
        return settings
    prefix = (field,) if field else ()
    raise SpecError([_sent_problem(prefix, parts, message, sent)
                     for parts, _, message in findings])


def _sent_problem(prefix: tuple[PathPart, ...], parts: tuple[PathPart, ...], message: str,
                  sent: SentAt) -> Problem:
    at = sent(parts) if parts else parts
    if at is None:
        return Problem(f"the job's {_json_where(None, parts)}", format_path(parts), message)
    return Problem(_json_where(None, (*prefix, *at)), format_path(at), message)


# JSON ---------------------------------------------------------------------------------------


class _DuplicateKeys(dict[str, object]):
    """A JSON object that had repeated keys; `duplicates` names them (the last value wins)."""

    duplicates: list[str]


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) == len(keys):
        return dict(pairs)
    found = _DuplicateKeys(pairs)
    found.duplicates = sorted({key for key in keys if keys.count(key) > 1})
    return found


def _json_duplicates(value: object, parts: tuple[PathPart, ...]) -> list[tuple[PathPart, ...]]:
    found: list[tuple[PathPart, ...]] = []
    if isinstance(value, _DuplicateKeys):
        found += [(*parts, key) for key in value.duplicates]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _json_duplicates(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _json_duplicates(item, (*parts, index))
    return found


def _json_where(path: Path | None, parts: Sequence[PathPart]) -> str:
    inner = format_path(parts)
    where = "$" + (f".{inner}" if inner else "")
    return where if path is None else f"{path}: {where}"


def _read_json(path: Path, text: str, destinations: Collection[str] | None = None,
               check_code: bool = False) -> _FileResult:
    result = _FileResult(path)
    try:
        data = json.loads(text, object_pairs_hook=_json_object)
    except json.JSONDecodeError as error:
        where = f"{path}:{error.lineno}:{error.colno}"
        result.problems.append(Problem(where, "", f"invalid JSON: {error.msg}"))
        return result
    duplicates = _json_duplicates(data, ())
    for parts in duplicates:
        message = f"duplicate key {parts[-1]!r}; keep only one of them"
        result.problems.append(Problem(_json_where(path, parts), format_path(parts), message))
    if duplicates:
        return result
    body, prefix = _settings_part(data)
    settings, findings = validate(body)
    if check_code:
        findings += _missing_code(body, settings, path.parent, None, findings)
    for parts, _, message in findings:
        parts = (*prefix, *parts)
        result.problems.append(Problem(_json_where(path, parts), format_path(parts), message))
    if settings is not None:
        result.jobs.append(LoadedJob(path.stem, settings, path))
        result.where[path.stem] = str(path)
        for where, message in [*job_warnings(settings),
                               *_destination_warnings(settings, destinations)]:
            parts = (*prefix, *parse_path(where))
            result.warnings.append(Problem(_json_where(path, parts), format_path(parts), message))
    return result


# What `databricks jobs get` prints: a `Job`, whose `settings` are the job's; a job exported
# from a workspace that way is read as its settings (its id and creator are the workspace's).
_JOB_DOCUMENT_KEYS = frozenset({"job_id", "creator_user_name", "run_as_user_name",
                                "created_time"})


def _settings_part(data: object) -> tuple[object, tuple[PathPart, ...]]:
    """The `JobSettings` body of a JSON file, and its path in the file: the whole file, or
    the `settings` of a `Job` document."""
    if isinstance(data, dict) and isinstance(data.get("settings"), dict) and \
            _JOB_DOCUMENT_KEYS & data.keys():
        return data["settings"], ("settings",)
    return data, ()


# YAML ---------------------------------------------------------------------------------------


@dataclass
class _YamlFile:
    """One YAML document being read; collects problems with their positions for sorting."""

    path: Path
    root: Node
    located: list[tuple[tuple[int, int], Problem]] = field(default_factory=list)
    strict_wheres: set[str] = field(default_factory=set)  # duplicate keys, yes/no words
    warned: list[tuple[tuple[int, int], Problem]] = field(default_factory=list)

    def where(self, node: Node) -> str:
        line, column = position(node)
        return f"{self.path}:{line}:{column}"

    def report(self, node: Node, path: str, message: str) -> None:
        if self.where(node) not in self.strict_wheres:  # `retry: yes` is reported once
            self.located.append((position(node), Problem(self.where(node), path, message)))

    def warn(self, node: Node, path: str, message: str) -> None:
        """Note something the Databricks CLI accepts with a warning; loading goes on."""
        self.warned.append((position(node), Problem(self.where(node), path, message)))

    def problems(self) -> list[Problem]:
        return [problem for _, problem in sorted(self.located, key=lambda item: item[0])]

    def warnings(self) -> list[Problem]:
        return [problem for _, problem in sorted(self.warned, key=lambda item: item[0])]


@dataclass
class _PlacedYamlFile(_YamlFile):
    """A document made from data defined elsewhere: every problem is reported at `place`."""

    place: str = ""

    def where(self, node: Node) -> str:
        return self.place


def _read_yaml(path: Path, text: str) -> _FileResult:
    result = _FileResult(path)
    try:
        root = compose(text)
        if root is None:
            message = "the file is empty; define jobs under resources.jobs.<name>"
            result.problems.append(Problem(str(path), "", message))
            return result
        issues = scan(root)
        data = construct(root, check=False)
    except yaml.YAMLError as error:
        result.problems.append(_yaml_syntax_problem(path, error, text))
        return result
    document = _YamlFile(path, root)
    for issue in issues:  # first, so they win over pydantic's view of the same place
        line, column = issue.line, issue.column
        where = f"{path}:{line}:{column}"
        problem = Problem(where, _job_relative(issue.path), issue.message)
        document.located.append(((line, column), problem))
        document.strict_wheres.add(where)
    result.document = document
    _read_bundle(document, data, result)
    return result


def _job_relative(parts: Sequence[PathPart]) -> str:
    """`resources.jobs.etl.tasks[0]` -> `tasks[0]`, like the paths of the job's other problems."""
    inside_job = len(parts) > 3 and tuple(parts[:2]) == ("resources", "jobs")
    return format_path(parts[3:] if inside_job else parts)


def _yaml_syntax_problem(path: Path, error: yaml.YAMLError, text: str) -> Problem:
    at, message = syntax_error(error, text)
    return Problem(f"{path}:{at[0]}:{at[1]}" if at is not None else str(path), "", message)


def _read_bundle(document: _YamlFile, data: object, result: _FileResult) -> None:
    if not isinstance(data, dict) or not isinstance(document.root, MappingNode):
        message = f"must be a mapping with resources.jobs.<name> (got {shown(data)})"
        document.report(document.root, "", message)
        return
    _check_sections(document, data)
    result.sections = {str(k): v for k, v in data.items() if k != "resources"}
    result.data = {str(key): value for key, value in data.items()}
    for name in _jobs_section(document, data.get("resources")):
        name_node = find_node(document.root, ["resources", "jobs", str(name)], key=True)
        result.where[str(name)] = document.where(name_node)


def _check_sections(document: _YamlFile, data: dict[object, object]) -> None:
    for key in data:
        name = str(key)
        if name in BUNDLE_SECTIONS:
            continue
        node = find_node(document.root, [name], key=True)
        if holds_anchors(document.root, name):
            document.warn(node, name, f"unknown section {name!r}: it holds YAML anchors that "
                                      "other sections use, and is otherwise ignored (the "
                                      "Databricks CLI warns too; the CLI's own place for "
                                      "anchors is the top-level section definitions)")
            continue
        if name in JobSettings.model_fields:
            message = (
                f"{name!r} is a job setting; in a YAML file jobs live under "
                "resources.jobs.<name>: move the job there"
            )
        else:
            message = f"unknown section {name!r}{suggest(name, BUNDLE_SECTIONS)}"
        document.report(node, name, message)


def _jobs_section(document: _YamlFile, resources: object) -> dict[object, object]:
    if resources is None:
        return {}
    node = find_node(document.root, ["resources"])
    if not isinstance(resources, dict):
        document.report(node, "resources", f"must be a mapping (got {shown(resources)})")
        return {}
    for key in resources:
        if key not in RESOURCE_TYPES:
            key_node = find_node(document.root, ["resources", str(key)], key=True)
            document.report(key_node, f"resources.{key}", resource_type_message(str(key)))
    jobs = resources.get("jobs")
    if jobs is None or isinstance(jobs, dict):
        return jobs or {}
    jobs_node = find_node(document.root, ["resources", "jobs"])
    document.report(jobs_node, "resources.jobs", f"must be a mapping (got {shown(jobs)})")
    return {}


# Across files ---------------------------------------------------------------------------------


def _validate_composed(
    results: Sequence[_FileResult], job: ComposedJob, composition: Composition,
    root_file: Path | None, destinations: Collection[str] | None = None,
    check_code: bool = False,
) -> None:
    """Validate one composed job; report each finding where its value is written (with
    `check_code`, each code file it names that is not there too)."""
    data = coerce(JobSettings, job.data)
    settings, findings = validate(data)
    result = results[job.source]
    if check_code:
        findings += _missing_code(data, settings, (root_file or result.path).parent,
                                  composition.sync, findings)
    for parts, at_key, message in findings:
        if any(parts[: len(failed)] == failed for failed in job.failed):
            continue  # a reference there could not be filled in, and that is reported already
        if not parts:  # the job as a whole: named by where it is written, not by ""
            origin = job.origin(parts)
            _report_at(results, origin, at_key, format_path(origin.path),
                       _whole_job_message(job, message))
            continue
        _report_at(results, job.origin(parts), at_key, format_path(parts), message)
    if job.resource_name not in result.where:  # defined by the target alone
        _report_where(results, job)
    if settings is None or job.failed:
        return
    for path, message in [*written_case_warnings(job.data), *job_warnings(settings),
                          *_destination_warnings(settings, destinations)]:
        _warn_at(results, job.origin(parse_path(path)), path, message)
    deployed = composition.sync.deployed if composition.sync is not None else None
    result.jobs.append(LoadedJob(job.resource_name, settings, root_file or result.path,
                                 composition.target, composition.bundle, result.path,
                                 deployed.root_path if deployed is not None else None))


def _destination_warnings(settings: JobSettings, destinations: Collection[str] | None
                          ) -> list[tuple[str, str]]:
    """The webhook ids the configuration file read here (`destinations`; None: there is
    none) does not define: a warning, as the job may run where another file defines them
    (`checks_warnings.destination_warnings`)."""
    return [] if destinations is None else destination_warnings(settings, destinations)


def _missing_code(data: object, settings: JobSettings | None, start: Path,
                  sync: BundleSync | None, findings: Sequence[Finding]) -> list[Finding]:
    """Each code file the job names that is not there (`core/load_code.py`), but at a path
    that has a finding already: one that leaves the job's folder is not looked for."""
    named = {parts for parts, _, _ in findings}
    return [(parts, False, message) for parts, message in
            missing_code(data if settings is None else settings, start, sync)
            if parts not in named]


def _warn_undeclared_parameters(results: Sequence[_FileResult], composition: Composition
                                ) -> None:
    """Warn where a Run Job task gives a parameter that its child, a job loaded here, does
    not declare (`core/checks_run_job.py`)."""
    loaded = {job.resource_name: job.settings for result in results for job in result.jobs}
    composed = {job.resource_name: job for job in composition.jobs}
    for resource, path, message in undeclared_child_parameters(loaded):
        if (job := composed.get(resource)) is not None:
            _warn_at(results, job.origin(parse_path(path)), path, message, at_key=True)


def _whole_job_message(job: ComposedJob, message: str) -> str:
    """What is wrong with a job that is no mapping at all, and the likely fix: most often a
    job's field indented too little, which the bundle then reads as a job of its own."""
    if isinstance(job.data, dict):
        return message
    name = job.resource_name
    if name in JobSettings.model_fields:
        return (f"{message}: {name!r} is a field of a job, read here as a job of its own; "
                "indent it under the key of the job it belongs to")
    return (f"{message}; write the job's settings (name: ..., tasks: [...]) indented under "
            f"{name!r}")


def _report_where(results: Sequence[_FileResult], job: ComposedJob) -> None:
    document = results[job.source].document
    if document is not None:
        node = find_node(document.root, job.origins[()].path, key=True)
        results[job.source].where[job.resource_name] = document.where(node)


def _report(results: Sequence[_FileResult], problem: BundleProblem) -> Problem | None:
    """Report a bundle problem in its file; one from the command line is returned instead."""
    if problem.origin is None:
        return Problem("", problem.path, problem.message)
    if problem.warning:
        _warn_at(results, problem.origin, problem.path, problem.message, problem.at_key)
        return None
    _report_at(results, problem.origin, problem.at_key, problem.path, problem.message)
    return None


def _warn_at(results: Sequence[_FileResult], origin: Origin, path: str, message: str,
             at_key: bool = False) -> None:
    document = results[origin.source].document
    if document is not None:
        document.warn(find_node(document.root, origin.path, key=at_key), path, message)


def _report_at(
    results: Sequence[_FileResult], origin: Origin, at_key: bool, path: str, message: str
) -> None:
    document = results[origin.source].document
    if document is not None:  # always: origins are in YAML files
        node = find_node(document.root, origin.path, key=at_key)
        document.report(node, path, message)


def _duplicate_names(results: Sequence[_FileResult]) -> list[Problem]:
    first_where: dict[str, str] = {}
    problems: list[Problem] = []
    for result in results:
        for job in result.jobs:
            where = result.where.get(job.resource_name, str(result.path))
            first = first_where.setdefault(job.resource_name, where)
            if first != where:
                message = (
                    f"job {job.resource_name!r} is also defined at {first}; resource names "
                    "must be unique across the files loaded together"
                )
                problems.append(Problem(where, f"resources.jobs.{job.resource_name}", message))
    return problems
