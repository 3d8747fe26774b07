"""The Files API 2.0 (`w.files`) through the service: the files and directories of Unity Catalog
volumes, `/Volumes/<catalog>/<schema>/<volume>/...` (`core/volume_paths.py`), kept where every
task reads and writes them with `dbutils.fs` (`engine/volume_files.py`). So a user uploads the
input a job reads, and downloads what it wrote.

Who may do what (a choice: headwater has no Unity Catalog grants): any authenticated user reads
and writes every volume, as every task of every user already can through `dbutils.fs`. Each
upload, directory made and deletion is in the audit log under the caller's name.

The refusals are Databricks': 404 `RESOURCE_DOES_NOT_EXIST` for nothing there (a directory
where a file is asked for, and the other way round, included), `RESOURCE_ALREADY_EXISTS` for an
upload without overwrite onto a file (the API answers it 409 `ALREADY_EXISTS`, what the SDK
raises as `AlreadyExists`) or a directory made over a file, `DIRECTORY_NOT_EMPTY`, and 400
`INVALID_PARAMETER_VALUE` for a path outside the volumes, with `..`, or a body over 5 GiB.
"""

from __future__ import annotations

import base64
import binascii
import errno
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from headwater.core.audit import AuditAction
from headwater.core.volume_paths import (
    MAX_FILE_BYTES,
    MAX_PAGE_SIZE,
    BadVolumePath,
    volume_path,
)
from headwater.errors import (
    AlreadyExists,
    DirectoryNotEmpty,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from headwater.ports import VolumeEntry, VolumeFiles
from headwater.service.access import AccessMixin
from headwater.service.paging import Page

_TOKEN_PREFIX = "hwf1:"  # noqa: S105 - a page token's mark, no secret


@contextmanager
def _disk_refusals(path: str) -> Iterator[None]:
    """What the file system refuses of a path the caller chose, as Databricks' errors; a
    failure of the machine (a full disk) stays one."""
    try:
        yield
    except FileNotFoundError as error:
        raise NotFound(f"{error.filename or path} does not exist.") from None
    except NotADirectoryError as error:
        raise AlreadyExists(f"{error.filename or path} is a file (or a link), so no "
                            "directory can be there; delete it, or choose another path") \
            from None
    except IsADirectoryError as error:
        raise AlreadyExists(f"{error.filename or path} is a directory, which a file never "
                            "replaces; delete it, or choose another path") from None
    except FileExistsError as error:
        raise AlreadyExists(f"The file {error.filename or path} already exists; upload with "
                            "overwrite=true to replace it") from None
    except PermissionError as error:
        raise PermissionDenied(f"{error.filename or path}: the server's machine may not "
                               "reach it (its file permissions)") from None
    except OSError as error:
        if error.errno == errno.ENOTEMPTY:
            raise DirectoryNotEmpty(f"The directory {path} is not empty: delete what it holds "
                                    "first (the Files API deletes empty directories only)") \
                from None
        raise


@contextmanager
def _still_there(path: str, thing: str) -> Iterator[None]:
    """`NotFound` when what was found at `path` is gone (or changed kind) by the time it is
    read or deleted."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise NotFound(f"The {thing} {path} does not exist.") from None


def _checked(path: str, *, directory: bool) -> str:
    try:
        return volume_path(path, directory=directory)
    except BadVolumePath as bad:
        raise InvalidRequest(str(bad)) from None


def _name_token(name: str) -> str:
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{name}".encode()).decode()


def _token_name(token: str) -> str:
    """The last name of the page before, as `_name_token` carried it."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(_TOKEN_PREFIX):
        raise InvalidRequest(f"page_token {token!r} is not a token this server gave; pass the "
                             "next_page_token of the previous page")
    return text[len(_TOKEN_PREFIX):]


class FilesMixin(AccessMixin):
    """The Files API over the volumes."""

    volumes: VolumeFiles | None

    def _volumes(self) -> VolumeFiles:
        if self.volumes is None:
            raise InvalidRequest("this headwater keeps no volumes: call a server")
        return self.volumes

    def _found(self, path: str, *, directory: bool) -> VolumeEntry:
        """The file (or directory) at `path`; `NotFound` saying what is there instead."""
        checked = _checked(path, directory=directory)
        found = self._volumes().status(checked)
        if found is not None and found.is_directory == directory:
            return found
        thing = "directory" if directory else "file"
        if found is None:
            raise NotFound(f"The {thing} {checked} does not exist.")
        other = "file; the file calls (download, get_metadata, delete) take it" if directory \
            else "directory; the directory calls (list_directory_contents, delete_directory) " \
            "take it"
        raise NotFound(f"The {thing} {checked} does not exist: it is a {other}")

    def volume_file(self, path: str) -> VolumeEntry:
        """The file at `path` (`HEAD fs/files`, `w.files.get_metadata`).

        Raises:
            InvalidRequest: a path outside the volumes.
            NotFound: no file is there.
        """
        return self._found(path, directory=False)

    def open_volume_file(self, path: str) -> tuple[VolumeEntry, BinaryIO]:
        """The file at `path` opened for reading, and its status as opened (`GET fs/files`,
        `w.files.download`); refused as `volume_file` is."""
        checked = self._found(path, directory=False).path
        with _disk_refusals(checked), _still_there(checked, "file"):
            return self._volumes().open(checked)

    def upload_volume_file(self, path: str, chunks: Iterable[bytes], overwrite: bool = True,
                           length: int | None = None) -> VolumeEntry:
        """Write the file at `path` from `chunks`, whole or not at all, making the directories
        above it (`PUT fs/files`, `w.files.upload`); the file written.

        Raises:
            InvalidRequest: a path outside the volumes, or more than 5 GiB (`length`, the
                declared size, is refused before a byte is read).
            AlreadyExists: a file is there and not `overwrite`, a directory is there, or a file
                is where a directory above it would be.
        """
        checked, volumes = _checked(path, directory=False), self._volumes()
        if length is not None and length > MAX_FILE_BYTES:
            raise InvalidRequest(_too_large(checked, length))
        existing = volumes.status(checked)
        with _disk_refusals(checked):
            if existing is not None and existing.is_directory:
                raise IsADirectoryError(errno.EISDIR, "a directory", checked)
            if existing is not None and not overwrite:
                raise FileExistsError(errno.EEXIST, "a file", checked)
            written = volumes.write(checked, _at_most(checked, chunks), overwrite)
        self.audit(AuditAction.FILES_UPLOADED, path=checked, size=written.size,
                   overwrote=existing is not None)
        return written

    def delete_volume_file(self, path: str) -> None:
        """Delete the file at `path` (`DELETE fs/files`, `w.files.delete`); refused as
        `volume_file` is."""
        checked = self._found(path, directory=False).path
        with _disk_refusals(checked), _still_there(checked, "file"):
            self._volumes().delete(checked, directory=False)
        self.audit(AuditAction.FILES_DELETED, path=checked)

    def volume_directory(self, path: str) -> VolumeEntry:
        """The directory at `path` (`HEAD fs/directories`, `w.files.get_directory_metadata`).

        Raises:
            InvalidRequest: a path outside the volumes.
            NotFound: no directory is there.
        """
        return self._found(path, directory=True)

    def list_volume_directory(self, path: str, page_size: int | None = None,
                              page_token: str | None = None) -> Page[VolumeEntry]:
        """A page of what the directory at `path` holds, by name (`GET fs/directories`,
        `w.files.list_directory_contents`): `page_size` entries (at most and by default
        1000), after those of `page_token`.

        Raises:
            InvalidRequest: a path outside the volumes, a page size below 0, a token this
                server never gave.
            NotFound: no directory is there.
        """
        if page_size is not None and page_size < 0:
            raise InvalidRequest(f"page_size {page_size} is below 0: give 1 to "
                                 f"{MAX_PAGE_SIZE} (0 or none: {MAX_PAGE_SIZE})")
        after = _token_name(page_token) if page_token else None
        checked = self._found(path, directory=True).path
        limit = min(page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        with _disk_refusals(checked), _still_there(checked, "directory"):
            entries, more = self._volumes().page(checked, after, limit)
        return Page(entries, _name_token(entries[-1].name) if more and entries else None)

    def make_volume_directory(self, path: str) -> None:
        """Make the directory at `path` and those above it (`PUT fs/directories`,
        `w.files.create_directory`); nothing to do when it is there.

        Raises:
            InvalidRequest: a path outside the volumes.
            AlreadyExists: a file is at `path` or above it.
        """
        checked = _checked(path, directory=True)
        with _disk_refusals(checked):
            made = self._volumes().make_directories(checked)
        if made:
            self.audit(AuditAction.FILES_DIRECTORY_MADE, path=checked)

    def delete_volume_directory(self, path: str) -> None:
        """Delete the empty directory at `path` (`DELETE fs/directories`,
        `w.files.delete_directory`).

        Raises:
            InvalidRequest: a path outside the volumes.
            NotFound: no directory is there.
            DirectoryNotEmpty: it holds something.
        """
        checked = self._found(path, directory=True).path
        with _disk_refusals(checked), _still_there(checked, "directory"):
            self._volumes().delete(checked, directory=True)
        self.audit(AuditAction.FILES_DIRECTORY_DELETED, path=checked)


def _too_large(path: str, size: int) -> str:
    return (f"{path}: the upload holds {size} bytes or more, over the {MAX_FILE_BYTES} "
            "(5 GiB) the Files API takes in one file; split it into several files")


def _at_most(path: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`chunks`, refused (`InvalidRequest`) once they pass 5 GiB: the write then leaves
    nothing."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise InvalidRequest(_too_large(path, total))
        yield chunk
