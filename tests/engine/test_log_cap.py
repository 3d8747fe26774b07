"""An attempt's log is capped while a real process appends to it, and keeps its tail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from headwater.engine.log_cap import cap_log, previous_segment, read_chunks, read_tail

CAP = 64 * 1024
WRITER = """
import os, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
for n in range(int(sys.argv[2])):
    os.write(log, b"line %08d\\n" % n)
print("written", flush=True)
sys.stdin.readline()
os.write(log, b"the end\\n")
"""


def test_a_growing_log_stays_under_twice_the_cap_and_ends_with_the_latest_lines(
    tmp_path: Path,
) -> None:
    # Given a process appending 200,000 lines (3 MB) through an O_APPEND descriptor
    log = tmp_path / "output.log"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log), "200000"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdin is not None and writer.stdout is not None
    os.set_blocking(writer.stdout.fileno(), False)
    rotations = 0
    while not writer.stdout.readline():
        # When the log is capped again and again while it grows
        rotations += cap_log(log, CAP)
    rotations += cap_log(log, CAP)
    kept_after_check = _kept(log)
    writer.stdin.write("go\n")
    writer.stdin.close()
    assert writer.wait() == 0

    # Then it rotated, what is kept stays bounded, and the newest line is kept last
    assert rotations >= 2
    # (twice the cap, and what the writer added while a copy was made: a fraction of it)
    assert kept_after_check <= 4 * CAP
    kept = b"".join(read_chunks(log)).decode()
    assert kept.startswith("[headwater: earlier output of this attempt was dropped")
    assert kept.endswith("the end\n")
    numbers = [int(line.split()[1]) for line in kept.splitlines()[1:-1]]
    assert numbers == sorted(set(numbers))  # in order, with no line written twice


def test_a_rotation_never_keeps_half_a_line(tmp_path: Path) -> None:
    # Given a log over the cap whose last line is unfinished (a write read half-way)
    log = tmp_path / "output.log"
    log.write_bytes(b"".join(b"line %08d\n" % n for n in range(10_000)) + b"line 000")

    # When it is capped
    assert cap_log(log, CAP)

    # Then the kept output ends with the last whole line, never with the half one
    kept = previous_segment(log).read_bytes()
    assert kept.endswith(b"line 00009999\n")
    assert log.read_bytes() == b""


def test_a_log_under_the_cap_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    log.write_bytes(b"x" * CAP)
    assert not cap_log(log, CAP)
    assert not previous_segment(log).exists() and log.stat().st_size == CAP
    assert not cap_log(tmp_path / "missing.log", CAP)


def test_the_tail_spans_both_segments_and_says_when_it_was_cut(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    previous_segment(log).write_bytes(b"0123456789")
    log.write_bytes(b"abcdef")

    assert read_tail(log, 4) == (b"cdef", True)
    assert read_tail(log, 10) == (b"6789abcdef", True)
    assert read_tail(log, 16) == (b"0123456789abcdef", False)
    assert read_tail(log, 100) == (b"0123456789abcdef", False)
    assert read_tail(tmp_path / "none.log", 10) == (b"", False)


def test_chunks_are_bounded_whatever_the_size_of_the_log(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    with log.open("wb") as file:
        file.truncate(5 * 1024 * 1024)  # sparse: 5 MB read back a chunk at a time
    sizes = [len(chunk) for chunk in read_chunks(log)]
    assert sum(sizes) == 5 * 1024 * 1024 and max(sizes) <= 64 * 1024


def _kept(log: Path) -> int:
    return sum(os.path.getsize(p) for p in (log, previous_segment(log)) if p.exists())
