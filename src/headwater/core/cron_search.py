"""Quartz's search for the next fire time, step for step: `CronExpression.getTimeAfter`.

Quartz does not enumerate matching times; it walks a lenient `java.util.GregorianCalendar` in
the schedule's zone. From one second after the given instant it looks at the fields from
seconds up to years; the first that does not match is moved to its next allowed value (the
lower ones reset, the higher one carried), and the walk starts over, until every field
matches. Each time a field is written, the calendar reads the wall time back as an instant the
way Java does:

- a wall time that the zone skips (a spring-forward gap) becomes the instant it would be with
  the offset from before the jump, so 02:30 in a gap from 02:00 to 03:00 becomes 03:30 and the
  walk goes on from there: a fire time in the gap is skipped, and when the jump is not a whole
  hour (Australia/Lord_Howe: 30 minutes) so may a real time just after the gap;
- a wall time that happens twice (a fall-back overlap) becomes the later instant, in standard
  time, so a repeated hour fires once, in its second occurrence;
- setting an hour that the jump moved (02 became 03) writes the next hour instead.

This module repeats those moves in the same order, on a naive wall time that stands for the
calendar (`_Walk`), so that headwater fires when Quartz fires, gaps and overlaps included. The
only departures are where Quartz cannot answer: `L-nW` in a month shorter than n days makes
Quartz loop forever (headwater skips the month), and years end at `LAST_YEAR` (Quartz: the
current year + 100).
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from headwater.core.cron_expression import CronExpression
from headwater.core.cron_syntax import LAST_YEAR, CronError

__all__ = ["instant_of", "time_after"]

SATURDAY, SUNDAY = 7, 1  # java.util.Calendar's DAY_OF_WEEK
MAX_MOVES = 100_000  # far above any real search (one that never fires stops after ~700)


class _Stop:
    """A step's answer when no fire time is left: the years ran out."""


STOP = _Stop()
Move = datetime | _Stop | None  # a wall time to start over from, the end, or "this field fits"


def instant_of(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant Java's calendar gives a naive wall time in `zone`: in a gap, the offset
    from before the jump (the time moves forward); in an overlap, the later instant."""
    earlier = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    later = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return max(earlier, later)


def time_after(cron: CronExpression, zone: tzinfo, after: datetime) -> datetime | None:
    """The first fire time strictly after the aware instant `after`, as Quartz finds it, in
    UTC; None when the expression fires no more.

    Fractions of a second in `after` are dropped, as Quartz drops them.
    """
    start = after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    walk = _Walk(cron, zone, start)
    wall = walk.settle(start.astimezone(zone).replace(tzinfo=None))
    for _ in range(MAX_MOVES):
        move = walk.step(wall)
        if move is None:
            return instant_of(wall, zone)
        if isinstance(move, _Stop):
            return None
        wall = walk.settle(move)
    raise CronError(f"the search for the next fire time of {cron.text!r} did not end; this is "
                    "a bug in headwater: please report the expression")


@dataclass(frozen=True, slots=True)
class _Walk:
    """One search: the expression, the zone, and Quartz's `afterTime` (after + 1 s)."""

    cron: CronExpression
    zone: tzinfo
    start: datetime  # aware UTC

    def settle(self, wall: datetime) -> datetime:
        """The wall time as Java's calendar reads it back (moved forward out of a gap)."""
        return instant_of(wall, self.zone).astimezone(self.zone).replace(tzinfo=None)

    def step(self, wall: datetime) -> Move:
        """The first field, seconds up, that needs a move, and the move; None if all fit."""
        for field_step in (_second, _minute, _hour, _day, _month, _year):
            move = field_step(self, wall)
            if move is not None:
                return move
        return None

    def with_hour(self, year: int, month: int, day: int, hour: int, minute: int,
                  second: int) -> datetime:
        """Quartz's `setCalendarHour`: if the zone's jump moved the hour, take the next one."""
        wall = self.settle(lenient(year, month, day, hour, minute, second))
        if wall.hour != hour and hour != 24:
            return lenient(wall.year, wall.month, wall.day, hour + 1, wall.minute, wall.second)
        return wall


def lenient(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
            second: int = 0) -> datetime:
    """A wall time from fields that may overflow, as a lenient Java calendar adds them up:
    month 13 is January of the next year, April 31 is May 1, hour 24 the next day."""
    years, month_index = divmod(month - 1, 12)
    first = datetime(year + years, month_index + 1, 1)
    return first + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)


def _next(values: tuple[int, ...], current: int) -> int | None:
    """The first allowed value at or after `current` (Quartz's `tailSet(current).first()`)."""
    index = bisect_left(values, current)
    return values[index] if index < len(values) else None


def _next_or_carry(values: tuple[int, ...], current: int) -> tuple[int, int]:
    """The next allowed value and 0, or (none left) the first value and 1 to carry."""
    found = _next(values, current)
    return (found, 0) if found is not None else (values[0], 1)


def _second(walk: _Walk, wall: datetime) -> Move:
    second, carry = _next_or_carry(walk.cron.seconds, wall.second)
    if (second, carry) == (wall.second, 0):
        return None
    return lenient(wall.year, wall.month, wall.day, wall.hour, wall.minute + carry, second)


def _minute(walk: _Walk, wall: datetime) -> Move:
    minute, carry = _next_or_carry(walk.cron.minutes, wall.minute)
    if (minute, carry) == (wall.minute, 0):
        return None
    return walk.with_hour(wall.year, wall.month, wall.day, wall.hour + carry, minute, 0)


