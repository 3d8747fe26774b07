"""The volumes of the Files API 2.0 on this machine: `/Volumes/...` in the folder standing for
DBFS and the volumes (`<HEADWATER_HOME>/dbfs`, `runtime/dbfs.py`), the very files tasks read
and write with `dbutils.fs`: `/Volumes/main/raw/landing/a.csv` is
`<folder>/Volumes/main/raw/landing/a.csv`.

Every path is reached one name at a time from the folder, each directory opened without
following a symbolic link (`O_NOFOLLOW` relative to its parent's descriptor), so nothing
outside the folder is ever read or written, even when a task puts a link inside it or swaps a
directory for one meanwhile: a link is neither a file nor a directory here, as special files
are not.

A file is written whole or not at all: into a hidden file beside it (`.<random>.headwater-tmp`,
left out of listings), on the disk (`fsync`), then renamed over it, or linked to its name when
it may not replace a file (`linkat` fails on anything there, so two uploads without overwrite
never both win). An error while the bytes arrive deletes the hidden file and leaves the old
file as it was. Each change of a directory's entries is put on the disk too.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from headwater.core.workspace_objects import is_utf8
from headwater.ports import VolumeEntry

__all__ = ["VolumeFolder"]

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_TEMPORARY_SUFFIX = ".headwater-tmp"


class VolumeFolder:
    """`/Volumes` in the folder `root` (the DBFS folder): the Files API's files and
    directories, by checked `/Volumes/...` path (`core/volume_paths.py`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def status(self, path: str) -> VolumeEntry | None:
        """The file or directory at `path`; None when nothing is there, a file or link is in
        the way, or it is a link or a special file."""
        *above, name = _names(path)
        try:
            with self._folder(above) as folder:
                found = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except OSError:
            return None
        return _entry(path, found)

    def page(self, path: str, after: str | None, limit: int) -> tuple[list[VolumeEntry], bool]:
        """Up to `limit` files and directories of the directory at `path` named after `after`,
        by name, and whether more follow; a name that is not UTF-8 text, a link, a special
        file and an upload under way are left out.

        Raises:
            FileNotFoundError, NotADirectoryError: no directory is at `path`.
        """
        with self._folder(_names(path)) as folder:
            with os.scandir(folder) as scan:
                names = sorted(item.name for item in scan
                               if is_utf8(item.name) and not _temporary(item.name)
                               and (after is None or item.name > after))
            entries: list[VolumeEntry] = []
            for name in names:
                if len(entries) > limit:
                    break
                try:
                    found = os.stat(name, dir_fd=folder, follow_symlinks=False)
                except FileNotFoundError:  # deleted since it was listed
                    continue
                entry = _entry(f"{path}/{name}", found)
                if entry is not None:
                    entries.append(entry)
        return entries[:limit], len(entries) > limit

    def open(self, path: str) -> tuple[VolumeEntry, BinaryIO]:
        """The file at `path` opened for reading, and its status as opened.

        Raises:
            FileNotFoundError: nothing, a link or a special file is there.
            IsADirectoryError: a directory is there.
            NotADirectoryError: a file or link is in the way.
        """
        *above, name = _names(path)
        with self._folder(above) as folder:
            try:
                descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                                     dir_fd=folder)
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise FileNotFoundError(errno.ENOENT, "a link, not a file", path) from None
                raise _located(error, path) from None
        handle = os.fdopen(descriptor, "rb")
        found = os.fstat(descriptor)
        entry = _entry(path, found)
        if entry is None or entry.is_directory:
            handle.close()
            if entry is not None:
                raise IsADirectoryError(errno.EISDIR, "a directory, not a file", path)
            raise FileNotFoundError(errno.ENOENT, "a special file, not a file", path)
        return entry, handle

    def write(self, path: str, chunks: Iterable[bytes], overwrite: bool) -> VolumeEntry:
        """Write the file at `path` from `chunks`, whole or not at all, making the directories
        above it; the file written.

        Raises:
            FileExistsError: without `overwrite`, anything is at `path`.
            IsADirectoryError: a directory is at `path`.
            NotADirectoryError: a file or link is where a directory above it would be.
        """
        *above, name = _names(path)
        with self._folder(above, make=True) as folder:
            temporary = f".{secrets.token_hex(8)}{_TEMPORARY_SUFFIX}"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                 0o644, dir_fd=folder)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    for chunk in chunks:
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                    written = VolumeEntry(path, False, *_size_and_time(os.fstat(descriptor)))
                _commit(folder, temporary, name, overwrite, path)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temporary, dir_fd=folder)
                raise
            os.fsync(folder)
        return written

    def make_directories(self, path: str) -> bool:
        """Make the directory at `path` and those above it; whether any was made.

        Raises:
            NotADirectoryError: a file or link is at `path` or above it.
        """
        descriptor, made = self._walk(_names(path), make=True)
        os.close(descriptor)
        return made

    def delete(self, path: str, directory: bool) -> None:
        """Delete the file, or the empty directory, at `path`.

        Raises:
            FileNotFoundError: nothing (or a link) is there.
            IsADirectoryError, NotADirectoryError: a directory where a file was meant, or the
                other way round.
            OSError: `ENOTEMPTY`, the directory holds something.
        """
        *above, name = _names(path)
        with self._folder(above) as folder:
            try:
                found = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except OSError as error:
                raise _located(error, path) from None
            entry = _entry(path, found)
            if entry is None:
                raise FileNotFoundError(errno.ENOENT, "a link or special file", path)
            if entry.is_directory != directory:
                raise (IsADirectoryError(errno.EISDIR, "a directory", path) if entry.is_directory
                       else NotADirectoryError(errno.ENOTDIR, "a file", path))
            try:
                if directory:
                    os.rmdir(name, dir_fd=folder)
                else:
                    os.unlink(name, dir_fd=folder)
            except OSError as error:
                raise _located(error, path) from None
            os.fsync(folder)

    @contextmanager
    def _folder(self, names: Sequence[str], make: bool = False) -> Iterator[int]:
        """A descriptor of the directory `names` leads to from the folder (`_walk`), closed
        on exit."""
        descriptor, _ = self._walk(names, make)
        try:
            yield descriptor
        finally:
            os.close(descriptor)

    def _walk(self, names: Sequence[str], make: bool) -> tuple[int, bool]:
        """A descriptor of the directory `names` leads to from the folder, each opened without
        following a link; with `make`, the missing ones made; and whether any was."""
        if make:
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            descriptor, made = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY), False
        except OSError as error:  # no volume made yet: never the server's own path
            raise _located(error, "/Volumes") from None
        try:
            for depth, name in enumerate(names, start=1):
                try:
                    child, child_made = _open_folder(descriptor, name, make)
                except OSError as error:
                    raise _located(error, "/" + "/".join(names[:depth])) from None
                os.close(descriptor)
                descriptor, made = child, made or child_made
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor, made


