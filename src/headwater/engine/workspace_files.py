"""The server's workspace folder: the copies of deployed bundles (`core/bundle_sync.py`).

`<home>/workspace` stands for Databricks' `/Workspace`: a bundle deployed to target `prod` by
ana@example.com is copied to `workspace/Users/ana@example.com/.bundle/<bundle>/prod/files`,
and its jobs run from there. A deploy sends the bundle's files as one gzipped tar archive;
`sync` makes the folder hold exactly them, as `databricks bundle deploy` syncs the workspace:

- a file the folder holds already travels as its digest alone (`core/bundle_sync.KEPT_DIGEST`:
  the deployer asked `changed` first); if it changed since, the deploy is refused (a
  `Conflict`) before anything is written, and the deployer asks again;

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

The Workspace API reads and writes the same folder, one object at a time, as
`core/workspace_objects.py` tells notebooks from files: a notebook `etl/load` is the file
`etl/load.py` (or `.sql`, `.scala`, `.r`, `.ipynb`) that holds one. Each write is whole or
not at all, as a deploy's; symbolic links and other special files are not objects of the
workspace, so nothing outside the folder is read or written through one.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from headwater.core.bundle_sync import KEPT_DIGEST, WORKSPACE, content_digest, workspace_folder
from headwater.core.workspace_objects import (
    NOTEBOOK_SUFFIXES,
    Entry,
    Named,
    ObjectType,
    PlannedImport,
    is_utf8,
    named,
    notebook_language,
    probed_names,
)
from headwater.entrypoints.filelock import locked
from headwater.errors import Conflict
from headwater.ports import SyncedFiles, WorkspaceObject

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

    def changed(self, path: str, digests: Mapping[str, str]) -> list[str]:
        """Of the files `digests` names (relative name: `content_digest`), those the folder of
        `path` (a checked `/Workspace/...` path) does not hold as they are: what a deploy
        must send.

        Raises:
            BadArchive: naming every name that is not a path inside the folder.
        """
        problems = _too_many(len(digests)) + [problem for name in digests
                                                  if (problem := _bad_name(name))]
        if problems:
            raise BadArchive("the files cannot be compared: " + "; ".join(problems))
        target = Path(workspace_folder(path, self.folder))
        return [name for name, digest in digests.items()
                if self._digest_at(target / posixpath.normpath(name)) != digest]

    def sync(self, path: str, archive: bytes) -> SyncedFiles:
        """Make the folder of `path` (a checked `/Workspace/...` path) hold exactly the files
        of `archive` (gzipped tar) of those this folder's deploys copied; what changed.

        Raises:
            BadArchive: naming every member that is not a file or folder inside the folder,
                or the limit the archive passes; nothing is written then.
            Conflict: naming the files sent as kept (by digest) that the folder no longer
                holds as they were; nothing is written then.
        """
        files, kept, folders = _read(archive)
        target = Path(workspace_folder(path, self.folder))
        snapshot = self._snapshot(path)
        listed = set(files) | set(kept)
        with locked(snapshot):
            stale = sorted(name for name, (digest, _) in kept.items()
                           if self._digest_at(target / name) != digest)
            if stale:
                raise Conflict(f"{len(stale)} files changed in {path} since this deploy "
                               f"compared them ({', '.join(stale[:5])}"
                               f"{', ...' if len(stale) > 5 else ''}): deploy again")
            before = _copied(snapshot)
            # First the union: a crash midway still knows every file either deploy copied.
            _save_copied(snapshot, path, before | listed)
            gone = _delete(target, before - listed)
            for name in folders:
                (target / name).mkdir(parents=True, exist_ok=True)
            written = sum(_write(target / name, data, mode) for name, (data, mode) in files.items())
            written += sum(_set_mode(target / name, mode) for name, (_, mode) in kept.items())
            _sync_folder(target)
            _save_copied(snapshot, path, listed)
        return SyncedFiles(str(target), written, len(listed) - written, gone)

    def _digest_at(self, path: Path) -> str | None:
        """The `content_digest` of the regular file at `path` inside the folder, or None."""
        try:
            descriptor = os.open(self._inside(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            return content_digest(handle.read())

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

    def status(self, path: str) -> WorkspaceObject | None:
        """The object at `path` (a normal `/Workspace/...` path, `/Workspace` included), or
        None; reads only the few names that decide what `path` is."""
        if path == WORKSPACE:
            return WorkspaceObject(WORKSPACE, ObjectType.DIRECTORY, self.folder)
        folder, name = posixpath.split(path)
        return next((item for item in self._objects(folder, probed_names(name))
                     if item.path == path), None)

    def children(self, path: str) -> list[WorkspaceObject]:
        """The objects in the folder at `path`, by name; none when it is no folder."""
        found = self.status(path)
        if found is None or found.object_type is not ObjectType.DIRECTORY:
            return []
        return self._objects(path, None)

    def kept_in(self, folder: str, file_name: str) -> WorkspaceObject | None:
        """The object that `file_name` in the folder at `folder` keeps, or None."""
        return next((item for item in self._objects(folder, probed_names(file_name))
                     if posixpath.basename(item.kept) == file_name), None)

    def content(self, item: WorkspaceObject) -> bytes:
        """The bytes of a notebook or file, as kept (never through a symbolic link)."""
        descriptor = os.open(self._inside(Path(item.kept)), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            return handle.read()

    def make_folders(self, path: str) -> bool:
        """Make the folder at `path` and those above it; whether any was made.

        Raises:
            NotADirectoryError: when something other than a folder (a file, a link) is in
                the way; the folders above it stay made.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        current, made = self.root, False
        for part in path[len(WORKSPACE):].split("/")[1:]:
            current = current / part
            try:
                current.mkdir()
                made = True
            except FileExistsError:
                if not stat.S_ISDIR(current.lstat().st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(current)) \
                        from None
        if made:
            _sync_parent(current)
        return made

    def put(self, folder: str, planned: PlannedImport,
            replaced: WorkspaceObject | None) -> WorkspaceObject:
        """Write `planned` into the folder at `folder`, whole (beside it, on the disk, then
        renamed over it), then delete the file that kept `replaced` if it is another; the
        object written."""
        target = self._inside(self._disk(folder)) / planned.file_name
        _replace(target, planned.content, 0o644)
        _sync_parent(target)
        if replaced is not None and Path(replaced.kept) != target:
            self.delete(replaced)
        written = self.kept_in(folder, planned.file_name)
        assert written is not None  # just written, and the service checked nothing shadows it
        return written

    def delete(self, item: WorkspaceObject) -> None:
        """Delete a notebook or file, or a folder with all in it (forgetting what deploys
        copied there, as `remove` does)."""
        kept = self._inside(Path(item.kept))
        if item.object_type is ObjectType.DIRECTORY:
            self.remove(item.path)
        else:
            kept.unlink()
        _sync_parent(kept)

    def _disk(self, path: str) -> Path:
        """The server's folder or file standing for `path` (a normal `/Workspace/...` path)."""
        return Path(workspace_folder(path, self.folder)) if path != WORKSPACE else self.root

    def _inside(self, disk: Path) -> Path:
        """`disk`, once it is known to be inside the folder when its links are followed."""
        root, real = os.path.realpath(self.root), os.path.realpath(disk)
        if real != root and not real.startswith(root + os.sep):
            raise NotADirectoryError(errno.ENOTDIR, "outside the workspace folder", str(disk))
        return disk

    def _objects(self, folder: str, names: Iterable[str] | None) -> list[WorkspaceObject]:
        """The objects of the folder at `folder`, by name: only those `names` decide (all
        when None); none when it is no folder or leads out of the workspace folder."""
        disk = self._disk(folder)
        try:
            self._inside(disk)
            found = _entries(disk, names)
        except OSError:  # not there, no folder, out of reach, or a name too long to be one
            return []
        return [self._object(posixpath.join(folder, item.name), item, found[item.entry])
                for item in named(found)]

    def _object(self, path: str, item: Named, status: os.stat_result) -> WorkspaceObject:
        kept = str(self._disk(posixpath.dirname(path)) / item.entry.file_name)
        if item.object_type is ObjectType.DIRECTORY:
            return WorkspaceObject(path, item.object_type, kept)
        modified = status.st_mtime_ns // 1_000_000
        created = min(status.st_ctime_ns, status.st_mtime_ns) // 1_000_000
        language = item.entry.language if item.object_type is ObjectType.NOTEBOOK else None
        return WorkspaceObject(path, item.object_type, kept, language, status.st_size,
                               created, modified)



