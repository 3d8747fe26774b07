"""A bundle's `artifacts:` built before its jobs deploy, as `databricks bundle deploy` does.

Each artifact of the bundle (its top-level `artifacts`, overlaid by the chosen target's) with a
`build` command runs it with `/bin/sh -c` in its `path` (relative to the bundle's folder; the
folder itself by default); a `type: whl` artifact with neither `build` nor `files` runs
`python setup.py bdist_wheel`, the CLI's default (`bundle/artifacts/prepare.go`). An artifact
with only `files` names wheels built elsewhere: nothing runs. The jobs then find the wheels
where the build left them (`../dist/*.whl` in an environment's dependencies). A failing build
stops the deploy with the command's last lines, before any job changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from headwater.errors import HeadwaterError

__all__ = ["ArtifactBuildFailed", "build_artifacts"]

_SHOWN_LINES = 20


class ArtifactBuildFailed(HeadwaterError):
    """Raised when an artifact's build command fails; names the artifact and its output."""

    error_code = "INVALID_PARAMETER_VALUE"


def build_artifacts(root: Path, sections: Mapping[str, object], target: str | None) -> None:
    """Build every artifact of the bundle whose first file is in `root` (see module docstring).

    Raises:
        ArtifactBuildFailed: for the first build that fails.
    """
    for name, artifact in _artifacts(sections, target).items():
        command = artifact.get("build")
        if not command and artifact.get("type") == "whl" and not artifact.get("files"):
            command = f"{sys.executable} setup.py bdist_wheel"
        if not isinstance(command, str) or not command:
            continue
        folder = root / str(artifact.get("path") or ".")
        click.echo(f"Building artifact {name!r}: {command} (in {folder})", err=True)
        try:
            done = subprocess.run(["/bin/sh", "-c", command], cwd=folder, capture_output=True,
                                  text=True, check=False, env={**os.environ})
        except OSError as error:
            raise ArtifactBuildFailed(f"artifact {name!r}: cannot run {command!r} in {folder}: "
                                      f"{error}") from None
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-_SHOWN_LINES:])
            raise ArtifactBuildFailed(
                f"artifact {name!r}: the build {command!r} exited with code {done.returncode} "
                f"in {folder}; fix it, or change artifacts.{name}.build:\n{tail}")


def _artifacts(sections: Mapping[str, object], target: str | None) -> dict[str, dict[str, object]]:
    merged: dict[str, dict[str, object]] = {}
    targets = sections.get("targets")
    chosen = targets.get(target) if isinstance(targets, dict) and target else None
    for section in (sections.get("artifacts"), (chosen or {}).get("artifacts")
                    if isinstance(chosen, dict) else None):
        if isinstance(section, dict):
            for name, artifact in section.items():
                if isinstance(artifact, dict):
                    merged[str(name)] = {**merged.get(str(name), {}), **artifact}
    return merged
