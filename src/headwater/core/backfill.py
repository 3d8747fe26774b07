"""Backfills: a job run once for each time of a past range, as Lakeflow's "Run backfill" does.

A backfill splits `[start, end]` into times `every` apart (both ends count: November 1st to
7th, daily, is seven runs) and starts one run per time, oldest first (or newest first). Each
run knows its time: `{{backfill.iso_date}}` (and the other time arguments) and, so that a job
written for its schedule backfills unchanged, `{{job.trigger.time.<arg>}}`. The runs are
ordinary `ONE_TIME` runs (the Jobs API has no backfill trigger) that wait in the job's queue
under its `max_concurrent_runs`; `trigger_info.backfill` says which backfill and which time.

Pure: the service stores the runs, all of them or none, in one transaction.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from headwater.errors import InvalidRequest

__all__ = ["MAX_BACKFILL_RUNS", "Backfill", "Interval", "Unit", "backfill_info",
           "parse_instant", "parse_interval"]

MAX_BACKFILL_RUNS = 1000  # the runs of one backfill: as many as a job's queue holds


class Unit(StrEnum):
    """The unit of a backfill's interval."""

    HOURS = "HOURS"
    DAYS = "DAYS"
    WEEKS = "WEEKS"
    MONTHS = "MONTHS"  # calendar months: the 31st steps to the last day of shorter ones


_UNIT_WORDS = {"h": Unit.HOURS, "d": Unit.DAYS, "w": Unit.WEEKS, "mo": Unit.MONTHS}
_UNIT_TEXT = {unit: text for text, unit in _UNIT_WORDS.items()}
_INTERVAL = re.compile(r"\s*(\d+)\s*(h|d|w|mo)\s*")


@dataclass(frozen=True, slots=True)
class Interval:
    """`count` units between two runs of a backfill."""

    count: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidRequest(f"every: the interval is at least 1 {self.unit.lower()[:-1]}, "
                                 f"got {self.count}")

    def after(self, start: datetime, steps: int) -> datetime:
        """The time `steps` intervals after `start` (counted from `start`, so months do not
        drift: Jan 31st, Feb 28th, Mar 31st)."""
        if self.unit is Unit.MONTHS:
            return _add_months(start, steps * self.count)
        hours = {Unit.HOURS: 1, Unit.DAYS: 24, Unit.WEEKS: 168}[self.unit]
        return start + timedelta(hours=hours * self.count * steps)

    def text(self) -> str:
        """As `parse_interval` reads it: `1d`, `6h`, `1mo`."""
        return f"{self.count}{_UNIT_TEXT[self.unit]}"

    def words(self) -> str:
        unit = self.unit.lower()
        return f"every {self.count} {unit}" if self.count > 1 else f"every {unit[:-1]}"


@dataclass(frozen=True, slots=True)
class Backfill:
    """A range of past times to run a job for."""

    start: datetime  # aware
    end: datetime  # aware, at or after start
    every: Interval
    newest_first: bool = False

    @classmethod
    def of(cls, start: str, end: str, every: str = "1d", newest_first: bool = False
           ) -> Backfill:
        """A backfill as the command line and the API write it (`InvalidRequest` naming the
        field that is wrong)."""
        return cls(parse_instant(start, "start"), parse_instant(end, "end"),
                   parse_interval(every), newest_first)

    def times(self, now: datetime) -> list[datetime]:
        """The runs' times, in the order the runs start.

        Raises:
            InvalidRequest: an end before the start or in the future, or too many runs.
        """
        if self.end < self.start:
            raise InvalidRequest(f"the backfill ends ({_iso(self.end)}) before it starts "
                                 f"({_iso(self.start)}); swap them")
        if self.end > now:
            raise InvalidRequest(f"the backfill ends in the future ({_iso(self.end)}); a "
                                 "backfill replays past times: end it now or earlier")
        found: list[datetime] = []
        while (time := self._step(len(found))) is not None and time <= self.end:
            found.append(time)
            if len(found) > MAX_BACKFILL_RUNS:
                raise InvalidRequest(
                    f"{_iso(self.start)} to {_iso(self.end)} {self.every.words()} is more than "
                    f"{MAX_BACKFILL_RUNS} runs; backfill a shorter range at a time, or a "
                    "longer interval")
        return found[::-1] if self.newest_first else found

    def _step(self, steps: int) -> datetime | None:
        """The `steps`-th time, or None past the last date a datetime holds (year 9999)."""
        try:
            return self.every.after(self.start, steps)
        except (OverflowError, ValueError):
            return None


def backfill_info(backfill_id: int, time: datetime, index: int, count: int) -> dict[str, Any]:
    """`trigger_info` of the `index`-th run (from 1) of a backfill of `count` runs."""
    return {"type": "ONE_TIME", "backfill": {"backfill_id": backfill_id, "time": _iso(time),
                                              "index": index, "count": count}}


def parse_instant(text: str, what: str) -> datetime:
    """`2026-11-01` (midnight) or an ISO date-time; UTC unless it names an offset."""
    try:
        found = datetime.fromisoformat(text.strip())
        return (found if found.tzinfo else found.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(f"{what}: {text!r} is not a date or a date-time; write it as "
                             "2026-11-01 or 2026-11-01T06:00:00Z") from None


def parse_interval(text: str) -> Interval:
    """`6h`, `1d`, `2w` or `1mo`."""
    match = _INTERVAL.fullmatch(text.lower())
    if match is None:
        raise InvalidRequest(f"every: {text!r} is not an interval; write a number and a "
                             "unit, h (hours), d (days), w (weeks) or mo (months), e.g. 1d")
    return Interval(int(match.group(1)), _UNIT_WORDS[match.group(2)])


def _add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")
