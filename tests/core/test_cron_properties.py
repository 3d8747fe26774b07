"""Hypothesis properties of the cron evaluator, over random expressions, zones and starts.

For every fire time: the times strictly increase from `after`; each one's wall time in the zone
matches the expression (checked here by a plain reading of the fields, not by the search);
none lies in a DST gap, and a repeated wall time fires at its second occurrence; and asking
again from any fire time gives the rest of the list.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.core.cron import CronExpression, next_fire_times, parse_cron

ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Australia/Sydney",
         "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "Pacific/Chatham",
         "America/St_Johns", "Asia/Tehran"]
WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@st.composite
def field(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """One field in a form Quartz reads in full."""
    def value() -> str:
        number = draw(st.integers(low, high))
        return names[number - low] if names and draw(st.booleans()) else str(number)

    step = draw(st.integers(1, max(1, (high - low) // 2)))
    kind = draw(st.sampled_from(["*", "a", "a-b", "a/n", "*/n", "a-b/n", "list"]))
    if kind == "a":
        return value()
    if kind == "a-b":
        first, last = draw(st.integers(low, high)), draw(st.integers(low, high))
        return f"{first}-{last}"
    if kind == "a/n":
        return f"{draw(st.integers(low, high))}/{step}"
    if kind == "*/n":
        return f"*/{step}"
    if kind == "a-b/n":
        return f"{draw(st.integers(low, high))}-{draw(st.integers(low, high))}/{step}"
    if kind == "list":
        return ",".join(value() for _ in range(draw(st.integers(2, 4))))
    return "*"


@st.composite
def expressions(draw: st.DrawFn) -> str:
    by_week = draw(st.booleans())
    if by_week:
        day = "?"
        weekday = draw(st.one_of(
            field(1, 7, WEEKDAY_NAMES),
            st.builds(lambda d, k: f"{d}#{k}", st.integers(1, 7), st.integers(1, 5)),
            st.builds(lambda d: f"{d}L", st.integers(1, 7)),
            st.just("L")))
    else:
        weekday = "?"
        day = draw(st.one_of(
            field(1, 31),
            st.sampled_from(["L", "LW"]),
            st.builds(lambda n: f"L-{n}", st.integers(0, 30)),
            st.builds(lambda n: f"L-{n}W", st.integers(0, 27)),
            st.builds(lambda n: f"{n}W", st.integers(1, 31))))
    # few seconds a minute, and often every hour and month, to meet the DST changes
    second = draw(st.one_of(st.just("0"), field(0, 59)))
    minute = draw(st.one_of(st.sampled_from(["0", "30", "*/15", "10,40"]), field(0, 59)))
    hour = draw(st.one_of(st.just("*"), field(0, 23)))
    month = draw(st.one_of(st.just("*"), field(1, 12)))
    return f"{second} {minute} {hour} {day} {month} {weekday}"


@cache
def transitions(zone: str, year: int) -> list[datetime]:
    """The instants in `year` at which the zone's offset changes, to the hour."""
    tz, found = ZoneInfo(zone), []
    instant = datetime(year, 1, 1, tzinfo=UTC)
    while instant.year == year:
        later = instant + timedelta(hours=1)
        if instant.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset():
            found.append(later)
        instant = later
    return found


@st.composite
def starts(draw: st.DrawFn, zone: str) -> datetime:
    """Mostly a little before one of the zone's DST changes, where the rules bite."""
    anywhere = st.datetimes(datetime(1995, 1, 1), datetime(2036, 12, 31), timezones=st.just(UTC))
    changes = transitions(zone, draw(st.integers(2000, 2036)))
    if not changes or draw(st.integers(0, 3)) == 0:
        return draw(anywhere)
    before = draw(st.integers(0, 26 * 3600))
    return draw(st.sampled_from(changes)) - timedelta(seconds=before)


def java_weekday(day: datetime) -> int:
    return (day.weekday() + 1) % 7 + 1


def matches_day(cron: CronExpression, wall: datetime) -> bool:
    """The day rules read plainly from the fields: what a fire time's date must satisfy."""
    length = calendar.monthrange(wall.year, wall.month)[1]
    if cron.by_day_of_week:
        weekday_fits = java_weekday(wall) in cron.days_of_week
        if cron.nth_day_of_week:
            return weekday_fits and (wall.day - 1) // 7 + 1 == cron.nth_day_of_week
        return weekday_fits and (not cron.last_day_of_week or wall.day + 7 > length)
    if cron.last_day_of_month:
        day = length - cron.last_day_offset
        return wall.day == (nearest_weekday(wall, day, length) if cron.nearest_weekday else day)
    if cron.nearest_weekday:
        return wall.day == nearest_weekday(wall, cron.days_of_month[0], length)
    return wall.day in cron.days_of_month


def never_a_day(cron: CronExpression) -> bool:
    """Whether no day of its months, in a whole 28-year cycle of the calendar, is a day of
    `cron` by `matches_day` (Quartz then never fires, as for February 30 or L-29)."""
    return not any(matches_day(cron, datetime(year, month, day))
                   for year in range(2000, 2028) for month in cron.months
                   for day in range(1, calendar.monthrange(year, month)[1] + 1))


def nearest_weekday(wall: datetime, day: int, length: int) -> int:
    """Quartz's weekday nearest `day` of the wall time's month (a day past the month's end is
    a day of the next one, as Quartz counts it)."""
    date = datetime(wall.year, wall.month, 1) + timedelta(days=day - 1)
    weekday = java_weekday(date)
    if weekday == 7:  # Saturday
        return day + 2 if day == 1 else day - 1
    if weekday == 1:  # Sunday
        return day - 2 if day == length else day + 1
    return day


@settings(max_examples=400, deadline=None)
@given(expression=expressions(), zone=st.sampled_from(ZONES), data=st.data(),
       count=st.integers(1, 6))
def test_fire_times_keep_their_promises(expression: str, zone: str, data: st.DataObject,
                                        count: int) -> None:
    after = data.draw(starts(zone))
    cron = parse_cron(expression)
    tz = ZoneInfo(zone)

    found = next_fire_times(cron, zone, after, count)

    # No year field: it never ends, unless its days fall in none of its months (30 2 ...)
    assert len(found) == count or (len(found) == 0 and never_a_day(cron))
    assert all(earlier < later for earlier, later in zip([after, *found], found, strict=False))
    for instant in found:
        wall = instant.astimezone(tz).replace(tzinfo=None)
        assert wall.second in cron.seconds and wall.minute in cron.minutes
        assert wall.hour in cron.hours and wall.month in cron.months
        assert matches_day(cron, wall), (expression, zone, wall)
        # not in a gap: the wall time exists; and of a repeated wall time, the second one
        later = wall.replace(tzinfo=tz, fold=1)
        assert later.astimezone(UTC) == instant, (expression, zone, wall)
        assert later.replace(fold=0).astimezone(tz).replace(tzinfo=None) == wall
    # asking again from any fire time gives the rest
    for index, instant in enumerate(found[:-1]):
        assert next_fire_times(cron, zone, instant, count - index - 1) == found[index + 1:]
