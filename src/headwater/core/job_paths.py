"""What a path written in a job may be: headwater runs and reads the files beside the job file,
or (`/Workspace/...`) in the folder standing for the workspace; a cloud or DBFS path, or a
relative path that climbs out of the job file's folder, names nothing it can open."""

from __future__ import annotations

import posixpath

__all__ = ["CODE_REFUSED_PREFIXES", "WORKSPACE_PREFIXES", "WORKSPACE_TOPS", "leaves_its_folder",
           "workspace_path_message"]

# Where Databricks keeps code and files.
WORKSPACE_PREFIXES = ("dbfs:", "/Workspace/", "/Volumes/", "/Repos/", "s3://", "s3a://",
                      "abfss://", "gs://", "wasbs://")
# The workspace's folders as Databricks writes a notebook's path in them (`/Users/ana/etl`),
# which name the workspace folder too (`runtime/written_paths.py` says how).
WORKSPACE_TOPS = ("/Users/", "/Shared/")
# Where a task's code cannot be: `/Workspace/...` can, in the folder standing for it.
CODE_REFUSED_PREFIXES = tuple(prefix for prefix in WORKSPACE_PREFIXES if prefix != "/Workspace/")


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

