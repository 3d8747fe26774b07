"""The child side of a task environment: build the venv if missing, then become the task.

    python -m headwater.entrypoints.environment ENV_DIR KEY SPEC_JSON -- PYTHON ARGS...

Runs in the attempt's process, under the engine's interpreter, so a slow build never blocks
the engine, and a kill or a timeout reaches it like any task. Steps:

1. Without the marker file `ENV_DIR/.headwater-environment.json`, take an exclusive lock on
   `ENV_DIR.lock` (concurrent attempts needing the same environment wait; one builds), and if
   the marker is still missing: remove what an interrupted build left, create a clean venv
   (`python -m venv`), install the dependencies with the venv's pip
   (`pip install -r requirements.txt`: each dependency is one requirement-file line, as on
   Databricks), write the marker last.
   Then hold `ENV_DIR.lock` shared, on a descriptor that passes through `exec`, and set the
   folder's time to now: while the task lives the environment is in use, and a pruner of
   environments unused for a while leaves it alone (`engine/cache_pruning.py`).
2. Link headwater's own package into the venv (`ENV_DIR/headwater-source/headwater`, named by a
   `.pth` file), so that `headwater.runtime` and the child entry points import, without
   headwater's other dependencies. An environment made for a task's `libraries` (spec `base:
   runtime`, `core/spec_libraries.py`) also sees the packages of the interpreter running this
   (the runtime), after its own, through a `.pth` file written before pip runs: its
   libraries install on top of the runtime, as a cluster's on top of the Databricks Runtime
   (pip finds what the runtime has already satisfied, and never touches the runtime).
3. Record `setup_seconds` in result.json, then `exec` PYTHON ARGS...: the task keeps this pid.

A failed build prints pip's output to stderr, writes result.json `error` =
`environment 'KEY' could not be built: <pip's last error lines>` and exits 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import headwater
from headwater.entrypoints.filelock import hold_shared, locked
from headwater.runtime import channel

__all__ = ["MARKER", "BuildFailed", "build", "ensure_environment", "hold_environment",
           "link_headwater", "link_runtime", "main", "runtime_site_dirs"]

MARKER = ".headwater-environment.json"
REQUIREMENTS = "requirements.txt"
SOURCE = "headwater-source"
PTH = "headwater-source.pth"
RUNTIME_PTH = "headwater-runtime.pth"
RUNTIME_BASE = "runtime"  # = core.spec_libraries.RUNTIME_BASE (a child does not import pydantic)
_SUMMARY_LINES = 3


class BuildFailed(Exception):  # a report for the task's result, not a bug
    """Raised when the venv cannot be created or a dependency cannot be installed."""

    def __init__(self, summary: str, output: str) -> None:
        super().__init__(summary)
        self.summary, self.output = summary, output


def summary_of(output: str) -> str:
    """pip's last `ERROR:` lines (else its last lines), on one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    chosen = (errors or lines)[-_SUMMARY_LINES:] or ["no output"]
    return " ".join(chosen)[:2000]


def _site_packages(directory: Path) -> Path:
    """The venv's site-packages, as `venv` lays it out for this interpreter."""
    variables = {"base": str(directory), "platbase": str(directory)}
    return Path(sysconfig.get_path("purelib", scheme="venv", vars=variables))


def _run(argv: Sequence[str], cwd: Path | None = None) -> None:
    completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = completed.stdout + completed.stderr
        raise BuildFailed(summary_of(output), output)


