"""Instants and durations as pages show them: UTC wall times and short durations. Pure."""

from __future__ import annotations

from datetime import UTC, datetime


def instant(epoch_ms: int | None) -> str:
    """`2026-03-01 14:05:09 UTC`, or "" for 0/None (the Jobs API's "not yet")."""
    if not epoch_ms:
        return ""
    return f"{datetime.fromtimestamp(epoch_ms / 1000, UTC):%Y-%m-%d %H:%M:%S} UTC"


def iso(epoch_ms: int | None) -> str:
    """The ISO 8601 text of an instant for `<time datetime>`, or ""."""
    if not epoch_ms:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")


def of_datetime(moment: datetime | None) -> int:
    """Epoch milliseconds of an aware instant (0 for None), as the documents give them."""
    return 0 if moment is None else int(moment.timestamp() * 1000)


def duration(millis: int | float | None) -> str:
    """`850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; "" for None."""
    if millis is None:
        return ""
    millis = max(0, int(millis))
    if millis < 1000:
        return f"{millis} ms"
    if millis < 60_000:
        return f"{millis / 1000:.1f} s"
    minutes, seconds = divmod(millis // 1000, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def seconds(value: float | None) -> str:
    """A duration given in seconds, as `duration` words it."""
    return "" if value is None else duration(value * 1000)


def number(value: float) -> str:
    """`1,234`, `12.5`, `0.25`: figures as a person reads them."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


__all__ = ["duration", "instant", "iso", "number", "of_datetime", "seconds"]
