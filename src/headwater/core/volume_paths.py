"""The paths the Files API 2.0 (`w.files`) reaches: files and directories of Unity Catalog
volumes, `/Volumes/<catalog>/<schema>/<volume>/...`; pure.

As on Databricks, a path is absolute and names something inside a volume: a directory is the
volume itself or one under it, a file is under it. headwater has no catalogs: a volume is the
folder of that name in the folder standing for DBFS and the volumes (`runtime/dbfs.py`), made
by the first write into it. A path is taken as written or refused, never tidied into another:
empty names (`//`), `.` and `..` are refused, so no path leads out of the volumes.
"""

from __future__ import annotations

from headwater.core.workspace_objects import is_utf8

VOLUMES = "/Volumes"
MAX_FILE_BYTES = 5 * 1024**3  # Databricks' limit of one upload: 5 GiB
MAX_NAME_BYTES = 255  # what a file system holds in one name
MAX_PAGE_SIZE = 1000  # Databricks' most entries in a page of a listing (and its default)
_DIRECTORY_SHAPE = f"{VOLUMES}/<catalog>/<schema>/<volume>[/<directory>...]"
_FILE_SHAPE = f"{VOLUMES}/<catalog>/<schema>/<volume>/[<directory>/...]<file>"


class BadVolumePath(ValueError):
    """A path the Files API does not reach; the message names it and says what to write."""


def volume_path(text: str, *, directory: bool) -> str:
    """`text` as a normal `/Volumes/...` path of a directory (one `/` may end it) or of a file.

    Raises:
        BadVolumePath: naming `text`, for a path outside the volumes, with an empty name,
            `.` or `..`, a name longer than a file system holds, or too short to be in a
            volume.
    """
    shape = _DIRECTORY_SHAPE if directory else _FILE_SHAPE
    thing = "directory" if directory else "file"

    def refused(why: str) -> BadVolumePath:
        return BadVolumePath(f"{text!r} is not the path of a {thing} in a volume: {why}; "
                             f"give {shape}")

    if "\x00" in text or not is_utf8(text):
        raise refused("it holds a character no path may hold")
    if not (text + "/").startswith(VOLUMES + "/"):
        raise refused(f"the Files API reaches Unity Catalog volumes only, under {VOLUMES}/")
    body = text[:-1] if directory and text.endswith("/") else text
    names = body.split("/")[2:]
    if any(name in ("", ".", "..") for name in names):
        raise refused("empty names (//), `.` and `..` are not allowed; write the path whole")
    if len(names) == 3 and not directory:
        raise refused("it names a volume itself, a directory")
    if len(names) < (3 if directory else 4):
        raise refused("it names no place inside a volume")
    if any(len(name.encode()) > MAX_NAME_BYTES for name in names):
        raise refused(f"a name is longer than {MAX_NAME_BYTES} bytes")
    return "/".join([VOLUMES, *names])


__all__ = ["MAX_FILE_BYTES", "MAX_NAME_BYTES", "MAX_PAGE_SIZE", "VOLUMES", "BadVolumePath",
           "volume_path"]
