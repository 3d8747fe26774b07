"""Paths in a bundle's jobs, as the Databricks CLI translates them: from the file that declares
them, bounded by what the bundle syncs.

The CLI (`bundle/config/mutator/translate_paths.go`) reads a relative `notebook_path`,
`python_file`, SQL `file.path`, a dbt task's `project_directory`, a library's
`whl`/`jar`/`egg`/`requirements` and a local dependency of an environment (`./x.whl`,
`../dist/*.whl`, `-r ../requirements.txt`) relative to
the folder of the YAML file where the value is written (a target in `databricks.yml` overriding
a task of `resources/x.job.yml` writes from `databricks.yml`'s folder), and turns it into the
absolute path of that file in the workspace copy of the bundle. headwater does the same with the
bundle's folder on this machine: each such path becomes absolute. A path that leaves the sync
root (the bundle root, widened to take in every `sync.paths` folder) is an error there as here.
Paths of tasks that read from Git (`source: GIT`, or a job with `git_source`) and paths that are
already absolute, or are `${...}` references left as written, are left alone.

Pure: paths are POSIX text (`posixpath`), the folders are given in.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping

from headwater.core.bundle_model import BundleProblem, ComposedJob, Loc, as_list, as_mapping
from headwater.core.bundle_sync import BundleSync
from headwater.core.checks import format_path

__all__ = ["translate_paths"]

# Task fields that name one file or folder, inside the task-type section.
_TASK_FILES = (
    ("notebook_task", "notebook_path"),
    ("spark_python_task", "python_file"),
    ("sql_task", "file", "path"),
    ("dbt_task", "project_directory"),  # a folder (the CLI translates it as one)
)
_LIBRARY_FILES = ("whl", "jar", "egg", "requirements")


def translate_paths(
    job: ComposedJob,
    folders: Mapping[int, str],
    sync: BundleSync,
    problems: list[BundleProblem],
) -> list[str]:
    """Make every relative file path of `job` absolute, from the folder of the file declaring
    it, and placed where the files are when the job runs (`BundleSync.place`: a server's copy).

    Args:
        job: the composed job; its data is changed in place.
        folders: each source file's absolute folder, by the file's index.
        sync: what the bundle syncs; a path outside its root is reported in `problems`.
        problems: where a path that leaves the bound is reported, at the line it is written.

    Returns:
        the absolute paths on this machine of the files (or globs, or folders) it names.
    """
    named: list[str] = []
    data = as_mapping(job.data)
    job_reads_git = data.get("git_source") is not None
    for at, task in _tasks(data.get("tasks")):
        for parts in _TASK_FILES:
            section = _holding(task, parts)
            if section and not _reads_git(section, job_reads_git):
                named += _translate(job, (*at, *parts), folders, sync, problems)
        for index, library in enumerate(as_list(task.get("libraries"))):
            for key in _LIBRARY_FILES:
                if isinstance(library, dict) and _is_local(library.get(key)):
                    at_library = (*at, "libraries", index, key)
                    named += _translate(job, at_library, folders, sync, problems)
    for index, environment in enumerate(as_list(data.get("environments"))):
        spec = as_mapping(as_mapping(environment).get("spec"))
        for position, dependency in enumerate(as_list(spec.get("dependencies"))):
            if isinstance(dependency, str) and _local_dependency(dependency):
                at = ("environments", index, "spec", "dependencies", position)
                named += _translate(job, at, folders, sync, problems)
    return named


def _tasks(tasks: object) -> Iterator[tuple[Loc, dict[str, object]]]:
    """Every task with its path in the job, the nested task of a for-each included."""
    for index, task in enumerate(as_list(tasks)):
        if isinstance(task, dict):
            here: Loc = ("tasks", index)
            yield here, task
            nested = as_mapping(task.get("for_each_task")).get("task")
            if isinstance(nested, dict):
                yield (*here, "for_each_task", "task"), nested


def _holding(task: Mapping[str, object], parts: Loc) -> Mapping[str, object]:
    """The mapping that holds the path `parts` names, and its `source`: `sql_task.file`."""
    section = as_mapping(task.get(str(parts[0])))
    for name in parts[1:-1]:
        section = as_mapping(section.get(str(name)))
    return section


def _reads_git(section: Mapping[str, object], job_reads_git: bool) -> bool:
    source = section.get("source")
    return source == "GIT" or (source is None and job_reads_git)


def _is_local(value: object) -> bool:
    return (isinstance(value, str) and bool(value) and "://" not in value
            and not value.startswith(("/", "${", "dbfs:", "s3:", "gs:", "abfss:")))


def _local_dependency(text: str) -> bool:
    """A dependency written as a local path (`./x.whl`, `../dist/*.whl`, `-r ../req.txt`)."""
    path = text.removeprefix("-r ").strip() if text.startswith("-r ") else text
    return path.startswith(("./", "../")) or (
        _is_local(path) and path.endswith((".whl", ".txt")) and "/" in path)


def _translate(
    job: ComposedJob,
    at: Loc,
    folders: Mapping[int, str],
    sync: BundleSync,
    problems: list[BundleProblem],
) -> list[str]:
    container, key = _parent(job.data, at)
    written = _item(container, key)
    if not isinstance(written, str) or not _is_local(written):
        return []
    prefix = "-r " if written.startswith("-r ") else ""
    relative = written.removeprefix(prefix).strip()
    origin = job.origin(at)
    folder = folders.get(origin.source)
    if folder is None:
        return []
    absolute = posixpath.normpath(posixpath.join(folder, relative))
    bound = sync.root
    if posixpath.commonpath([absolute, bound]) != bound:
        message = (
            f"{written!r} (relative to {folder}) leaves the bundle's folder {bound}, the part "
            "of this machine the Databricks CLI would sync; move the file inside it, or add its "
            "folder to sync.paths"
        )
        problems.append(BundleProblem(origin, format_path(at), message))
        job.failed.append(at)
        return []
    if isinstance(container, dict):
        container[key] = prefix + sync.place(absolute)
    if isinstance(container, list) and isinstance(key, int):  # a dependency: a list item
        container[key] = prefix + sync.place(absolute)
    return [absolute]


def _item(container: object, key: object) -> object:
    """`container[key]` of a mapping or a list (a dependency is an item of a list)."""
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, list) and isinstance(key, int) and key < len(container):
        return container[key]
    return None


def _parent(data: object, at: Loc) -> tuple[object, object]:
    node = data
    for part in at[:-1]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None, at[-1]
    return node, at[-1]