def build(directory: Path, dependencies: Sequence[str], cwd: Path, runtime: bool = False,
          ) -> None:
    """Create a clean venv in `directory` (seeing the runtime's packages when `runtime`) and
    install `dependencies` with its pip.

    Relative paths in the dependencies start at `cwd` (the job's directory).

    Raises:
        BuildFailed: when `venv` or pip fails.
    """
    if directory.exists():
        shutil.rmtree(directory)  # what an interrupted build left
    _run([sys.executable, "-m", "venv", str(directory)])
    if runtime:
        link_runtime(directory)
    if dependencies:
        requirements = directory / REQUIREMENTS
        requirements.write_text("".join(f"{line}\n" for line in dependencies), encoding="utf-8")
        _run([str(directory / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", "--no-input", "-r", str(requirements)], cwd=cwd)


def ensure_environment(directory: Path, key: str, spec: Mapping[str, object], cwd: Path,
                       ) -> bool:
    """Build the environment unless its marker says it is complete; True when it was built.

    Raises:
        BuildFailed: when the build fails (the marker is then not written).
    """
    marker = directory / MARKER
    if marker.is_file():
        return False
    with locked(directory):
        if marker.is_file():  # another attempt built it while this one waited
            return False
        listed = spec.get("dependencies")
        dependencies = [str(d) for d in listed] if isinstance(listed, list) else []
        print(f"headwater: building environment {key!r} in {directory}: "
              f"{' '.join(dependencies) or 'no dependencies'}", flush=True)
        build(directory, dependencies, cwd, runtime=spec.get("base") == RUNTIME_BASE)
        record = {"environment_key": key, "spec": spec, "python": sys.version.split()[0]}
        marker.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return True


def hold_environment(directory: Path, key: str, spec: Mapping[str, object], cwd: Path,
                     ) -> int:
    """Build the environment if it is missing, then hold it in use (its lock, shared) for
    the life of this process and the task it becomes, and mark when it was last used (the
    folder's time): a pruner leaves an environment in use or used lately alone
    (`engine/cache_pruning.py`). The lock's descriptor.

    Raises:
        BuildFailed: when the build fails, or the environment was removed (pruned) each time
            right after it was built.
    """
    for _ in range(3):
        held = hold_shared(directory)  # waits while it is built or pruned
        if (directory / MARKER).is_file():
            os.utime(directory)
            return held
        os.close(held)  # building takes the lock exclusively: let go of it first
        ensure_environment(directory, key, spec, cwd)
    raise BuildFailed(f"the environment in {directory} was removed as soon as it was built, "
                      "three times: is something else deleting it?", "")


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _link_atomically(path: Path, target: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, path)


def link_headwater(directory: Path) -> None:
    """Make this headwater's package importable in the venv, and only it (not its deps).

    Refreshed on every start, so that a headwater installed elsewhere since the build is the
    one the task imports.
    """
    package = Path(headwater.__file__).resolve().parent
    source = directory / SOURCE
    source.mkdir(exist_ok=True)
    link = source / "headwater"
    if not link.is_symlink() or Path(os.readlink(link)) != package:
        _link_atomically(link, package)
    pth = _site_packages(directory) / PTH
    if not pth.is_file() or pth.read_text(encoding="utf-8").strip() != str(source):
        _write_atomically(pth, f"{source}\n")


def runtime_site_dirs() -> list[str]:
    """The site directories of the interpreter running this: the runtime's packages."""
    found = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    return [path for path in dict.fromkeys(found) if os.path.isdir(path)]


def link_runtime(directory: Path) -> None:
    """Make the runtime's packages importable in the venv, after the venv's own.

    Each is added with `site.addsitedir` (a `.pth` line that starts with `import` runs), so the
    runtime's own `.pth` files (editable installs) take effect too. Refreshed on every start,
    so the runtime is the one running the attempt now.
    """
    text = "".join(f"import site; site.addsitedir({path!r})\n" for path in runtime_site_dirs())
    pth = _site_packages(directory) / RUNTIME_PTH
    if not pth.is_file() or pth.read_text(encoding="utf-8") != text:
        _write_atomically(pth, text)


def _fail(key: str, error: BuildFailed) -> int:
    print(error.output, file=sys.stderr, end="" if error.output.endswith("\n") else "\n")
    channel.update_result({"error": f"environment {key!r} could not be built: {error.summary}"})
    return 1


def main(argv: Sequence[str]) -> int:
    """Prepare the environment and exec the task; returns only on failure (1, or 2 on usage)."""
    if len(argv) < 5 or argv[3] != "--":
        print("usage: python -m headwater.entrypoints.environment ENV_DIR KEY SPEC_JSON -- PYTHON "
              "[ARGS...]", file=sys.stderr)
        return 2
    directory, key, spec = Path(argv[0]), argv[1], json.loads(argv[2])
    command = list(argv[4:])
    started = time.monotonic()
    try:
        hold_environment(directory, key, spec, Path.cwd())
    except BuildFailed as error:
        return _fail(key, error)
    link_headwater(directory)
    if spec.get("base") == RUNTIME_BASE:
        link_runtime(directory)
    channel.update_result({"setup_seconds": round(time.monotonic() - started, 3)})
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606  (argv, no shell: the task keeps this pid)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
