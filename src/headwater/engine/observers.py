"""What the scheduler observes for file-arrival and table-update triggers.

- `watched_folder(url, base, dbfs)` and `watched_files(folder)`: a watched folder, and the
  files under it (recursively, at most `MAX_FILES`), by path relative to it, with their
  sizes. The folder is a local path or a
  `file://` URL (a relative path starts at the job's folder), or a Unity Catalog volume or
  DBFS path (`/Volumes/...`, `dbfs:/...`), mapped into the DBFS folder by the same function
  that maps tasks' `dbutils.fs` paths, so a file a task writes there is the file watched. A
  folder that does not exist yet has no files.
- `TableCommits`: the commits the tables of one warehouse received through headwater's SQL
  (SQL tasks, notebooks' `sql()` and `%sql`, dbt), which the task side appends to a log: beside
  a DuckDB file, else in the home (`headwater.entrypoints.sql`). A table's version is its
  number of commits. Writes that bypass headwater (another client) are not seen.
- `WarehouseCommits`: those of every warehouse headwater knows, as one: a table's version is
  its commits in all of them (a table-update trigger names tables, not warehouses).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from headwater.core.file_arrival import WatchedLocation, unwatchable_message, watched_location
from headwater.core.trigger_info import normal_table
from headwater.entrypoints.sql import COMMITS_SUFFIX  # where the task side writes them
from headwater.errors import InvalidRequest
from headwater.runtime.dbfs import local_path

MAX_FILES = 10_000  # Lakeflow watches at most this many files per path


def watched_folder(url: str, base: Path, dbfs: Path) -> Path:
    """The local folder a file-arrival `url` names, with relative paths under `base` and
    volume and DBFS paths under `dbfs`; `InvalidRequest` for cloud storage (a job saved
    before validation refused it)."""
    location = watched_location(url)
    if location == WatchedLocation.DBFS:
        return local_path(url, dbfs)
    if location == WatchedLocation.LOCAL:
        parsed = urlparse(url)
        path = Path(unquote(parsed.path) if parsed.scheme else url)
        return path if path.is_absolute() else base / path
    raise InvalidRequest(f"file_arrival.url: {unwatchable_message(url)}")


def watched_files(root: Path) -> dict[str, int]:
    """The files under the watched folder, relative path -> size (hidden files left out)."""
    found: dict[str, int] = {}
    pending = [root]
    while pending and len(found) < MAX_FILES:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # files being written as .tmp and renamed count once renamed
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file():
                found[str(Path(entry.path).relative_to(root))] = entry.stat().st_size
    return found


def commits_path(warehouse: Path) -> Path:
    """Where the commits of a DuckDB warehouse file are logged."""
    return warehouse.with_name(warehouse.name + COMMITS_SUFFIX)


class TableCommits:
    """Reads the commit log incrementally: each look reads only the lines added since."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.counts: dict[str, int] = {}
        self.times: dict[str, datetime] = {}  # each table's latest commit

    def versions(self) -> dict[str, int]:
        """`schema.table` -> commits so far."""
        try:
            with self.path.open("rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return dict(self.counts)
        complete = data[: data.rfind(b"\n") + 1]  # a line being written waits for next time
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                commit = json.loads(line)
                table = commit["table"]
            except (ValueError, KeyError, TypeError):
                continue
            name = normal_table(str(table))
            self.counts[name] = self.counts.get(name, 0) + 1
            at = commit.get("at")
            if isinstance(at, int | float) and not isinstance(at, bool):
                # a time no datetime holds is left out: the version still counts
                with suppress(OverflowError, OSError, ValueError):
                    self.times[name] = datetime.fromtimestamp(at, UTC)
        return dict(self.counts)


class WarehouseCommits:
    """The commit logs of several warehouses, read as one (each incrementally)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.logs = [TableCommits(path) for path in dict.fromkeys(paths)]

    def versions(self) -> dict[str, int]:
        """`schema.table` -> commits so far, over every log."""
        total: dict[str, int] = {}
        for log in self.logs:
            for name, count in log.versions().items():
                total[name] = total.get(name, 0) + count
        return total

    @property
    def times(self) -> dict[str, datetime]:
        """Each table's latest commit, over every log (as of the last `versions`)."""
        latest: dict[str, datetime] = {}
        for log in self.logs:
            for name, at in log.times.items():
                latest[name] = max(at, latest.get(name, at))
        return latest
