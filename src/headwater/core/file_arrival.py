"""Where a file-arrival trigger's `url` points, read from the text alone.

On Databricks the URL names a Unity Catalog volume (`/Volumes/...`), DBFS (`dbfs:/...`) or an
external location in cloud storage (`s3://`, `abfss://`, `gs://`). headwater watches folders
of this machine: a volume or DBFS path is the folder tasks see under that path through
`dbutils.fs` (`runtime/dbfs.py`, mapped by the engine), a path or `file://` URL is a local
folder, and any other scheme is storage headwater cannot list, refused when the job is saved
rather than found out by the scheduler's log.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlparse

__all__ = ["WatchedLocation", "unwatchable_message", "watched_location"]

VOLUMES = "/Volumes"


class WatchedLocation(StrEnum):
    """What kind of place a file-arrival URL names."""

    LOCAL = "local"  # a path (absolute, or relative to the job's file) or a file:// URL
    DBFS = "dbfs"  # /Volumes/... or dbfs:/...: the folder tasks see as DBFS and the volumes
    CLOUD = "cloud"  # any other scheme (s3://, abfss://, gs://, ...): not on this machine


def watched_location(url: str) -> WatchedLocation:
    """The kind of place `url` names (`file:/Volumes/...` is the machine's own path, as in
    `dbutils.fs`)."""
    scheme = urlparse(url).scheme.lower()
    if scheme == "dbfs" or (not scheme and (url == VOLUMES or url.startswith(VOLUMES + "/"))):
        return WatchedLocation.DBFS
    if scheme in ("", "file"):
        return WatchedLocation.LOCAL
    return WatchedLocation.CLOUD


def unwatchable_message(url: str) -> str:
    """What is wrong with a cloud-storage `url`, and what to write instead."""
    scheme = urlparse(url).scheme
    return (f"{url!r} is in cloud storage ({scheme}://), which headwater cannot watch: it "
            "watches local folders and Unity Catalog volume or DBFS paths. Write a "
            "/Volumes/<catalog>/<schema>/<volume>/... or dbfs:/... path (the folder tasks "
            "write with dbutils.fs), or a local folder (a path, or file:///path) where the "
            "storage is mounted")
