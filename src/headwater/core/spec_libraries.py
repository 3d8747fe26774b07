"""A task's `libraries`, as a cluster's: the model of one entry, and the pip requirement lines
that install the Python ones.

On Databricks, a task on classic compute installs its `libraries` onto its cluster, on top of
the Databricks Runtime's own packages; `python_wheel_task`s of bundles find their wheel so
(`libraries: [{whl: ../dist/*.whl}]`). headwater installs them the same way: into an
environment of the task's own that sees the packages of the interpreter running the task
(`runners/environments.py`). Python libraries (`pypi`, `whl`, `requirements`) become
requirement lines; JVM and R libraries (`jar`, `maven`, `cran`) and the deprecated `egg`
cannot be used by a task headwater runs, so they are kept in the settings and not installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from headwater.core.spec_common import Model

__all__ = ["INSTALLED_KINDS", "LIBRARY_KINDS", "RUNTIME_BASE", "CranLibrary", "Library",
           "MavenLibrary", "PypiLibrary", "library_problems", "requirement_lines",
           "with_libraries"]

# The `base` of an environment spec made for libraries: its venv sees the runtime's packages.
RUNTIME_BASE = "runtime"


class PypiLibrary(Model):
    """A package from a Python package index: `package` is a pip requirement
    (`pandas==2.2.2`, `requests>=2`); `repo` the index to find it in (the default one if
    unset)."""

    package: str
    repo: str | None = None


class MavenLibrary(Model):
    """A JVM library by Maven coordinates (stored, not installed)."""

    coordinates: str
    repo: str | None = None
    exclusions: list[str] = []


class CranLibrary(Model):
    """An R package (stored, not installed)."""

    package: str
    repo: str | None = None


class Library(Model):
    """One library of a task; exactly one kind is set (`library_problems` checks it)."""

    pypi: PypiLibrary | None = None
    whl: str | None = None
    requirements: str | None = None
    jar: str | None = None
    egg: str | None = None
    maven: MavenLibrary | None = None
    cran: CranLibrary | None = None


LIBRARY_KINDS = ("pypi", "whl", "requirements", "jar", "egg", "maven", "cran")
INSTALLED_KINDS = ("pypi", "whl", "requirements")


def _kinds(library: Library) -> list[str]:
    return [kind for kind in LIBRARY_KINDS if getattr(library, kind) is not None]


def requirement_lines(libraries: Sequence[Library]) -> list[str]:
    """The pip requirement-file lines of the Python libraries, in their order.

    A `pypi` entry with a `repo` adds that index as an extra one (`--extra-index-url`): a
    requirements file has no per-package index, and the default index stays available to
    the other libraries. A `requirements` file is included with `-r`.
    """
    lines: list[str] = []
    for library in libraries:
        if library.pypi is not None:
            if library.pypi.repo:
                lines.append(f"--extra-index-url {library.pypi.repo}")
            lines.append(library.pypi.package)
        elif library.whl is not None:
            lines.append(library.whl)
        elif library.requirements is not None:
            lines.append(f"-r {library.requirements}")
    return lines


def with_libraries(named: Mapping[str, object] | None, libraries: Sequence[Library],
                   ) -> Mapping[str, object] | None:
    """The environment a task runs in: the job environment it names (`named`, None for none)
    with its Python libraries' lines added to the dependencies; for a task that names none,
    an environment of the libraries alone on top of the runtime (`base: runtime`), as a
    cluster's libraries are installed on top of the Databricks Runtime. None when neither."""
    lines = requirement_lines(libraries)
    if not lines:
        return named
    if named is None:
        return {"base": RUNTIME_BASE, "dependencies": lines}
    listed = named.get("dependencies") or []
    if not isinstance(listed, list):
        return named  # not a list of lines: the environment's own check says so at launch
    return {**named, "dependencies": [*listed, *lines]}


def library_problems(libraries: Sequence[Library]) -> Iterator[tuple[str, str]]:
    """`(path inside the list, message)` for each entry that is not exactly one library, or
    whose text could not be one requirement line."""
    for index, library in enumerate(libraries):
        kinds = _kinds(library)
        if len(kinds) != 1:
            where = f"[{index}]" if not kinds else f"[{index}].{kinds[1]}"
            found = f"sets {', '.join(kinds)}" if kinds else "sets none"
            yield where, (f"a library is exactly one of {', '.join(LIBRARY_KINDS)}, but this "
                          f"one {found}; write one entry per library")
            continue
        kind = kinds[0]
        if kind not in INSTALLED_KINDS:
            continue
        text = library.pypi.package if library.pypi is not None else getattr(library, kind)
        field = f"[{index}].pypi.package" if kind == "pypi" else f"[{index}].{kind}"
        if not str(text).strip() or any(mark in str(text) for mark in "\n\r\0"):
            yield field, f"{kind} must be one non-empty line, got {text!r}"
        elif str(text).lstrip().startswith("-"):
            yield field, (f"{kind} {text!r} is a pip option, not a library: name the library "
                          "(a package index goes in pypi.repo)")
        repo = library.pypi.repo if library.pypi is not None else None
        if repo is not None and (not repo.strip() or any(mark in repo for mark in "\n\r\0 ")):
            yield f"[{index}].pypi.repo", f"repo must be one index URL, got {repo!r}"
