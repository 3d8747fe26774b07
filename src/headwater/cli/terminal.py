"""Text from tasks reaches the operator's terminal as text, never as terminal commands.

A task's output, its error message and a job's name are the task author's words: an escape
sequence in them could retitle the window, rewrite what is on screen, hide lines or, on some
terminals, answer back as typed input. Every control character but newline and tab is shown
the way `cat -v` shows it (ESC as `^[`, a lone CR as `^M`, C1 controls as `\\x9b`), so a
sequence stays readable and inert. `runs logs --raw` gives the bytes unchanged.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

_CONTROL = re.compile(r"\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r\n":
        return "\n"
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return "^?" if code == 0x7F else f"\\x{code:02x}"


def printable(text: str) -> str:
    """`text` with its control characters (newline and tab aside) made visible."""
    return _CONTROL.sub(_shown, text)


def printable_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`printable` over a byte stream, decoded as UTF-8 (invalid bytes become U+FFFD)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    held = ""  # a CR at the end of a chunk: its LF may start the next one
    for chunk in chunks:
        text = held + decoder.decode(chunk)
        text, held = (text[:-1], "\r") if text.endswith("\r") else (text, "")
        yield printable(text).encode()
    yield printable(held + decoder.decode(b"", final=True)).encode()
