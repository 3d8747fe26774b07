"""Which files of a bundle a deploy to a server copies, and the archive that carries them
(`cli/bundle_upload.py`): as the Databricks CLI syncs, those under `sync.paths` (default: the
bundle's folder) that Git would not ignore (every `.gitignore` from the checkout's top down, and
`.git/info/exclude`), plus those `sync.include` matches, less those `sync.exclude` matches (both
in .gitignore syntax, relative to the sync root), plus every file a job names, ignored or not
(a wheel built into `dist/`). `.git`, `.databricks` and `.headwater` folders are never copied.

Imported only for such a deploy: `pathspec` costs a local `headwater run` nothing.
"""

from __future__ import annotations

import glob
import io
import os
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pathspec import GitIgnoreSpec

from headwater.core.bundle_sync import KEPT_DIGEST, content_digest

if TYPE_CHECKING:
    from headwater.core.bundle_sync import BundleSync

__all__ = ["digests", "pack", "synced_files"]

_NEVER = frozenset({".git", ".databricks", ".headwater"})


def synced_files(sync: BundleSync) -> dict[str, Path]:
    """The files a deploy copies, by their path inside the sync root."""
    root = Path(sync.root)
    include = GitIgnoreSpec.from_lines(sync.include)
    exclude = GitIgnoreSpec.from_lines(sync.exclude)
    ignored = _GitIgnored(root)
    chosen: dict[str, Path] = {}
    for folder in sync.paths:
        for path in _walk(Path(folder), root, ignored, include):
            name = path.relative_to(root).as_posix()
            if not exclude.match_file(name):
                chosen[name] = path
    for pattern in sync.referenced:
        for match in sorted(glob.glob(pattern)):
            path = Path(match)
            if path.is_file() and path.is_relative_to(root):
                chosen.setdefault(path.relative_to(root).as_posix(), path)
    return dict(sorted(chosen.items()))


def digests(names: dict[str, Path]) -> dict[str, str]:
    """Each file's `content_digest`, by name (links followed)."""
    return {name: content_digest(path.read_bytes()) for name, path in names.items()}


def pack(names: dict[str, Path], kept: Mapping[str, str] | None = None) -> bytes:
    """A gzipped tar archive of the files, each under its name (links followed); a file of
    `kept` (name: digest, one the server holds already) as an empty member carrying its
    digest in the pax header `KEPT_DIGEST`."""
    kept = kept or {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", dereference=True,
                      format=tarfile.PAX_FORMAT) as tar:
        for name, path in names.items():
            if name not in kept:
                tar.add(path, arcname=name, recursive=False)
                continue
            member = tar.gettarinfo(path, arcname=name)
            member.size, member.pax_headers = 0, {KEPT_DIGEST: kept[name]}
            tar.addfile(member)
    return buffer.getvalue()


def _walk(folder: Path, root: Path, ignored: _GitIgnored, include: GitIgnoreSpec
          ) -> Iterator[Path]:
    """The files under `folder` that Git would not ignore, or that `include` names."""
    for current, folders, files in os.walk(folder):
        here = Path(current)
        inside = here.relative_to(root).as_posix() if here != root else ""
        folders[:] = sorted(name for name in folders if name not in _NEVER and (
            include.match_file(f"{inside}/{name}/".lstrip("/"))
            or not ignored(here / name, is_folder=True)))
        for name in sorted(files):
            path = here / name
            if include.match_file(f"{inside}/{name}".lstrip("/")) or not ignored(path):
                yield path


class _GitIgnored:
    """Whether Git would ignore a path under `root`: the `.gitignore` of its folder and of each
    folder above it, up to the checkout's top (the deepest that decides wins), then
    `.git/info/exclude`."""

    def __init__(self, root: Path) -> None:
        self.top = next((folder for folder in (root, *root.parents)
                         if (folder / ".git").exists()), root)
        self.specs: dict[Path, GitIgnoreSpec | None] = {}
        exclude = self.top / ".git" / "info" / "exclude"
        self.excluded = GitIgnoreSpec.from_lines(_lines(exclude))

    def __call__(self, path: Path, is_folder: bool = False) -> bool:
        suffix = "/" if is_folder else ""
        folder = path.parent
        while True:
            spec = self._spec(folder)
            if spec is not None:
                decided = spec.check_file(path.relative_to(folder).as_posix() + suffix).include
                if decided is not None:
                    return decided
            if folder == self.top or folder == folder.parent:
                break
            folder = folder.parent
        return bool(self.excluded.match_file(path.relative_to(self.top).as_posix() + suffix))

    def _spec(self, folder: Path) -> GitIgnoreSpec | None:
        if folder not in self.specs:
            lines = _lines(folder / ".gitignore")
            self.specs[folder] = GitIgnoreSpec.from_lines(lines) if lines else None
        return self.specs[folder]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
