"""A job's `environment_variables`: named sets of variables, inline and from `.env` files, that
a task selects with `environment_variables_key` and finds in its process's environment.

As the Jobs API defines them (`JobEnvironmentVariablesSpec`): an entry's `variables` (at most
20; names `^[A-Za-z_][A-Za-z0-9_]*$` of 1 to 256 characters; values of at most 512 characters)
win over its `files` (at most 5, the later file winning on a duplicate name), and what the
runtime sets wins over both (here: the run's parameters and context, `HEADWATER_*`). A file is
read when the attempt starts, not when the job is saved; each line is `KEY=VALUE` (no quotes,
escapes or interpolation: the value is the rest of the line), or empty, or a `#` comment; any
other line, a file over 32 KiB or a line over 1 KiB fails the attempt, naming file and line.

On Databricks the files are `/Workspace/...` or `/Volumes/...` paths; here they are read as
the job's code is, from the job file's folder (a bundle's `${workspace.file_path}/...` is that
folder). This module checks the settings and parses files; the engine reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from headwater.core.job_paths import (
    WORKSPACE_PREFIXES,
    leaves_its_folder,
    workspace_path_message,
)
from headwater.core.spec import JobSettings, Task
from headwater.core.spec_common import scalar_to_text
from headwater.core.spec_job import EnvironmentVariablesSpec
from headwater.errors import InvalidRequest

__all__ = ["EnvFileError", "check_environment_variables", "cluster_variables", "merged_variables",
           "parse_env_file", "selected_entry"]

Finding = tuple[str, str]  # (path, message)

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
MAX_VALUE_CHARS = 512
MAX_FILE_BYTES = 32 * 1024
MAX_LINE_BYTES = 1024
class EnvFileError(InvalidRequest):
    """Raised for a `.env` file that breaks the format or its limits (`file:line: ...`)."""


def check_environment_variables(settings: JobSettings,
                                tasks: Iterable[tuple[str, Task]]) -> Iterator[Finding]:
    """Each entry defined once, with valid names, values and file paths; each task's
    `environment_variables_key` naming an entry."""
    defined: list[str] = []
    for index, entry in enumerate(settings.environment_variables):
        path = f"environment_variables[{index}]"
        key = entry.environment_variables_key
        if key in defined:
            yield f"{path}.environment_variables_key", (
                f"environment variables {key!r} are defined twice; give each entry its own key")
        defined.append(key)
        if entry.spec is not None:
            yield from _variables(f"{path}.spec.variables", entry.spec.variables)
            yield from _files(f"{path}.spec.files", entry.spec.files)
    for path, task in tasks:
        wanted = task.environment_variables_key
        if wanted is not None and wanted not in defined:
            from headwater.core.checks import suggest  # checks imports this module

            yield f"{path}.environment_variables_key", (
                f"unknown environment variables {wanted!r}{suggest(wanted, defined)}; define "
                "them under `environment_variables:` with their `spec`")


def _variables(path: str, variables: Mapping[str, str]) -> Iterator[Finding]:
    for name, value in variables.items():
        if not NAME.fullmatch(name):
            yield f"{path}.{name}", (
                f"{name!r} is not a variable name: start with a letter or '_', then letters, "
                "digits and '_' only, at most 256 characters")
        elif len(value) > MAX_VALUE_CHARS:
            yield f"{path}.{name}", (
                f"the value has {len(value):,} characters; a variable holds at most "
                f"{MAX_VALUE_CHARS} (put a longer one in a file the task reads)")


def _files(path: str, files: Sequence[str]) -> Iterator[Finding]:
    for index, written in enumerate(files):
        if written.startswith(WORKSPACE_PREFIXES):
            yield f"{path}[{index}]", workspace_path_message(written, "reads .env files")
        elif leaves_its_folder(written):
            yield f"{path}[{index}]", (
                f"{written!r} leaves the job file's folder; move the file inside it")


def selected_entry(settings: JobSettings, task: Task) -> EnvironmentVariablesSpec | None:
    """The `spec` of the entry the task selects (empty when the entry has none); None for
    a task that selects none.

    Raises:
        InvalidRequest: for an entry the job does not define.
    """
    key = task.environment_variables_key
    if key is None:
        return None
    for entry in settings.environment_variables:
        if entry.environment_variables_key == key:
            return entry.spec or EnvironmentVariablesSpec()
    raise InvalidRequest(f"task {task.task_key!r} selects environment variables {key!r}, which "
                         "the job does not define")


def parse_env_file(content: bytes, source: str) -> dict[str, str]:
    """The variables of a `.env` file's `content`, in order (a later line wins).

    Raises:
        EnvFileError: for a file over 32 KiB, a line over 1 KiB, or a line that is not
            `KEY=VALUE`, an empty line or a `#` comment.
    """
    if len(content) > MAX_FILE_BYTES:
        raise EnvFileError(f"{source}: the file is {len(content):,} bytes; a .env file holds "
                           f"at most {MAX_FILE_BYTES:,}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EnvFileError(f"{source}: not UTF-8 text ({error.reason} at byte "
                           f"{error.start})") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            raise EnvFileError(f"{source}:{number}: the line is over {MAX_LINE_BYTES:,} bytes")
        if not line.strip() or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not equals or not NAME.fullmatch(name):
            raise EnvFileError(
                f"{source}:{number}: {line[:60]!r} is not KEY=VALUE (a name of letters, digits "
                "and '_', then '=', then the value to the end of the line; no spaces, quotes "
                "or `export`)")
        found[name] = value
    return found


def cluster_variables(new_cluster: Mapping[str, object]) -> dict[str, str]:
    """A cluster's `spark_env_vars`: on Databricks every process of the cluster has them, so
    here every attempt on it does, under the job's `environment_variables`. A value that is
    `{{secrets/<scope>/<key>}}` is resolved where the attempt starts (`runtime/secret_store`)."""
    variables = new_cluster.get("spark_env_vars")
    if not isinstance(variables, dict):
        return {}
    return {str(name): str(scalar_to_text(value)) for name, value in variables.items()}


def merged_variables(files: Iterable[Mapping[str, str]],
                     inline: Mapping[str, str]) -> dict[str, str]:
    """The files' variables in order (a later file wins), then the inline ones over them."""
    merged: dict[str, str] = {}
    for variables in files:
        merged.update(variables)
    merged.update(inline)
    return merged
