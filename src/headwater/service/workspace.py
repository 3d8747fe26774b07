"""The server's `/Workspace` through the service: the copies of deployed bundles that
`headwater deploy --host` asks for (`core/bundle_sync.py`), and the Workspace API's notebooks,
files and folders (`w.workspace`: `core/workspace_objects.py`).

Who may do what is Databricks' default for the workspace: a user reads and writes their own
`/Workspace/Users/<user>` and `/Workspace/Shared`, and everything under them; an admin
anywhere. Nobody deletes `/Workspace/Users` or `/Workspace/Shared`, nor a user their own
folder, and the caller's own folder and `Shared` are made when they first call (Databricks
makes them with the user). Each change is in the audit log: a deploy's copy (the path and how
many files it wrote and deleted), an import, a folder made, a deletion.

The Workspace API's refusals are Databricks' own: 404 `RESOURCE_DOES_NOT_EXIST` ("Path (...)
doesn't exist."), `RESOURCE_ALREADY_EXISTS`, `DIRECTORY_NOT_EMPTY`,
`MAX_NOTEBOOK_SIZE_EXCEEDED`, each naming the path as the caller wrote it (`/Users/...` or
`/Workspace/Users/...`).
"""

from __future__ import annotations

import errno
import posixpath
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from headwater.core.audit import AuditAction
from headwater.core.bundle_sync import WORKSPACE, checked_workspace_path
from headwater.core.workspace_objects import (
    MAX_OBJECT_BYTES,
    ExportFormat,
    ImportFormat,
    Language,
    ObjectType,
    Refused,
    exported,
    object_path,
    planned_import,
    shown_path,
)
from headwater.errors import (
    AlreadyExists,
    DirectoryNotEmpty,
    InvalidRequest,
    NotFound,
    ObjectTooLarge,
    PermissionDenied,
)
from headwater.ports import SyncedFiles, WorkspaceFiles, WorkspaceObject
from headwater.service.access import AccessMixin

_UNDELETABLE = (WORKSPACE, f"{WORKSPACE}/Users", f"{WORKSPACE}/Shared")
# What the file system says of a name or path a request chose: the caller's mistake, a 400.
_REFUSED_BY_DISK = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EINVAL,
                    errno.ELOOP, errno.EILSEQ}


@dataclass(frozen=True, slots=True)
class ExportedObject:
    """A notebook or file as `workspace/export` sends it: its bytes, and the `file_type`
    Databricks names (`py`, `sql`, `ipynb`, ...; None for a file)."""

    content: bytes
    file_type: str | None


@contextmanager
def _disk_refusals(path: str) -> Iterator[None]:
    """Turn what the file system refuses of a path the caller chose into `InvalidRequest`."""
    try:
        yield
    except OSError as error:
        if error.errno not in _REFUSED_BY_DISK:
            raise
        raise InvalidRequest(f"{path}: {error.strerror or error}") from None


