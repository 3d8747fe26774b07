"""Secret values a task read, shown as `[REDACTED]` in what it prints, as on Databricks.

Databricks replaces the value of every secret read with `dbutils.secrets.get` by `[REDACTED]`
in a notebook's output. headwater does it in the task's own process, the only place that knows
which values were read: `dbutils.secrets` calls `remember` with each value it returns, and from
the first one on, `sys.stdout` and `sys.stderr` (and the logging handlers writing to them) go
through `RedactingStream`, so that `print(token)`, a log record or a traceback naming the value
reach the log redacted. The result a task reports (`channel.update_result`: its error, trace
and notebook output) is redacted too, and so are the task values it sets (`runtime/api.py`):
whoever may view the run reads them.

What this cannot see is not redacted: bytes written to a descriptor directly (`os.write(1,
...)`, `sys.stdout.buffer`), the output of a child process, a value split across two writes,
or one transformed (sliced, encoded, reversed). Like Databricks', this keeps honest code from
leaking a secret by accident; it is no barrier against code that means to.

Standard library only: a task imports it when it reads a secret.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["REDACTED", "RedactingStream", "redact", "redact_all", "remember"]

REDACTED = "[REDACTED]"
_values: list[str] = []  # the longest first: one value may hold another


def remember(value: bytes | str) -> None:
    """Redact `value` (as text, when it is UTF-8) from now on in this process's output."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return  # binary: it cannot appear in text output as it is
    if not value or value in _values:
        return
    _values.append(value)
    _values.sort(key=len, reverse=True)
    if len(_values) == 1:
        _redact_standard_streams()


def redact(text: str) -> str:
    """`text` with every remembered value replaced, the longest first."""
    if not _values:
        return text
    for value in _values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact_all(value: Any) -> Any:
    """`value` with `redact` applied to every string in it (through lists and dicts)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_all(item) for item in value]
    return value


class RedactingStream:
    """A text stream that writes to `stream` with the remembered values redacted; everything
    else (`flush`, `fileno`, `encoding`, `buffer`...) is the stream's own."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text) if isinstance(text, str) else text)
        return len(text)  # what was asked, as the caller counts it

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __repr__(self) -> str:
        return f"<redacting {self._stream!r}>"


def _redact_standard_streams() -> None:
    """Put `sys.stdout` and `sys.stderr` behind `RedactingStream`, and the logging handlers
    that hold either (made before the first secret was read) on the new stream."""
    replaced: dict[int, RedactingStream] = {}
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            replaced[id(stream)] = RedactingStream(stream)
            setattr(sys, name, replaced[id(stream)])
    logging = sys.modules.get("logging")
    if logging is None or not replaced:
        return
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            stream = getattr(handler, "stream", None)
            if id(stream) in replaced:
                handler.stream = replaced[id(stream)]