def _entries(disk: Path, names: Iterable[str] | None) -> dict[Entry, os.stat_result]:
    """The folders and regular files in `disk` (only those of `names`, when given), each with
    the language of the notebook it holds; links and other special files are left out."""
    statuses: dict[str, os.stat_result] = {}
    if names is None:
        with os.scandir(disk) as scan:
            statuses = {item.name: item.stat(follow_symlinks=False) for item in scan}
    else:
        if not stat.S_ISDIR(disk.lstat().st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(disk))
        for name in names:
            try:
                statuses[name] = (disk / name).lstat()
            except OSError:  # not there, or a name the file system cannot hold
                continue
    entries: dict[Entry, os.stat_result] = {}
    for name, status in statuses.items():
        if not is_utf8(name):  # a name no answer can carry (a task may write anything)
            continue
        if stat.S_ISDIR(status.st_mode):
            entries[Entry(name, folder=True)] = status
        elif stat.S_ISREG(status.st_mode):
            language = notebook_language(name, _head(disk / name)) \
                if name.endswith(NOTEBOOK_SUFFIXES) else None
            entries[Entry(name, language=language)] = status
    return entries


def _head(path: Path) -> bytes:
    """The first bytes of a file, where a notebook's header is (none when it cannot be read)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(64)


def _sync_parent(path: Path) -> None:
    """Make a change of `path`'s entry (a rename, an unlink, a new folder) durable."""
    _sync_entries(path.parent)


