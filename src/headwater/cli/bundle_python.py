"""Jobs a bundle defines in Python (its `python:` section), loaded through the
`databricks-bundles` package as the Databricks CLI loads them.

The CLI runs `python -m databricks.bundles.build --phase load_resources` in the bundle's folder,
with the bundle's configuration as JSON input; the functions listed under `python.resources`
(`"resources:load_resources"`) add resources, written back as JSON with where each was defined
(`--locations`) and what went wrong (`--diagnostics`). headwater runs the same command, with the
interpreter of `python.venv_path` when the bundle names one (else its own), and hands the
resources to the loader, which composes them with the YAML-defined ones. A bundle whose Python
needs the package where it is not installed gets an error saying how to install it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from headwater.core.load import PythonResource, PythonResources

__all__ = ["load_python_resources"]

_TIMEOUT_SECONDS = 300
_MISSING = "No module named 'databricks.bundles'"


def load_python_resources(root_file: Path, conf: Mapping[str, object], target: str | None,
                          variables: Mapping[str, object]) -> PythonResources:
    """Run the bundle's Python resource functions; the resources they define, or the errors."""
    python = _interpreter(root_file.parent, conf)
    if python is None:
        return PythonResources([], [_missing_venv(conf)])
    document = {"bundle": {"target": target or "default"}, "python": dict(conf),
                "variables": {name: {"value": value} for name, value in variables.items()},
                "resources": {}}
    with tempfile.TemporaryDirectory(prefix="headwater-python-") as scratch:
        files = {name: Path(scratch) / f"{name}.json"
                 for name in ("input", "output", "diagnostics", "locations")}
        files["input"].write_text(json.dumps(document), encoding="utf-8")
        argv = [python, "-m", "databricks.bundles.build", "--phase", "load_resources",
                *(f"--{name}={path}" for name, path in files.items())]
        try:
            done = subprocess.run(argv, cwd=root_file.parent, capture_output=True, text=True,
                                  timeout=_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return PythonResources([], [f"cannot run {python}: {error}"])
        if _MISSING in done.stderr:
            return PythonResources([], [_missing_package(python)])
        errors = _diagnostics(files["diagnostics"])
        if done.returncode != 0 and not errors:
            errors = [f"{' '.join(argv[:4])} failed: {done.stderr.strip()[-2000:]}"]
        resources = _resources(files["output"], files["locations"], root_file.parent)
    return PythonResources(resources, errors)


def _interpreter(folder: Path, conf: Mapping[str, object]) -> str | None:
    """The Python of `python.venv_path`, None when it has none (the Databricks CLI stops
    there too), or headwater's own when the bundle names no venv."""
    venv = conf.get("venv_path")
    if isinstance(venv, str) and venv:
        candidate = folder / venv / "bin" / "python"
        return os.fspath(candidate) if candidate.exists() else None
    return sys.executable


def _missing_venv(conf: Mapping[str, object]) -> str:
    return (f"python.venv_path {conf.get('venv_path')!r} has no bin/python: the bundle's Python "
            "resources run in that virtual environment (with the packages they import), so "
            "create it first (for example `uv sync`, or `python -m venv .venv` and "
            "`.venv/bin/pip install -e . databricks-bundles`)")


def _missing_package(python: str) -> str:
    return (f"the bundle defines resources in Python (python.resources), which needs the "
            f"databricks-bundles package in {python}: install it with "
            f"`{python} -m pip install databricks-bundles` (or set python.venv_path to a "
            "virtual environment that has it)")


def _diagnostics(path: Path) -> list[str]:
    errors: list[str] = []
    for line in _lines(path):
        item = json.loads(line)
        if item.get("severity") != "error":
            continue
        location = item.get("location") or {}
        where = (f"{location.get('file')}:{location.get('line')}:{location.get('column')}: "
                 if location.get("file") else "")
        detail = f"\n{item['detail']}" if item.get("detail") else ""
        errors.append(f"{where}{item.get('summary', 'error')}{detail}")
    return errors


def _resources(output: Path, locations: Path, folder: Path) -> list[PythonResource]:
    if not output.exists():
        return []
    places: dict[str, str] = {}
    for line in _lines(locations):
        item = json.loads(line)
        file = Path(item["file"])
        file = file if file.is_absolute() else folder / file
        places[item["path"]] = f"{file}:{item.get('line', 1)}:{item.get('column', 1)}"
    document = json.loads(output.read_text(encoding="utf-8"))
    found = []
    for kind, entries in (document.get("resources") or {}).items():
        for key, data in (entries or {}).items():
            where = places.get(f"resources.{kind}.{key}", f"{folder}/(python resources)")
            found.append(PythonResource(kind, key, data, where))
    return found


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
