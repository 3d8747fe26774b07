"""Caps an attempt's log while it runs, keeping its tail: a task that prints without end
fills no disk.

The task writes `output.log` through an `O_APPEND` descriptor that the attempt parent opened,
so the engine cannot swap the file under it; it copies and truncates instead (as logrotate's
`copytruncate` does): once the log passes the cap (checked every few seconds), its last
`cap` bytes move to `output.log.1` (replacing the one before) and the log starts again from
empty. Right after a check an attempt's output takes at most twice the cap on disk, and
readers see `output.log.1` then `output.log`: the latest output, in order.
Output written between the last read and the truncation (microseconds) is lost, and so is
an unfinished last line (a write the copy may have read half of): a cap is a bound, not an
archive, and it never splices half a line to another.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

DEFAULT_CAP_BYTES = 100 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


def previous_segment(log: Path) -> Path:
    """Where the output before the last rotation is kept."""
    return log.with_name(log.name + ".1")


def cap_log(log: Path, cap_bytes: int) -> bool:
    """Rotate `log` if it is over `cap_bytes`, keeping its last `cap_bytes` (from a line
    start); True when it did."""
    try:
        size = log.stat().st_size
    except FileNotFoundError:
        return False
    if size <= cap_bytes:
        return False
    temporary = log.with_name(f".{log.name}.1.tmp")
    with log.open("rb") as source, temporary.open("w+b") as copy:
        copy.write(b"[headwater: earlier output of this attempt was dropped: its log is "
                   b"capped at %d bytes, and keeps the latest]\n" % cap_bytes)
        source.seek(size - cap_bytes)
        source.readline(CHUNK_BYTES)  # from the start of a line, if one is near
        shutil.copyfileobj(source, copy, CHUNK_BYTES)
        os.replace(temporary, previous_segment(log))
        shutil.copyfileobj(source, copy, CHUNK_BYTES)  # what came meanwhile: a short race
        _end_at_a_line_end(copy)
        os.truncate(log, 0)  # the task's O_APPEND writes go on from the new end
    return True


def _end_at_a_line_end(copy: BinaryIO) -> None:
    """Drop what follows the copy's last newline (within a chunk of its end): a write the
    copy read half of, whose other half the truncation then drops, is dropped whole."""
    end = copy.seek(0, os.SEEK_END)
    start = copy.seek(max(0, end - CHUNK_BYTES))
    tail = copy.read()
    newline = tail.rfind(b"\n")
    if 0 <= newline < len(tail) - 1:
        copy.truncate(start + newline + 1)


def read_chunks(log: Path) -> Iterator[bytes]:
    """The whole kept log, oldest first, a chunk at a time (never all of it in memory)."""
    for segment in (previous_segment(log), log):
        try:
            with segment.open("rb") as file:
                while chunk := file.read(CHUNK_BYTES):
                    yield chunk
        except FileNotFoundError:
            continue


def read_tail(log: Path, limit: int) -> tuple[bytes, bool]:
    """The last `limit` bytes of the kept log and whether anything before them was left out."""
    tail, cut = b"", False
    for segment in (log, previous_segment(log)):  # newest first, until the limit is reached
        try:
            with segment.open("rb") as file:
                size = file.seek(0, os.SEEK_END)
                wanted = limit - len(tail)
                file.seek(max(0, size - wanted))
                tail = file.read(wanted) + tail
                cut = cut or size > wanted
        except FileNotFoundError:
            continue
        if len(tail) >= limit:
            cut = cut or (segment == log and previous_segment(log).exists())
            break
    return tail, cut