def _sync_entries(folder: Path | str) -> None:
    """Put `folder`'s entries (its renames, unlinks, new names) on the disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


Modes = dict[str, tuple[bytes, int]]  # a file's content and mode, by relative name
Kept = dict[str, tuple[str, int]]  # a file the folder holds already: its digest and mode


def _read(archive: bytes) -> tuple[Modes, Kept, list[str]]:
    """The archive's files (content, executable or not), the files it lists as kept (digest,
    executable or not) and its folders, by relative name."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = tar.getmembers()
            problems = _problems(members)
            if problems:
                raise BadArchive("the archive cannot be copied: " + "; ".join(problems))
            files: Modes = {}
            kept: Kept = {}
            folders: list[str] = []
            for member in members:
                name = posixpath.normpath(member.name)
                mode = 0o755 if member.mode & 0o111 else 0o644
                if member.isdir():
                    if name != ".":
                        folders.append(name)
                elif KEPT_DIGEST in member.pax_headers:
                    kept[name] = (member.pax_headers[KEPT_DIGEST], mode)
                else:
                    content = tar.extractfile(member)
                    assert content is not None  # a regular file, checked above
                    files[name] = (content.read(), mode)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BadArchive(f"the body is not a gzipped tar archive of the bundle's files "
                         f"({error})") from None
    return files, kept, folders


def _problems(members: list[tarfile.TarInfo]) -> list[str]:
    problems = _too_many(len(members))
    total = sum(member.size for member in members if member.isfile())
    if total > MAX_ARCHIVE_BYTES:
        problems.append(f"its files hold {total} bytes, more than {MAX_ARCHIVE_BYTES}: leave "
                        "large data out with sync.exclude or .gitignore")
    for member in members:
        if not (member.isfile() or member.isdir()):
            problems.append(f"{member.name!r} is neither a file nor a folder (links are not "
                            "copied)")
        elif problem := _bad_name(member.name):
            problems.append(problem)
        elif KEPT_DIGEST in member.pax_headers and (
                member.size or not member.isfile()
                or re.fullmatch(r"[0-9a-f]{64}", member.pax_headers[KEPT_DIGEST]) is None):
            problems.append(f"{member.name!r} is listed as kept but is not an empty file with "
                            f"a SHA-256 digest in {KEPT_DIGEST}")
    return problems


def _too_many(count: int) -> list[str]:
    if count <= MAX_FILES:
        return []
    return [f"it holds {count} files and folders, more than {MAX_FILES}: leave generated "
            "folders out with sync.exclude or .gitignore"]


def _bad_name(name: str) -> str | None:
    """Why `name` is not a relative path inside the bundle's folder, or None."""
    normal = posixpath.normpath(name) if name else ""
    if not normal or normal.startswith(("/", "../")) or normal == ".." or "\x00" in normal:
        return f"{name!r} is not a path inside the bundle's folder"
    return None


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


def _set_mode(path: Path, mode: int) -> bool:
    """Give the file at `path` `mode` unless it has it; whether it changed."""
    if stat.S_IMODE(path.stat().st_mode) == mode:
        return False
    path.chmod(mode)
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
        _sync_entries(current)
