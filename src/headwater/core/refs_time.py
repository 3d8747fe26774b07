"""Time arguments of dynamic value references: `{{job.start_time.<arg>}}` and
`{{job.trigger.time.<arg>}}`.

Every argument formats the instant in UTC, whatever the job's schedule time zone, so a run at
a daylight-saving change formats the same as any other. Formats (for 2026-05-03T07:04:09.5Z):

    iso_weekday    7                          1..7, Monday is 1
    is_weekday     false                      true Monday to Friday
    iso_date       2026-05-03                 YYYY-MM-DD
    iso_datetime   2026-05-03T07:04:09.500Z   YYYY-MM-DDTHH:MM:SS.mmmZ, always 3 digits of ms
    year           2026
    month          5                          the single component, not zero-padded
    day            3                          (like Java's getMonthValue()/getDayOfMonth())
    hour           7
    minute         4
    second         9
    timestamp_ms   1777791849500              epoch milliseconds

The Databricks documentation names the arguments without showing their output; headwater picks
the ISO-8601 shape that Java's `Instant` prints (milliseconds always shown, for a fixed width)
and unpadded components, which are the numbers themselves. A naive instant is taken as UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MILLISECOND = timedelta(milliseconds=1)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _iso_datetime(instant: datetime) -> str:
    return f"{instant:%Y-%m-%dT%H:%M:%S}.{instant.microsecond // 1000:03d}Z"


def _timestamp_ms(instant: datetime) -> str:
    return str((instant - EPOCH) // ONE_MILLISECOND)


# Argument name -> its text for a UTC instant, in the order the documentation lists them.
TIME_ARGUMENTS: dict[str, Callable[[datetime], str]] = {
    "iso_weekday": lambda instant: str(instant.isoweekday()),
    "is_weekday": lambda instant: "true" if instant.isoweekday() <= 5 else "false",
    "iso_date": lambda instant: instant.date().isoformat(),
    "iso_datetime": _iso_datetime,
    "year": lambda instant: str(instant.year),
    "month": lambda instant: str(instant.month),
    "day": lambda instant: str(instant.day),
    "hour": lambda instant: str(instant.hour),
    "minute": lambda instant: str(instant.minute),
    "second": lambda instant: str(instant.second),
    "timestamp_ms": _timestamp_ms,
}


def format_time(instant: datetime, argument: str) -> str:
    """`instant` in UTC, formatted per the time `argument` (a key of `TIME_ARGUMENTS`).

    Raises:
        KeyError: for an unknown argument (`refs.shape_problem` reports those first).
    """
    return TIME_ARGUMENTS[argument](_utc(instant))