class WorkspaceMixin(AccessMixin):
    """Where the workspace is on the server, copying a bundle's files there, and the
    Workspace API over it."""

    workspace: WorkspaceFiles | None

    def _workspace(self) -> WorkspaceFiles:
        if self.workspace is None:
            raise InvalidRequest("this headwater keeps no workspace files: deploy to a server")
        return self.workspace

    def _writable(self, path: str) -> str:
        """`path` as a checked `/Workspace/...` path the caller may write; else
        `InvalidRequest` or `PermissionDenied`."""
        checked = checked_workspace_path(path)
        if checked is None:
            raise InvalidRequest(f"{path!r} is not a folder of the workspace: give a "
                                 f"{WORKSPACE}/... path")
        if not self.admin and not self._own(checked):
            own = " or ".join(f"{top}/" for top in self._own_folders())
            raise PermissionDenied(f"{self.user} may not write {checked}: only under {own} "
                                   "(or as an admin); set the bundle's workspace.root_path to "
                                   "one of them")
        return checked

    def workspace_folder(self) -> str:
        """The folder standing for `/Workspace` on the server's machine."""
        return self._workspace().folder

    def changed_workspace_files(self, path: str, digests: Mapping[str, str]) -> list[str]:
        """Which of the bundle files `digests` names (relative name: SHA-256) the folder of
        `path` does not hold as they are: what a deploy must send. Refused as
        `sync_workspace_files` is."""
        workspace, checked = self._workspace(), self._writable(path)
        try:
            return workspace.changed(checked, digests)
        except ValueError as error:  # the adapter's BadArchive
            raise InvalidRequest(str(error)) from None

    def sync_workspace_files(self, path: str, archive: bytes) -> SyncedFiles:
        """Make the folder of `path` hold the bundle files of `archive` (gzipped tar).

        Raises:
            InvalidRequest: for a path outside the workspace or a bad archive.
            PermissionDenied: for a folder outside the caller's own and `Shared`.
            Conflict: when a file the archive lists as kept changed since it was compared.
        """
        workspace, checked = self._workspace(), self._writable(path)
        try:
            synced = workspace.sync(checked, archive)
        except ValueError as error:  # the adapter's BadArchive
            raise InvalidRequest(str(error)) from None
        self.audit(AuditAction.WORKSPACE_SYNCED, path=checked, written=synced.written,
                   unchanged=synced.unchanged, deleted=synced.deleted)
        return synced

    def remove_workspace_files(self, path: str) -> bool:
        """Delete the folder of `path` with all in it (`databricks bundle destroy` deletes the
        bundle's root path); whether it was there. Refused as `sync_workspace_files` is."""
        checked = self._writable(path)
        removed = self._workspace().remove(checked)
        if removed:
            self.audit(AuditAction.WORKSPACE_REMOVED, path=checked)
        return removed

    # The Workspace API.

    def _home(self) -> str:
        return f"{WORKSPACE}/Users/{self.user}"

    def _own_folders(self) -> list[str]:
        """The caller's own folder (unless their name is no single folder name, which would
        reach into another's) and `Shared`."""
        home = self._home()
        own = [home] if checked_workspace_path(home) == home and "/" not in self.user else []
        return [*own, f"{WORKSPACE}/Shared"]

    def _own(self, path: str) -> bool:
        """Whether `path` is in the caller's own folder or in `Shared` (or one of them)."""
        return any(path == top or path.startswith(top + "/") for top in self._own_folders())

    def _object_path(self, path: str, *, write: bool) -> str:
        """`path` as a normal `/Workspace/...` path the caller may read (or write), once their
        own folder and `Shared` are there; else `NotFound` (reading outside the workspace),
        `InvalidRequest` (writing there) or `PermissionDenied`."""
        checked = object_path(path)
        if checked is None and write:
            raise InvalidRequest(f"{path!r} is not a path of the workspace: give a "
                                 f"{WORKSPACE}/... path (or /Users/..., /Shared/...)")
        if checked is None:
            raise NotFound(f"Path ({path}) doesn't exist.")
        if not self.admin and not self._own(checked):
            raise PermissionDenied(f"{self.user} may not {'write' if write else 'read'} "
                                   f"{checked}: only in {self._home()} and {WORKSPACE}/Shared "
                                   "(or as an admin)")
        for top in self._own_folders():
            with suppress(OSError):  # a file in the way: what is under it reads as missing
                self._workspace().make_folders(top)
        return checked

    def workspace_status(self, path: str) -> WorkspaceObject:
        """The notebook, file or folder at `path` (`workspace/get-status`).

        Raises:
            NotFound: nothing is there (or `path` is outside the workspace).
            PermissionDenied: outside the caller's own folder and `Shared`, for a non-admin.
        """
        checked = self._object_path(path, write=False)
        found = self._workspace().status(checked)
        if found is None:
            raise NotFound(f"Path ({path}) doesn't exist.")
        return found

    def workspace_list(self, path: str,
                       notebooks_modified_after: int | None = None) -> list[WorkspaceObject]:
        """The objects in the folder at `path`, by name, or the object itself when it is no
        folder (`workspace/list`); with `notebooks_modified_after` (ms), only the notebooks
        changed after then, and every other object. Refused as `workspace_status` is."""
        found = self.workspace_status(path)
        if found.object_type is not ObjectType.DIRECTORY:
            return [found]
        return [item for item in self._workspace().children(found.path)
                if notebooks_modified_after is None
                or item.object_type is not ObjectType.NOTEBOOK
                or (item.modified_at or 0) > notebooks_modified_after]

    def make_workspace_folders(self, path: str) -> None:
        """Make the folder at `path` and those above it (`workspace/mkdirs`); nothing to do
        when it is there.

        Raises:
            AlreadyExists: a notebook or file is at `path` or above it.
            InvalidRequest, PermissionDenied: as for every write.
        """
        checked, workspace = self._object_path(path, write=True), self._workspace()
        parts = checked.split("/")
        for end in range(3, len(parts) + 1):
            above = "/".join(parts[:end])
            found = workspace.status(above)
            if found is not None and found.object_type is not ObjectType.DIRECTORY:
                raise AlreadyExists(f"Path ({shown_path(above, path)}) already exists as a "
                                    f"{found.object_type.lower()}: no folder can be made there")
        with _disk_refusals(path):
            made = workspace.make_folders(checked)
        if made:
            self.audit(AuditAction.WORKSPACE_FOLDER_MADE, path=checked)

    def import_workspace_object(self, path: str, content: bytes,
                                format: ImportFormat = ImportFormat.SOURCE,
                                language: Language | None = None,
                                overwrite: bool = False) -> WorkspaceObject:
        """Write a notebook or file at `path` (`workspace/import`, `w.workspace.upload`), as
        `core/workspace_objects.py` reads `format`; the object written.

        Raises:
            InvalidRequest: a format or content that cannot be imported as asked.
            ObjectTooLarge: content over 10 MB.
            NotFound: the folder it would go in is not there (Databricks makes none).
            AlreadyExists: something is at `path` and `overwrite` is not set, or a folder is
                there, or the file the object would be kept in keeps another object.
            PermissionDenied: outside the caller's own folder and `Shared`, for a non-admin.
        """
        checked, workspace = self._object_path(path, write=True), self._workspace()
        if len(content) > MAX_OBJECT_BYTES:
            raise ObjectTooLarge(f"{path}: {len(content)} bytes is more than the "
                                 f"{MAX_OBJECT_BYTES} an import may carry")
        folder, name = posixpath.split(checked)
        try:
            planned = planned_import(name, format, language, content)
        except Refused as refused:
            raise InvalidRequest(str(refused)) from None
        target = posixpath.join(folder, planned.name)
        existing = workspace.status(target)
        if existing is not None and existing.object_type is ObjectType.DIRECTORY:
            raise AlreadyExists(f"Path ({shown_path(target, path)}) already exists: it is a "
                                "folder, which an import never overwrites.")
        if existing is not None and not overwrite:
            raise AlreadyExists(f"Path ({shown_path(target, path)}) already exists; import "
                                "with overwrite to replace it.")
        parent = workspace.status(folder)
        if parent is None or parent.object_type is not ObjectType.DIRECTORY:
            raise NotFound(f"The parent folder ({shown_path(folder, path)}) does not exist.")
        holder = workspace.kept_in(folder, planned.file_name)
        if holder is not None and holder.path != target:
            raise AlreadyExists(
                f"Path ({shown_path(target, path)}) would be kept in the file "
                f"{planned.file_name}, which keeps the {holder.object_type.lower()} "
                f"{shown_path(holder.path, path)}: delete that first, or import under another "
                "name")
        with _disk_refusals(path):
            written = workspace.put(folder, planned, existing)
        self.audit(AuditAction.WORKSPACE_IMPORTED, path=target, format=str(format),
                   object_type=str(written.object_type), language=planned.language,
                   size=len(planned.content), overwrote=existing is not None)
        return written

    def export_workspace_object(self, path: str,
                                format: ExportFormat | None = None) -> ExportedObject:
        """The bytes of the notebook or file at `path` (`workspace/export`,
        `w.workspace.download`): a notebook as it is kept (its source with the header, or its
        .ipynb), a file as it is.

        Raises:
            InvalidRequest: a folder, or a format or conversion headwater does not make.
            ObjectTooLarge: over 10 MB.
            NotFound, PermissionDenied: as `workspace_status`.
        """
        found = self.workspace_status(path)
        try:
            how = exported(found.object_type, found.kept, format)
        except Refused as refused:
            raise InvalidRequest(f"Path ({path}): {refused}") from None
        if (found.size or 0) > MAX_OBJECT_BYTES:
            raise ObjectTooLarge(f"Path ({path}) holds {found.size} bytes, more than the "
                                 f"{MAX_OBJECT_BYTES} an export may carry")
        return ExportedObject(self._workspace().content(found), how.file_type)

    def delete_workspace_object(self, path: str, recursive: bool = False) -> None:
        """Delete the notebook, file or folder at `path` (`workspace/delete`); a folder that
        holds anything only with `recursive`.

        Raises:
            NotFound: nothing is there.
            DirectoryNotEmpty: a folder that holds something, without `recursive`.
            PermissionDenied: `/Workspace/Users`, `/Workspace/Shared`, the caller's own
                folder, or outside it and `Shared` for a non-admin.
        """
        checked, workspace = self._object_path(path, write=True), self._workspace()
        if checked in _UNDELETABLE or (not self.admin and checked == self._home()):
            raise PermissionDenied(f"Path ({path}) may not be deleted: delete what is in it")
        found = workspace.status(checked)
        if found is None:
            raise NotFound(f"Path ({path}) doesn't exist.")
        if found.object_type is ObjectType.DIRECTORY and not recursive \
                and workspace.children(checked):
            raise DirectoryNotEmpty(f"Folder ({path}) is not empty: delete it with "
                                    "recursive=true to delete all in it")
        workspace.delete(found)
        self.audit(AuditAction.WORKSPACE_DELETED, path=checked,
                   object_type=str(found.object_type), recursive=recursive)
