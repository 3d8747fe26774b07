"""The server's workspace folder: the copies of deployed bundles (`core/bundle_sync.py`).

`<home>/workspace` stands for Databricks' `/Workspace`: a bundle deployed to target `prod` by
ana@example.com is copied to `workspace/Users/ana@example.com/.bundle/<bundle>/prod/files`,
and its jobs run from there. A deploy sends the bundle's files as one gzipped tar archive;
`sync` makes the folder hold exactly them, as `databricks bundle deploy` syncs the workspace:

- a file that changed is replaced whole (written beside it, on the disk, then renamed over it),
  so a task reading it meanwhile sees the old or the new file, never part of one; a file that
  did not change is left as it is;
- a file the last deploy copied and this one does not is deleted; a file the bundle never
  copied (a task's output beside its notebook, say) is left alone, as Databricks leaves it.
  What each deploy copied is kept outside the folder, in `workspace-sync/`;
- the folder is changed in place, never swapped, so a running task's working folder stays.

Deploys of one folder wait for each other (a lock file). A deploy that crashes midway leaves
each file old or new, and the next deploy finishes the job. An archive is checked whole before
anything is written: only files and folders, each inside the folder, within the size limits.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import shutil
import stat
import tarfile
from pathlib import Path

from headwater.core.bundle_sync import workspace_folder
from headwater.entrypoints.filelock import locked
from headwater.ports import SyncedFiles

__all__ = ["MAX_ARCHIVE_BYTES", "MAX_FILES", "BadArchive", "WorkspaceFolder"]

MAX_FILES = 20_000  # a bundle's files; more is a folder the sync settings should leave out
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # unpacked: what a deploy may copy at once


class BadArchive(ValueError):
    """The archive a deploy sent cannot be copied; the message names each member at fault."""


class WorkspaceFolder:
    """The folder standing for `/Workspace` on this machine; what each deploy copied is kept
    in `snapshots` (outside it, where no deploy can write)."""

    def __init__(self, root: Path, snapshots: Path) -> None:
        self.root, self.snapshots = root, snapshots

    @property
    def folder(self) -> str:
        return str(self.root.absolute())

    def sync(self, path: str, archive: bytes) -> SyncedFiles:
        """Make the folder of `path` (a checked `/Workspace/...` path) hold exactly the files
        of `archive` (gzipped tar) of those this folder's deploys copied; what changed.

        Raises:
            BadArchive: naming every member that is not a file or folder inside the folder,
                or the limit the archive passes; nothing is written then.
        """
        files, folders = _read(archive)
        target = Path(workspace_folder(path, self.folder))
        snapshot = self._snapshot(path)
        with locked(snapshot):
            before = _copied(snapshot)
            # First the union: a crash midway still knows every file either deploy copied.
            _save_copied(snapshot, path, before | set(files))
            gone = _delete(target, before - set(files))
            for name in folders:
                (target / name).mkdir(parents=True, exist_ok=True)
            written = sum(_write(target / name, data, mode) for name, (data, mode) in files.items())
            _sync_folder(target)
            _save_copied(snapshot, path, set(files))
        return SyncedFiles(str(target), written, len(files) - written, gone)

    def remove(self, path: str) -> bool:
        """Delete the folder of `path` (a checked `/Workspace/...` path) with everything in it,
        and forget what deploys copied there; whether it was there."""
        target = Path(workspace_folder(path, self.folder))
        for record in sorted(self.snapshots.glob("*.json")):
            copied_to = json.loads(record.read_text())["path"]
            if copied_to == path or copied_to.startswith(path + "/"):
                with locked(record.with_suffix("")):
                    record.unlink(missing_ok=True)
        if not target.is_dir():
            return False
        shutil.rmtree(target)
        return True

    def _snapshot(self, path: str) -> Path:
        """What names the record of what deploys copied to `path` (and its lock)."""
        return self.snapshots / hashlib.sha256(path.encode()).hexdigest()[:24]



def _read(archive: bytes) -> tuple[dict[str, tuple[bytes, int]], list[str]]:
    """The archive's files (content, executable or not) and folders, by relative name."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = tar.getmembers()
            problems = _problems(members)
            if problems:
                raise BadArchive("the archive cannot be copied: " + "; ".join(problems))
            files: dict[str, tuple[bytes, int]] = {}
            folders: list[str] = []
            for member in members:
                name = posixpath.normpath(member.name)
                if member.isdir():
                    if name != ".":
                        folders.append(name)
                    continue
                content = tar.extractfile(member)
                assert content is not None  # a regular file, checked above
                files[name] = (content.read(), 0o755 if member.mode & 0o111 else 0o644)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BadArchive(f"the body is not a gzipped tar archive of the bundle's files "
                         f"({error})") from None
    return files, folders


def _problems(members: list[tarfile.TarInfo]) -> list[str]:
    problems: list[str] = []
    if len(members) > MAX_FILES:
        problems.append(f"it holds {len(members)} files and folders, more than {MAX_FILES}: "
                        "leave generated folders out with sync.exclude or .gitignore")
    total = sum(member.size for member in members if member.isfile())
    if total > MAX_ARCHIVE_BYTES:
        problems.append(f"its files hold {total} bytes, more than {MAX_ARCHIVE_BYTES}: leave "
                        "large data out with sync.exclude or .gitignore")
    for member in members:
        name = posixpath.normpath(member.name) if member.name else ""
        if not (member.isfile() or member.isdir()):
            problems.append(f"{member.name!r} is neither a file nor a folder (links are not "
                            "copied)")
        elif not name or name.startswith(("/", "../")) or name == ".." or "\x00" in name:
            problems.append(f"{member.name!r} is not a path inside the bundle's folder")
    return problems


def _copied(snapshot: Path) -> set[str]:
    """The files deploys copied, as `_save_copied` recorded them."""
    try:
        return set(json.loads(snapshot.with_suffix(".json").read_text())["files"])
    except FileNotFoundError:
        return set()


def _save_copied(snapshot: Path, path: str, names: set[str]) -> None:
    record = {"path": path, "files": sorted(names)}
    _replace(snapshot.with_suffix(".json"), json.dumps(record).encode(), 0o644)


def _delete(target: Path, names: set[str]) -> int:
    """Delete the files of `names` in `target`, and the folders they leave empty; how many."""
    deleted = 0
    for name in sorted(names):
        path = target / name
        try:
            if stat.S_ISREG(path.lstat().st_mode):
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
        parent = path.parent
        while parent != target and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return deleted


def _write(path: Path, data: bytes, mode: int) -> bool:
    """Put `data` at `path` unless it holds it already (mode too); whether it wrote."""
    try:
        if stat.S_IMODE(path.stat().st_mode) == mode and path.read_bytes() == data:
            return False
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data, mode)
    return True


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write `path` whole or not at all: beside it, on the disk, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.headwater-tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    """Make the renames under `folder` durable: its folders' entries on the disk."""
    for current, _, _ in os.walk(folder):
        descriptor = os.open(current, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
