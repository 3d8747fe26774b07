"""What a bundle deployed to a server copies there, and where the copy lands.

`databricks bundle deploy` syncs the bundle's files to the workspace, under the target's
`workspace.root_path` (by default `/Workspace/Users/<user>/.bundle/<bundle>/<target>`), in its
`files` folder (`workspace.file_path`), and its jobs name the copies: a job runs the code that
was deployed, not what the checkout holds later. headwater does the same when it deploys to a
server (`--host`): the server's `workspace` folder stands for `/Workspace`, the bundle's sync
root is copied to the folder of `file_path` there, and every path the jobs name inside the sync
root (and `${workspace.*_path}`) becomes its place in the copy. A deploy to this machine's own
store copies nothing: its jobs name the files where they are.

What is copied is what the CLI syncs: the files under `sync.paths` (default: the bundle's own
folder) that Git would not ignore, plus `sync.include`, less `sync.exclude` (patterns in
.gitignore syntax, relative to the bundle's folder), plus every file a job names (a notebook, a
script, a built wheel in an ignored `dist/`), since a job could not run without it.

A redeploy sends only what changed: the deployer first asks which of its files (by SHA-256)
the server's copy lacks, then sends one archive listing every file, in which each file the
server holds already is an empty member carrying its digest in the pax header `KEPT_DIGEST`.

Pure: paths are POSIX text (`posixpath`), the server's folder is given in.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from headwater.core.bundle_model import (
    BundleProblem,
    BundleSource,
    Definition,
    Origin,
    as_list,
    as_mapping,
)
from headwater.core.checks import format_path

__all__ = ["KEPT_DIGEST", "WORKSPACE", "BundleSync", "DeployedFolders", "checked_workspace_path",
           "content_digest", "deployed_folders", "sync_root", "sync_spec", "workspace_folder"]

WORKSPACE = "/Workspace"
_DEFAULT_ROOT = "/Workspace/Users/{user}/.bundle/{bundle}/{target}"
# The pax header of an archive member that stands for a file the server's copy holds already:
# its content's `content_digest` (the member itself is empty). POSIX reserves upper-case
# `VENDOR.keyword` names for vendors; other tar readers ignore it.
KEPT_DIGEST = "HEADWATER.sha256"


@dataclass(frozen=True, slots=True)
class DeployedFolders:
    """Where a bundle deployed to a server lives there: its workspace paths, and the folders
    on the server's machine that stand for them."""

    root_path: str  # `workspace.root_path`, a `/Workspace/...` path
    file_path: str  # `workspace.file_path`: where the sync root is copied
    root_dir: str  # the server's folder for `root_path`
    file_dir: str  # the server's folder for `file_path`


@dataclass(frozen=True, slots=True)
class BundleSync:
    """What a deploy copies and where to.

    `root` is the sync root (the bundle's folder, widened to hold every `sync.paths` folder);
    `paths` the folders copied (absolute); `include` and `exclude` the bundle's patterns;
    `referenced` the files (or globs) the jobs name, copied whatever the ignore rules say;
    `deployed` where the copy lands on a server, or None: the files stay where they are.
    """

    root: str
    paths: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    referenced: tuple[str, ...] = ()
    deployed: DeployedFolders | None = None

    def place(self, local: str) -> str:
        """Where `local` (an absolute path inside the sync root) is when the jobs run."""
        if self.deployed is None:
            return local
        inside = posixpath.relpath(posixpath.normpath(local), self.root)
        if inside == ".":
            return self.deployed.file_dir
        return posixpath.join(self.deployed.file_dir, inside)


def content_digest(content: bytes) -> str:
    """What tells a deployed file's content from another: its SHA-256, in hexadecimal."""
    return hashlib.sha256(content).hexdigest()


def sync_root(root: str, sync_paths: Sequence[str]) -> str:
    """The folder that bounds a bundle's paths: the deepest folder holding `root` and every
    (absolute, normalised) sync path."""
    return posixpath.commonpath([root, *sync_paths]) if sync_paths else root


def checked_workspace_path(text: str) -> str | None:
    """`text` as a normal `/Workspace/...` path (`/Users/...` and `/Shared/...` are read under
    `/Workspace`, as Databricks does), or None when it names no folder of the workspace."""
    if "\x00" in text:
        return None
    if text.startswith(("/Users/", "/Shared/")):
        text = WORKSPACE + text
    if not text.startswith(WORKSPACE + "/"):
        return None
    normal = posixpath.normpath(text)
    if not normal.startswith(WORKSPACE + "/") or normal.split("/")[2:3] in ([""], [".."]):
        return None
    return normal


def workspace_folder(path: str, workspace_dir: str) -> str:
    """The server's folder standing for `path`, a checked `/Workspace/...` path."""
    return posixpath.join(workspace_dir, path[len(WORKSPACE) + 1:])


def deployed_folders(
    written: Sequence[tuple[Origin, str, str]],
    default: tuple[str, str, str],
    workspace_dir: str,
    problems: list[BundleProblem],
) -> DeployedFolders | None:
    """The folders of a bundle deployed to a server whose `/Workspace` is `workspace_dir`.

    Args:
        written: each `workspace.root_path` or `workspace.file_path` the bundle writes (the
            field's name, filled in), in order: a later one (the target's) wins.
        default: the user, bundle name and target that make the default root path.
        workspace_dir: the server's folder standing for `/Workspace`.
        problems: where a path outside the workspace is reported, at the line it is written.
    """
    user, bundle, target = default
    chosen = {"root_path": _DEFAULT_ROOT.format(user=user, bundle=bundle, target=target)}
    for origin, name, value in written:
        checked = checked_workspace_path(value)
        if checked is None:
            problems.append(BundleProblem(origin, format_path(origin.path), (
                f"{value!r} is not a folder of the workspace: give a /Workspace/... path (such "
                f"as {_DEFAULT_ROOT.format(user=user, bundle=bundle, target=target)!r}), which "
                "the server keeps in its workspace folder")))
            return None
        chosen[name] = checked
    root = chosen["root_path"]
    files = chosen.get("file_path", root + "/files")
    return DeployedFolders(root, files, workspace_folder(root, workspace_dir),
                           workspace_folder(files, workspace_dir))


def sync_spec(
    sources: Sequence[BundleSource],
    definitions: Sequence[Definition],
    root: str,
) -> BundleSync:
    """The sync section of the bundle's files and target: the folders of `sync.paths` (from the
    file writing them; default the bundle's folder `root`), the sync root holding them all,
    and the include and exclude patterns, each once, in order."""
    folders = {source.index: source.folder for source in sources}
    sections = [(s.index, s.data.get("sync")) for s in sources]
    sections += [(at.source, d.get("sync")) for at, d in definitions]
    paths: list[str] = []
    include: list[str] = []
    exclude: list[str] = []
    for index, section in sections:
        sync = as_mapping(section)
        folder = folders.get(index) or root
        paths += [posixpath.normpath(posixpath.join(folder, path))
                  for path in as_list(sync.get("paths")) if isinstance(path, str)]
        include += [p for p in as_list(sync.get("include")) if isinstance(p, str)]
        exclude += [p for p in as_list(sync.get("exclude")) if isinstance(p, str)]
    synced = tuple(dict.fromkeys(paths or [root]))
    return BundleSync(sync_root(root, synced), synced,
                      tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude)))