def _hour(walk: _Walk, wall: datetime) -> Move:
    hour, carry = _next_or_carry(walk.cron.hours, wall.hour)
    if (hour, carry) == (wall.hour, 0):
        return None
    return walk.with_hour(wall.year, wall.month, wall.day + carry, hour, 0, 0)


def _month(walk: _Walk, wall: datetime) -> Move:
    if wall.year > LAST_YEAR:
        return STOP
    found = _next(walk.cron.months, wall.month)
    if found == wall.month:
        return None
    if found is None:
        return lenient(wall.year + 1, walk.cron.months[0], 1)
    return lenient(wall.year, found, 1)


def _year(walk: _Walk, wall: datetime) -> Move:
    found = _next(walk.cron.years, wall.year)
    if found is None:
        return STOP
    return None if found == wall.year else lenient(found, 1, 1)


# Days -----------------------------------------------------------------------------------------


def _day(walk: _Walk, wall: datetime) -> Move:
    cron = walk.cron
    if cron.by_day_of_week:
        if cron.last_day_of_week:
            return _last_weekday_of_month(walk, wall)
        if cron.nth_day_of_week:
            return _nth_weekday_of_month(walk, wall)
        return _weekdays(walk, wall)
    if cron.last_day_of_month:
        return _last_weekday(walk, wall) if cron.nearest_weekday else _last_day(walk, wall)
    if cron.nearest_weekday:
        return _nearest_weekday(walk, wall)
    return _days(walk, wall)


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _java_weekday(wall: datetime) -> int:
    """Java's DAY_OF_WEEK: 1 = Sunday ... 7 = Saturday, as Quartz numbers the days."""
    return (wall.weekday() + 1) % 7 + 1


def _to_day(wall: datetime, day: int) -> Move:
    """Midnight of `day` of the wall time's month, unless the wall time is on it already."""
    return None if day == wall.day else lenient(wall.year, wall.month, day)


def _next_month(wall: datetime, day: int = 1) -> datetime:
    return lenient(wall.year, wall.month + 1, day)


def _days(walk: _Walk, wall: datetime) -> Move:
    """A list of days of the month; a day the month lacks (31 in April) moves on."""
    found = _next(walk.cron.days_of_month, wall.day)
    if found is None or found > _month_length(wall.year, wall.month):
        return _next_month(wall, walk.cron.days_of_month[0])
    return _to_day(wall, found)


def _last_day(walk: _Walk, wall: datetime) -> Move:
    """`L` and `L-n`: the last day, or n days before it."""
    day = _month_length(wall.year, wall.month) - walk.cron.last_day_offset
    return _next_month(wall) if wall.day > day else _to_day(wall, day)


def _last_weekday(walk: _Walk, wall: datetime) -> Move:
    """`LW` and `L-nW`: the weekday nearest the last day (or n days before it)."""
    day = _month_length(wall.year, wall.month) - walk.cron.last_day_offset
    if day < 1:  # Quartz loops forever here; the month has no such day
        return _next_month(wall)
    return _weekday_near(walk, wall, day, _next_month(wall))


def _nearest_weekday(walk: _Walk, wall: datetime) -> Move:
    """`nW`: the weekday nearest day n, never in another month, except that Quartz reads a
    day the month lacks (31 in April) as a day of the next one."""
    day = walk.cron.days_of_month[0]
    return _weekday_near(walk, wall, day, _next_month(wall, day))


def _weekday_near(walk: _Walk, wall: datetime, day: int, passed: datetime) -> Move:
    """Quartz's nearest-weekday rule for `day`; `passed` is where to go when it has gone by.

    Saturday moves to Friday, Sunday to Monday, except that the 1st moves from Saturday to
    Monday the 3rd and the last day from Sunday to Friday, so the day stays in its month.
    """
    weekday = _java_weekday(walk.settle(lenient(wall.year, wall.month, day)))
    length = _month_length(wall.year, wall.month)
    if weekday == SATURDAY:
        day += 2 if day == 1 else -1
    elif weekday == SUNDAY:
        day += -2 if day == length else 1
    then = lenient(wall.year, wall.month, day, wall.hour, wall.minute, wall.second)
    if instant_of(then, walk.zone) < walk.start:
        return passed
    return _to_day(wall, day)


def _last_weekday_of_month(walk: _Walk, wall: datetime) -> Move:
    """`aL`: the last such day of the week in the month."""
    wanted, length = walk.cron.days_of_week[0], _month_length(wall.year, wall.month)
    ahead = (wanted - _java_weekday(wall)) % 7
    if wall.day + ahead > length:
        return _next_month(wall)
    while wall.day + ahead + 7 <= length:
        ahead += 7
    return _to_day(wall, wall.day + ahead)


def _nth_weekday_of_month(walk: _Walk, wall: datetime) -> Move:
    """`a#k`: the k-th such day of the week in the month; none when the month has fewer."""
    wanted = walk.cron.days_of_week[0]
    day = wall.day + (wanted - _java_weekday(wall)) % 7
    week = -(-day // 7)
    day += (walk.cron.nth_day_of_week - week) * 7
    if week > walk.cron.nth_day_of_week or day > _month_length(wall.year, wall.month):
        return _next_month(wall)
    return _to_day(wall, day)


def _weekdays(walk: _Walk, wall: datetime) -> Move:
    """A list of days of the week: the next one this month, else the 1st of the next."""
    today = _java_weekday(wall)
    wanted = _next(walk.cron.days_of_week, today)
    ahead = ((wanted if wanted is not None else walk.cron.days_of_week[0]) - today) % 7
    if wall.day + ahead > _month_length(wall.year, wall.month):
        return _next_month(wall)
    return _to_day(wall, wall.day + ahead)
