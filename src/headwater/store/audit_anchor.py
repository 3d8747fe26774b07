"""The audit chain's anchor: its head, appended to a file outside the database as it grows.

A hash chain inside the database shows edits to the entries, but not a log cut short and
re-headed by someone who can write the database. After each transaction that appended
audit entries, the store appends the new head to this file (one JSON line, `O_APPEND`, so
processes on one host can share it); `audit verify` checks every line against the log.

Each line names its database by a digest of its URL, so one file may serve several stores.
Losing a line (a crash between the commit and the append) only weakens the witness; a line
that cannot be read is reported, except a last line cut short by a crash while writing it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from headwater.core.audit import Anchor

LOGGER = logging.getLogger("headwater.store")


def database_id(url: str) -> str:
    """A short digest naming the database of `url` in anchor lines (no password leaks)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class AnchorFile:
    """The anchor lines of one database in a file (created readable by its owner only)."""

    def __init__(self, path: Path, url: str) -> None:
        self.path, self.database = path, database_id(url)

    def append(self, entry_id: int, entry_hash: str) -> None:
        """Record that the chain's head is `entry_id` with `entry_hash` (best effort: the
        transaction has committed; a failure is logged, never raised)."""
        line = json.dumps({"db": self.database, "id": entry_id, "hash": entry_hash,
                           "at": datetime.now(UTC).isoformat(timespec="seconds")})
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            try:
                fd = os.open(self.path, flags, 0o600)
            except FileNotFoundError:  # its folder, made on the first append
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, flags, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as error:
            LOGGER.warning("cannot append the audit anchor to %s: %s", self.path, error)

    def read(self) -> tuple[list[Anchor], list[str]]:
        """This database's anchors, and a problem for each line that cannot be read."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], []
        except (OSError, UnicodeDecodeError) as error:
            return [], [f"the anchor file {self.path} cannot be read: {error}"]
        lines = text.split("\n")
        complete, torn = lines[:-1], lines[-1]  # a last line without "\n": cut by a crash
        anchors, problems = [], []
        for number, line in enumerate(complete, start=1):
            try:
                body = json.loads(line)
                if body["db"] == self.database:
                    anchors.append(Anchor(int(body["id"]), str(body["hash"]), str(body["at"])))
            except (ValueError, KeyError, TypeError) as error:
                problems.append(f"{self.path}:{number}: an anchor line that cannot be read "
                                f"({error}); it was altered")
        if torn:
            LOGGER.info("ignoring the unfinished last line of %s", self.path)
        return anchors, problems


__all__ = ["AnchorFile", "database_id"]
