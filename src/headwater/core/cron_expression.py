"""A whole Quartz cron expression: its text in, the `CronExpression` Quartz would build out.

Six or seven fields separated by spaces or tabs (seconds, minutes, hours, day-of-month, month,
day-of-week, optional year); exactly one of the two day fields is `?`. Each field is read by
`core/cron_syntax.py`. Quartz ignores an eighth field and what follows; headwater refuses it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from headwater.core.cron_syntax import (
    FIELDS,
    FIRST_YEAR,
    LAST_YEAR,
    WEEKDAY_NAMES,
    CronError,
    FieldValues,
    read_field,
)

__all__ = ["CronExpression", "parse_cron"]

FIELD_ORDER = "seconds minutes hours day-of-month month day-of-week [year]"
_FIELD = re.compile(r"[^ \t]+")
_ODD_SPACE = re.compile(r"[^\S \t]")  # white space other than a space or a tab


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed Quartz cron expression: the value sets and flags Quartz's `CronExpression`
    builds, which the search (`core/cron_search.py`) walks.

    The day-of-month fields apply when `by_day_of_week` is false, the day-of-week ones when it
    is true. Days of the week use Quartz's numbers, 1 = SUN ... 7 = SAT.
    """

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]  # empty for `L`, `L-n`, `LW`
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]
    years: tuple[int, ...]
    by_day_of_week: bool  # day-of-month is `?`
    last_day_of_month: bool = False  # `L`, `L-n`, `LW`, `L-nW`
    last_day_offset: int = 0  # the n of `L-n`
    nearest_weekday: bool = False  # `W`: the weekday nearest the day
    last_day_of_week: bool = False  # `aL`: the last such day of the month
    nth_day_of_week: int = 0  # `a#k`: the k-th such day of the month (0: not used)

    def __str__(self) -> str:
        return self.text


def parse_cron(text: str) -> CronExpression:
    """The `CronExpression` of a Quartz cron expression.

    Raises:
        CronError: the expression is not one Quartz reads in full, with what is wrong, where
            (`position`) and how to fix it.
    """
    odd_space = _ODD_SPACE.search(text)
    if odd_space is not None:
        position = odd_space.start()
        raise CronError(f"a {unicodedata.name(odd_space.group(), 'control').lower()} character "
                        f"at character {position + 1}: Quartz separates fields with spaces and "
                        "tabs only; write a plain space", position, text)
    fields = [(match.group(), match.start()) for match in _FIELD.finditer(text)]
    if len(fields) < 6:
        raise _too_few_fields(text, fields)
    if len(fields) > 7:
        extra, start = fields[7]
        raise CronError(f"an expression has at most 7 fields ({FIELD_ORDER}); Quartz ignores "
                        f"{extra!r} at character {start + 1} and what follows: remove them",
                        start, text)
    values = [read_field(text, spec, *fields[index]) for index, spec in enumerate(FIELDS[:6])]
    _check_day_fields(text, values[3], values[5], fields[5][1])
    year = read_field(text, FIELDS[6], *fields[6]) if len(fields) == 7 else None
    return _expression(text.strip(), values, year)


def _too_few_fields(text: str, fields: list[tuple[str, int]]) -> CronError:
    count = len(fields)
    problem = (f"Unexpected end of expression: {count} field{'s' if count != 1 else ''}, "
               f"Quartz needs 6 or 7 ({FIELD_ORDER})")
    if count == 5:
        return CronError(f"{problem}; this looks like a Unix cron expression: {_unix_hint(fields)}",
                         len(text), text)
    return CronError(f"{problem}; e.g. '0 30 6 ? * MON-FRI' fires at 06:30 on weekdays",
                     len(text), text)


def _unix_hint(fields: list[tuple[str, int]]) -> str:
    """How a five-field Unix expression is written in Quartz, when it converts simply."""
    minute, hour, day, month, weekday = (text for text, _ in fields)
    if re.fullmatch(r"[0-7,\-*]+", weekday) is None:
        return "Quartz adds a seconds field first and needs '?' in one of the day fields"
    quartz_days = re.sub(r"\d", lambda m: WEEKDAY_NAMES[int(m.group()) % 7], weekday)
    quartz = (f"0 {minute} {hour} {day} {month} ?" if weekday == "*"
              else f"0 {minute} {hour} ? {month} {quartz_days}")
    return (f"Quartz adds a seconds field first, needs '?' in one of the day fields and numbers "
            f"the days of the week from 1 = SUN: write '{quartz}'")


def _check_day_fields(text: str, days: FieldValues, weekdays: FieldValues, position: int) -> None:
    if days.any and weekdays.any:
        raise CronError("day-of-week field: '?' can only be specified for Day-of-Month -OR- "
                        f"Day-of-Week at character {position + 1}; give one of them a value, "
                        "e.g. '*' in day-of-month for every day", position, text)
    if not days.any and not weekdays.any:
        raise CronError("day-of-week field: Support for specifying both a day-of-week AND a "
                        f"day-of-month parameter is not implemented at character {position + 1};"
                        f" put '?' in one of them: {_either_day(text)}", position, text)


def _either_day(text: str) -> str:
    fields = text.split()
    by_month = " ".join([*fields[:5], "?", *fields[6:]])
    by_week = " ".join([*fields[:3], "?", *fields[4:]])
    return f"'{by_month}' (by day of the month) or '{by_week}' (by day of the week)"


def _expression(text: str, fields: list[FieldValues], year: FieldValues | None) -> CronExpression:
    seconds, minutes, hours, days, months, weekdays = fields
    years = year.numbers if year is not None else set(range(FIRST_YEAR, LAST_YEAR + 1))
    return CronExpression(
        text=text,
        seconds=_sorted(seconds.numbers), minutes=_sorted(minutes.numbers),
        hours=_sorted(hours.numbers), days_of_month=_sorted(days.numbers),
        months=_sorted(months.numbers), days_of_week=_sorted(weekdays.numbers),
        years=_sorted(years),
        by_day_of_week=days.any,
        last_day_of_month=days.last, last_day_offset=days.offset,
        nearest_weekday=days.weekday,
        last_day_of_week=weekdays.last, nth_day_of_week=weekdays.nth,
    )


def _sorted(numbers: set[int]) -> tuple[int, ...]:
    return tuple(sorted(numbers))