def _open_folder(parent: int, name: str, make: bool) -> tuple[int, bool]:
    """The directory `name` of `parent`, opened without following a link (made first when
    missing and `make`), and whether it was made."""
    try:
        return os.open(name, _FOLDER, dir_fd=parent), False
    except FileNotFoundError:
        if not make:
            raise
    try:
        os.mkdir(name, 0o755, dir_fd=parent)
    except FileExistsError:  # made meanwhile: open what is there
        return os.open(name, _FOLDER, dir_fd=parent), False
    os.fsync(parent)
    return os.open(name, _FOLDER, dir_fd=parent), True


def _commit(folder: int, temporary: str, name: str, overwrite: bool, path: str) -> None:
    """Give the written file `temporary` its `name`: renamed over what is there, or (without
    `overwrite`) linked to it only when nothing is."""
    try:
        if overwrite:
            os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        else:
            os.link(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
            os.unlink(temporary, dir_fd=folder)
    except OSError as error:
        if error.errno == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "something is there", path) from None
        raise _located(error, path) from None


def _names(path: str) -> list[str]:
    """The names leading from the folder to `path` (`Volumes` first)."""
    return path.strip("/").split("/")


def _located(error: OSError, path: str) -> OSError:
    """`error` naming `path` (a `/Volumes/...` path, never the server's own); a link where a
    directory would be reads as a file in the way (`NotADirectoryError`)."""
    if error.errno in (errno.ENOTDIR, errno.ELOOP):
        return NotADirectoryError(errno.ENOTDIR, "a file or link, not a directory", path)
    return OSError(error.errno, error.strerror, path)


def _entry(path: str, found: os.stat_result) -> VolumeEntry | None:
    """A directory or regular file as the Files API shows it; None for anything else."""
    if stat.S_ISDIR(found.st_mode):
        return VolumeEntry(path, True, None, _size_and_time(found)[1])
    if stat.S_ISREG(found.st_mode):
        return VolumeEntry(path, False, *_size_and_time(found))
    return None


def _size_and_time(found: os.stat_result) -> tuple[int, int]:
    """A file's size in bytes and when it last changed, in milliseconds since the epoch."""
    return found.st_size, found.st_mtime_ns // 1_000_000


def _temporary(name: str) -> bool:
    """Whether `name` is a file an upload is writing."""
    return name.startswith(".") and name.endswith(_TEMPORARY_SUFFIX)
