"""What a path written in a job may be: headwater runs and reads the files beside the job file,
or (`/Workspace/...`) in the folder standing for the workspace; a cloud or DBFS path, or a
relative path that climbs out of the job file's folder, names nothing it can open."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

__all__ = ["CODE_REFUSED_PREFIXES", "WORKSPACE_PREFIXES", "in_workspace_folder",
           "leaves_its_folder", "workspace_file", "workspace_path_message"]

# Where Databricks keeps code and files.
WORKSPACE_PREFIXES = ("dbfs:", "/Workspace/", "/Volumes/", "/Repos/", "s3://", "s3a://",
                      "abfss://", "gs://", "wasbs://")
# Where a task's code cannot be: `/Workspace/...` can, in the folder standing for it.
CODE_REFUSED_PREFIXES = tuple(prefix for prefix in WORKSPACE_PREFIXES if prefix != "/Workspace/")
_WORKSPACE = "/Workspace/"


def leaves_its_folder(value: str) -> bool:
    """A relative path that climbs out of the folder it is read from (`../x.py`)."""
    if value.startswith("/") or "://" in value:
        return False
    normal = posixpath.normpath(value)
    return normal == ".." or normal.startswith("../")


def workspace_path_message(value: str, does: str) -> str:
    """What to do about `value`, a path under `WORKSPACE_PREFIXES`, where headwater `does`
    something with the files beside the job ("runs files", "reads .env files")."""
    return (f"{value!r} is a Databricks workspace or cloud path; headwater {does} from the "
            "job's directory: copy the file next to the job file and give a relative path")


def workspace_file(written: str, workspace_dir: str) -> str:
    """Where `written` is on this machine: a `/Workspace/...` path in `workspace_dir` (the folder
    standing for `/Workspace`), any other path as written."""
    normal = posixpath.normpath(written) if written.startswith(_WORKSPACE) else ""
    if not normal.startswith(_WORKSPACE):
        return written  # not in the workspace, or `..` out of it: an absolute path as written
    return posixpath.join(workspace_dir, normal[len(_WORKSPACE):])


def in_workspace_folder(environment: Mapping[str, object], workspace_dir: str
                        ) -> Mapping[str, object]:
    """An environment spec whose `/Workspace/...` dependencies (a wheel, `-r` a requirements
    file) name the files in `workspace_dir`."""
    listed = environment.get("dependencies")
    if not isinstance(listed, list):
        return environment
    placed: list[object] = []
    for line in listed:
        if isinstance(line, str):
            prefix = "-r " if line.startswith("-r ") else ""
            line = prefix + workspace_file(line.removeprefix(prefix).strip() if prefix else line,
                                           workspace_dir)
        placed.append(line)
    return {**environment, "dependencies": placed}
