"""Task environments: a task that names a job environment runs in a virtual environment of its
own, holding that environment's `dependencies` (pip requirement lines).

One environment is built per distinct spec and reused: its directory is
`<HEADWATER_HOME or job directory/.headwater>/envs/<hash>/`, the hash being that of the spec's
canonical JSON, of the interpreter's version (a venv is tied to its Python), and of the content
of each local file a dependency installs from (a wheel rebuilt under the same name and version
is new code: it gets a new environment, as a deploy installs the new artifact on Databricks).
The build happens in the attempt's own process, never in the engine: a runner only wraps the
attempt's argv,

    python -m headwater.entrypoints.environment ENV_DIR KEY SPEC_JSON -- ENV_DIR/bin/python ARGS...

and `headwater.entrypoints.environment` builds the environment if it is missing (under a lock, once
for concurrent attempts), records `setup_seconds` in result.json, then becomes the task's
process with `exec`.

The venv is clean: only the declared dependencies, and headwater's own package (so that
`headwater.runtime` and the runners' child entry points import). Whatever else the task's child
imports must be declared: `duckdb` for a SQL task or a notebook's `%sql` cells on the embedded
warehouse, `sqlalchemy` and a driver for another warehouse, `nbclient` and `ipykernel` for an
`.ipynb` notebook, the wheel of a wheel task.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from headwater.core.spec import Task
from headwater.errors import InvalidRequest
from headwater.ports import TaskContext

__all__ = ["ENTRY_MODULE", "Environments", "environment_hash", "environment_python",
           "local_files", "wrap_argv"]

ENTRY_MODULE = "headwater.entrypoints.environment"


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def environment_hash(spec: Mapping[str, object], python: Sequence[int] = sys.version_info[:2],
                     files: Mapping[str, str] | None = None) -> str:
    """The name of the environment's directory: 16 hex digits of a SHA-256 of the spec, and
    of `files` (a digest of each local file a dependency line installs from) if any."""
    identity = {"python": ".".join(str(part) for part in python), "spec": spec}
    payload = _canonical({**identity, "files": files} if files else identity)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def local_files(dependencies: Sequence[str], workdir: Path) -> dict[str, str]:
    """Each dependency line that installs from a file here (a wheel, an sdist, the
    requirements file of `-r FILE`, absolute or relative to the job's directory), with a
    digest of that file's content."""
    found = {}
    for line in dependencies:
        name = line[2:].strip() if line.startswith("-r") else line.strip()
        path = workdir / name  # an absolute name stays itself
        try:
            if name and path.is_file():
                stat = path.stat()
                found[line] = _digest(str(path), stat.st_size, stat.st_mtime_ns)
        except (OSError, ValueError):
            continue  # not a file name (pip reads the line), or unreadable: pip will say
    return found


@lru_cache(maxsize=256)
def _digest(path: str, size: int, modified_ns: int) -> str:
    """A SHA-256 of the file; cached by size and time modified, as a launch asks again."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def environment_python(directory: Path) -> Path:
    """The interpreter of the environment built in `directory`."""
    return directory / "bin" / "python"


def _dependencies(spec: Mapping[str, object], task_key: str, key: str) -> list[str]:
    """The spec's requirement lines, checked: strings, one line each."""
    dependencies = spec.get("dependencies") or []
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise InvalidRequest(f"task {task_key!r}: environment {key!r}: spec.dependencies must "
                             "be a list of pip requirement strings")
    for dependency in dependencies:
        if "\n" in dependency or "\r" in dependency or "\0" in dependency:
            raise InvalidRequest(f"task {task_key!r}: environment {key!r}: dependency "
                                 f"{dependency!r} must be a single requirement line")
    return [line for dependency in dependencies for line in _expanded(dependency)]


def _expanded(dependency: str) -> list[str]:
    """A wheel pattern (`/bundle/dist/*.whl`, as a bundle writes it for the wheel its artifact
    builds) as the files it matches, in name order; any other line as written (pip reads no
    patterns). The matched names enter the environment's hash: a wheel of a new version makes
    a new environment."""
    if not dependency.endswith(".whl") or "*" not in dependency:
        return [dependency]
    path = Path(dependency)
    matches = sorted(path.parent.glob(path.name)) if path.is_absolute() else []
    return [str(match) for match in matches] or [dependency]


def wrap_argv(argv: Sequence[str], directory: Path, key: str, spec: Mapping[str, object],
              python: str = sys.executable) -> list[str]:
    """`argv` run in the environment: env_main first, then argv with the venv's interpreter.

    Args:
        argv: the attempt's command line, its first element a Python interpreter.
        directory: where the environment lives (built there if missing).
        key: the environment's `environment_key`, for messages.
        spec: the environment's spec, `{dependencies: [...], ...}`.
        python: the interpreter that runs env_main (and builds the venv).
    """
    return [python, "-m", ENTRY_MODULE, str(directory), key, _canonical(spec), "--",
            str(environment_python(directory)), *argv[1:]]


@dataclass(frozen=True, slots=True)
class Environments:
    """Where task environments live, and the wrapping of an attempt's argv into one."""

    home: Path | None = None  # HEADWATER_HOME; None: `<job directory>/.headwater`

    def directory(self, spec: Mapping[str, object], workdir: Path) -> Path:
        """`<home>/envs/<hash>`, absolute."""
        home = self.home if self.home is not None else workdir / ".headwater"
        dependencies = spec.get("dependencies")
        files = local_files(dependencies, workdir) if isinstance(dependencies, list) else {}
        return Path(home).absolute() / "envs" / environment_hash(spec, files=files)

    def wrap(self, argv: Sequence[str], task: Task, context: TaskContext) -> list[str]:
        """`argv` unchanged without an environment, else run through env_main.

        Raises:
            InvalidRequest: when the environment's dependencies are not requirement lines.
        """
        if context.environment is None:
            return list(argv)
        key = task.environment_key or "libraries"  # else it runs for the task's libraries
        spec = dict(context.environment)
        spec["dependencies"] = _dependencies(spec, task.task_key, key)
        return wrap_argv(argv, self.directory(spec, context.workdir), key, spec)


class PythonRunner:
    """What every runner that starts a Python child shares: its interpreter, and where a
    task's environment (`environment_key`) is built.

    Args:
        python: the interpreter of the child; the engine's own by default.
        environments: where task environments are built (`.headwater/envs/` by default).
    """

    def __init__(self, python: str = sys.executable,
                 environments: Environments | None = None) -> None:
        self._python = python
        self._environments = environments or Environments()
