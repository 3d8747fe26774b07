"""The audit chain's anchor: its head, appended to a file outside the database as it grows.

A hash chain inside the database shows edits to the entries, but not a log cut short and
re-headed by someone who can write the database. After each transaction that appended
audit entries, the store appends the new head to this file (one JSON line, `O_APPEND`, so
processes on one host can share it); `audit verify` checks every line against the log.

Each line names its database by a digest of its URL, so one file may serve several stores.
Losing a line (a crash between the commit and the append) only weakens the witness; a line
that cannot be read is reported, except a last line cut short by a crash while writing it.

A restored backup holds a shorter (or different) log than the anchor saw, which `audit verify`
cannot tell from a log cut short. `headwater audit reanchor` records the restore in the log,
then appends a line marked `reanchored` at that entry: what this database's earlier lines saw
no longer counts, and the witness goes on from there. The file stays append-only, and the
restore is in the chain for anyone to see (`audit list --action audit.reanchored`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.core.audit import Anchor
from headwater.errors import StoreError

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
        try:
            self._write({"id": entry_id, "hash": entry_hash})
        except OSError as error:
            LOGGER.warning("cannot append the audit anchor to %s: %s", self.path, error)

    def restart(self, entry_id: int, entry_hash: str) -> None:
        """Witness the chain from entry `entry_id` (with `entry_hash`) on, setting aside what
        this database's earlier lines saw: after a restore, which entry `entry_id` records.

        Raises:
            StoreError: when the line cannot be written.
        """
        try:
            self._write({"id": entry_id, "hash": entry_hash, "reanchored": True})
        except OSError as error:
            raise StoreError(f"cannot write the audit anchor {self.path}: {error}") from error

    def last_seen(self) -> Anchor | None:
        """The furthest entry this database's anchors saw; None when this file has none."""
        anchors, _ = self.read()
        return max(anchors, key=lambda anchor: anchor.entry_id, default=None)

    def _write(self, fields: dict[str, Any]) -> None:
        """Append one line about this database (`O_APPEND`: whole lines, whoever writes)."""
        line = json.dumps({"db": self.database, **fields,
                           "at": datetime.now(UTC).isoformat(timespec="seconds")})
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileNotFoundError:  # its folder, made on the first append
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, flags, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def read(self) -> tuple[list[Anchor], list[str]]:
        """This database's anchors since its last `reanchored` line, and a problem for each
        line that cannot be read."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], []
        except (OSError, UnicodeDecodeError) as error:
            return [], [f"the anchor file {self.path} cannot be read: {error}"]
        lines = text.split("\n")
        complete, torn = lines[:-1], lines[-1]  # a last line without "\n": cut by a crash
        anchors: list[Anchor] = []
        problems: list[str] = []
        for number, line in enumerate(complete, start=1):
            try:
                body = json.loads(line)
                if body["db"] == self.database:
                    if body.get("reanchored") is True:  # a restore: earlier lines saw another log
                        anchors.clear()
                    anchors.append(Anchor(int(body["id"]), str(body["hash"]), str(body["at"])))
            except (ValueError, KeyError, TypeError) as error:
                problems.append(f"{self.path}:{number}: an anchor line that cannot be read "
                                f"({error}); it was altered")
        if torn:
            LOGGER.info("ignoring the unfinished last line of %s", self.path)
        return anchors, problems


__all__ = ["AnchorFile", "database_id"]
