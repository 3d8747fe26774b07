"""The server's copies of deployed bundles through the service: what `headwater deploy --host`
asks (`core/bundle_sync.py`).

Who may write where is Databricks' default for the workspace: a user writes under their own
`/Workspace/Users/<user>/` and under `/Workspace/Shared/`; an admin anywhere. Each copy is in the
audit log (the path and how many files it wrote and deleted).
"""

from __future__ import annotations

from headwater.core.audit import AuditAction
from headwater.core.bundle_sync import WORKSPACE, checked_workspace_path
from headwater.errors import InvalidRequest, PermissionDenied
from headwater.ports import SyncedFiles, WorkspaceFiles
from headwater.service.access import AccessMixin


class WorkspaceMixin(AccessMixin):
    """Where the workspace is on the server, and copying a bundle's files there."""

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
        own = (f"{WORKSPACE}/Users/{self.user}/", f"{WORKSPACE}/Shared/")
        if not self.admin and not checked.startswith(own):
            raise PermissionDenied(f"{self.user} may not write {checked}: only under "
                                   f"{own[0]} or {own[1]} (or as an admin); set the "
                                   "bundle's workspace.root_path to one of them")
        return checked

    def workspace_folder(self) -> str:
        """The folder standing for `/Workspace` on the server's machine."""
        return self._workspace().folder

    def sync_workspace_files(self, path: str, archive: bytes) -> SyncedFiles:
        """Make the folder of `path` hold the bundle files of `archive` (gzipped tar).

        Raises:
            InvalidRequest: for a path outside the workspace or a bad archive.
            PermissionDenied: for a folder outside the caller's own and `Shared`.
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
