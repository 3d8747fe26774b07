"""Deployment keys: what names a job deployed from files, and which of a bundle's deployed jobs
its files no longer define.

A bundle's job is keyed `bundle/<bundle name>/<target>/jobs/<resource key>` on this machine's
own store; deployed to a server, the key also holds the target's `workspace.root_path`
(`bundle/<bundle>/<target>/root/Workspace/Users/ana/.bundle/<bundle>/<target>/jobs/<key>`), as
a Databricks deployment is one per root path (its state is kept there): two users deploying
one bundle with the default root path (each their own folder) get a job each, while users
sharing a root path (`/Workspace/Shared/...`) share its jobs. A plain job file's job is keyed
`file/<absolute path>/jobs/<name>`. Every key of one deployment starts with its prefix, which
is how a deploy finds the jobs it made before and a destroy finds everything it made. A plain
file's keys never start with a bundle's prefix, so no bundle deploy ever removes them.

A server deployment made before keys held the root path has the key without it: the first
deploy by the job's creator takes it over (`unrooted_prefix`).
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["DEFAULT_TARGET", "bundle_key", "bundle_prefix", "deployment_source", "file_key",
           "is_left_out", "resource_key", "target_of", "unrooted_prefix"]

DEFAULT_TARGET = "default"  # the target of a bundle that defines none


def bundle_prefix(bundle: str, target: str | None, root_path: str | None = None) -> str:
    """What every deployment key of `bundle`'s jobs under `target` starts with (deployed to a
    server: at `root_path`, its `workspace.root_path`)."""
    rooted = f"root{root_path}/" if root_path is not None else ""
    return f"bundle/{bundle}/{target or DEFAULT_TARGET}/{rooted}jobs/"


def bundle_key(bundle: str, target: str | None, resource: str,
               root_path: str | None = None) -> str:
    """The deployment key of a bundle's job: its bundle, target, root path on a server, and
    resource key."""
    return bundle_prefix(bundle, target, root_path) + resource


def unrooted_prefix(prefix: str) -> str | None:
    """The prefix a server deployment's keys had before they held its root path (None for a
    prefix without one)."""
    parts = prefix.split("/", 3)
    if len(parts) < 4 or parts[0] != "bundle" or not parts[3].startswith("root/"):
        return None
    return f"bundle/{parts[1]}/{parts[2]}/jobs/"


def target_of(deployment_key: str) -> str | None:
    """The target a bundle's job was deployed under; None for a bundle without targets, or a
    plain file's job."""
    parts = deployment_key.split("/", 3)
    if len(parts) < 4 or parts[0] != "bundle" or parts[2] == DEFAULT_TARGET:
        return None
    return parts[2]


def file_key(posix_path: str, resource: str) -> str:
    """The deployment key of a job in a plain job file (not a bundle): its path and name."""
    return f"file/{posix_path}/jobs/{resource}"


def deployment_source(deployment_key: str) -> str:
    """What a deployment key names, in words: `bundle shop (target dev)`, or `the job file
    /srv/jobs/etl.yml (job nightly)`."""
    if deployment_key.startswith("file/"):
        path, _, name = deployment_key.removeprefix("file/").rpartition("/jobs/")
        return f"the job file {path} (job {name})"
    parts = deployment_key.split("/", 3)
    if len(parts) == 4 and parts[0] == "bundle":
        return f"bundle {parts[1]} (target {parts[2]})"
    return deployment_key


def resource_key(deployment_key: str | None, prefix: str) -> str | None:
    """The resource key of a job deployed under `prefix` (a bundle and target), or None for a
    key of another bundle, target or file.

    Exact, case and all: the store's prefix match is a coarse filter (SQLite's LIKE ignores
    case), this is the decision.
    """
    if deployment_key is None or not deployment_key.startswith(prefix):
        return None
    rest = deployment_key[len(prefix):]
    return rest if rest and "/" not in rest else None


def is_left_out(deployment_key: str | None, prefix: str, kept: Collection[str]) -> bool:
    """Whether a job deployed under `prefix` is one the bundle no longer defines: its resource
    key is not among `kept` (the resource keys the bundle's files have now)."""
    key = resource_key(deployment_key, prefix)
    return key is not None and key not in kept
