"""`dbutils.fs` on this machine: Databricks file paths mapped to a folder, and the file commands
a job's notebook uses (`ls`, `put`, `head`, `mkdirs`, `cp`, `mv`, `rm`).

On Databricks a path without a scheme is a DBFS path, `dbfs:/...` names DBFS, `/Volumes/...`
a Unity Catalog volume, and `file:/...` the machine's own disk. Here DBFS and the volumes are a
folder, `HEADWATER_DBFS_DIR` (the engine sets it to `<HEADWATER_HOME>/dbfs` for every
attempt): `dbfs:/tmp/x` and `/tmp/x` are `<folder>/tmp/x`, `/Volumes/main/raw/landing/a.csv`
is `<folder>/Volumes/main/raw/landing/a.csv`; `file:/...` stays the local path, except that
`file:/Workspace/...` (how a Databricks notebook reaches workspace files) is in the folder
standing for the workspace (`HEADWATER_WORKSPACE_DIR`, where a server keeps deployed bundles'
files), as a job's `/Workspace/...` paths are (`written_paths`). A path never
leads above the folder (`dbfs:/../x` is `<folder>/x`, as `/..` is `/`). `local_path` gives
the file a path names, for the code that opens it with Python itself.

Standard library only: a task imports it when it first uses `dbutils.fs`.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from headwater.runtime.home import home_folder
from headwater.runtime.written_paths import WORKSPACE_VARIABLE, workspace_file

__all__ = ["DBFS_VARIABLE", "FileInfo", "FsUtils", "dbfs_root", "local_path"]

DBFS_VARIABLE = "HEADWATER_DBFS_DIR"
HEAD_BYTES = 65536  # Databricks' default for `head`


def dbfs_root(environ: Mapping[str, str] | None = None) -> Path:
    """The folder of DBFS and the volumes: `HEADWATER_DBFS_DIR`, else `<HEADWATER_HOME>/dbfs`."""
    return home_folder(DBFS_VARIABLE, "dbfs", environ)


def _split(path: str) -> tuple[str, str]:
    """(scheme, absolute POSIX path) of a Databricks path: `dbfs` or `file`."""
    if path.startswith("file:"):
        return "file", "/" + path[len("file:"):].lstrip("/")
    if path.startswith("dbfs:"):
        return "dbfs", "/" + path[len("dbfs:"):].lstrip("/")
    if not path.startswith("/"):
        raise ValueError(f"{path!r} is not a Databricks path: write dbfs:/..., /Volumes/..., "
                         "file:/... or an absolute path")
    return "dbfs", path


def local_path(path: str, root: Path | None = None) -> Path:
    """Where the file `path` names is on this machine.

    Raises:
        ValueError: when `path` is relative (a Databricks path is absolute).
    """
    scheme, absolute = _split(path)
    if scheme == "file":
        local = posixpath.normpath(absolute)
        workspace = os.environ.get(WORKSPACE_VARIABLE)
        return Path(workspace_file(local, workspace) if workspace else local)
    inside = posixpath.normpath(absolute).lstrip("/")  # `/..` is `/`: never above the folder
    base = root if root is not None else dbfs_root()
    return base / inside if inside not in ("", ".") else base


@dataclass(frozen=True)
class FileInfo:
    """An entry of `dbutils.fs.ls`, as Databricks gives it (a folder's name ends with `/`)."""

    path: str
    name: str
    size: int
    modificationTime: int  # milliseconds since the epoch


class FsUtils:
    """`dbutils.fs`. Errors are Python's own: `FileNotFoundError`, `FileExistsError`,
    `IsADirectoryError`, naming the Databricks path."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    def _local(self, path: str) -> Path:
        return local_path(path, self._root)

    def ls(self, dir: str) -> list[FileInfo]:  # `dir`, `maxBytes`: Databricks' own names
        """The entries of a folder (or the one file `dir` names), by name."""
        where = self._local(dir)
        if not where.exists():
            raise FileNotFoundError(f"File {dir} does not exist.")
        prefix = dir.rstrip("/")
        if where.is_file():
            return [self._info(where, prefix, where.name)]
        return [self._info(entry, f"{prefix}/{entry.name}", entry.name)
                for entry in sorted(where.iterdir(), key=lambda p: p.name)]

    @staticmethod
    def _info(entry: Path, path: str, name: str) -> FileInfo:
        folder = entry.is_dir()
        stat = entry.stat()
        return FileInfo(path + ("/" if folder else ""), name + ("/" if folder else ""),
                        0 if folder else stat.st_size, int(stat.st_mtime * 1000))

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write `contents` (UTF-8) to `file`, making its folders."""
        where = self._local(file)
        if where.exists() and not overwrite:
            raise FileExistsError(f"File {file} already exists; pass overwrite=True to replace "
                                  "it")
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(contents, encoding="utf-8")
        return True

    def head(self, file: str, maxBytes: int = HEAD_BYTES) -> str:
        """The first `maxBytes` bytes of `file`, as text."""
        where = self._local(file)
        if where.is_dir():
            raise IsADirectoryError(f"{file} is a directory")
        try:
            with where.open("rb") as handle:
                return handle.read(maxBytes).decode("utf-8", errors="replace")
        except FileNotFoundError:
            raise FileNotFoundError(f"File {file} does not exist.") from None

    def mkdirs(self, dir: str) -> bool:
        self._local(dir).mkdir(parents=True, exist_ok=True)
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        """Remove a file, or a folder (with `recurse`, and everything in it); False when
        nothing was there."""
        where = self._local(dir)
        if where.is_dir():
            if not recurse and any(where.iterdir()):
                raise IsADirectoryError(f"{dir} is a non-empty directory; pass recurse=True")
            shutil.rmtree(where)
            return True
        try:
            where.unlink()
        except FileNotFoundError:
            return False
        return True

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Copy a file, or a folder with `recurse`, making the target's folders."""
        source, target = self._local(from_), self._local(to)
        if source.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{from_} is a directory; pass recurse=True")
            shutil.copytree(source, target, dirs_exist_ok=True)
            return True
        if not source.exists():
            raise FileNotFoundError(f"File {from_} does not exist.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / source.name if target.is_dir() else target)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Move a file, or a folder with `recurse`."""
        source, target = self._local(from_), self._local(to)
        if source.is_dir() and not recurse:
            raise IsADirectoryError(f"{from_} is a directory; pass recurse=True")
        if not source.exists():
            raise FileNotFoundError(f"File {from_} does not exist.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        return True
