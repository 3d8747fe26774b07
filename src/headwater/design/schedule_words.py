"""Quartz cron expressions, periodic triggers and durations in plain words.

`schedule_in_words("0 0 2 * * ?", "Europe/Amsterdam")` is `every day at 02:00 Europe/Amsterdam`.
The common forms are covered: fixed times and lists of times, every N seconds/minutes/hours,
hour ranges, days of the week (ranges, lists, `6#3`, `6L`), days of the month (`1`, `L`,
`LW`, `15W`, lists) and months. Anything else is quoted as written, never guessed. An
expression or a zone that Quartz would refuse or misread (`core/cron.py` decides) is never put
in words: the words say it is invalid, and why. `next_fire_words` lists the next fire times, as
the evaluator computes them. Pure: text (and `now`, when asked for fire times) in, text out.
"""

from __future__ import annotations

import re
from datetime import datetime

from headwater.core.cron import CronError, next_fire_times, parse_cron, time_zone

__all__ = ["cron_in_words", "duration_words", "millis_words", "next_fire_words",
           "schedule_in_words"]

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
MONTH_NAMES = tuple(month[:3].upper() for month in MONTHS)
ORDINALS = ("first", "second", "third", "fourth", "fifth")
ANY = ("*", "?")
MAX_LISTED_TIMES = 6

_NUMBER = re.compile(r"\d+")
_STEP = re.compile(r"(\*|\d+)/(\d+)")
_RANGE = re.compile(r"(\w+)-(\w+)")


def schedule_in_words(expression: str, timezone_id: str) -> str:
    """`every Monday to Friday at 06:30 UTC`; an expression not understood is quoted, and an
    invalid one or an unknown zone is said to be invalid, with the reason."""
    try:
        parse_cron(expression)
    except CronError as error:
        return f'never: the Quartz cron expression "{expression.strip()}" is invalid ' \
               f"({error.message})"
    try:
        time_zone(timezone_id)
    except CronError as error:
        return f"never: {error.message}"
    words = cron_in_words(expression)
    if words is None:
        return f'on the Quartz cron expression "{expression.strip()}" in {timezone_id}'
    return f"{words} {timezone_id}"


def next_fire_words(expression: str, timezone_id: str, now: datetime, count: int = 3) -> str:
    """`next at 2026-12-01 02:30, 2026-12-02 02:30 and 2026-12-03 02:30 Europe/Amsterdam`: the
    wall times of the next fire times after `now`; "" for an invalid schedule."""
    try:
        found = next_fire_times(expression, timezone_id, now, count)
        zone = time_zone(timezone_id)
    except CronError:
        return ""
    if not found:
        return f"no fire time after {now.astimezone(zone):%Y-%m-%d %H:%M} {timezone_id}"
    walls = [instant.astimezone(zone) for instant in found]
    shown = [f"{wall:%Y-%m-%d %H:%M}" + (f":{wall:%S}" if wall.second else "") for wall in walls]
    return f"next at {_joined(shown)} {timezone_id}"


def cron_in_words(expression: str) -> str | None:
    """The schedule of a Quartz expression in words, without the time zone; None if unknown
    or invalid."""
    try:
        parse_cron(expression)
    except CronError:
        return None
    fields = expression.split()
    if len(fields) not in (6, 7) or (len(fields) == 7 and fields[6] not in ("*", "")):
        return None
    second, minute, hour, day, month, weekday = (field.upper() for field in fields[:6])
    time = _time_words(second, minute, hour)
    days = _day_words(day, month, weekday)
    if time is None or days is None:
        return None
    if time.startswith("every") or time.startswith("at second"):
        return time if days == "every day" else f"{time}, {days}"
    return f"{days} {time}"


# Times of day ----------------------------------------------------------------------------------


def _time_words(second: str, minute: str, hour: str) -> str | None:
    if _NUMBER.fullmatch(second) is None:
        return _seconds_repeat(second, minute, hour)
    repeat = _repeat_words(minute, hour)
    if repeat is not None:
        return repeat if second == "0" else f"at second {second} of {_ordinal_repeat(repeat)}"
    hours = _numbers(hour)
    if hours is None or _NUMBER.fullmatch(minute) is None or len(hours) > MAX_LISTED_TIMES:
        return None
    seconds = "" if second == "0" else f":{int(second):02d}"
    times = [f"{h:02d}:{int(minute):02d}{seconds}" for h in hours]
    return f"at {_joined(times)}"


def _seconds_repeat(second: str, minute: str, hour: str) -> str | None:
    if minute != "*" or hour != "*":
        return None
    if second == "*":
        return "every second"
    step = _STEP.fullmatch(second)
    return f"every {step.group(2)} seconds" if step else None


def _repeat_words(minute: str, hour: str) -> str | None:
    """Phrases for a time that repeats within the day: every N minutes, every hour at :30, ..."""
    minute_step = _STEP.fullmatch(minute)
    if minute == "*" or minute_step:
        every = _every(minute_step, "minute") if minute_step else "every minute"
        return every if hour == "*" else _within_hours(every, hour)
    if _NUMBER.fullmatch(minute) is None:
        return None
    at = f"at minute {int(minute)}" if minute != "0" else "on the hour"
    if hour == "*":
        return f"every hour {at}"
    hour_step = _STEP.fullmatch(hour)
    if hour_step:
        return f"{_every(hour_step, 'hour')} {at}"
    hour_range = _RANGE.fullmatch(hour)
    if hour_range:
        first, last = hour_range.groups()
        return f"every hour from {int(first):02d}:{int(minute):02d} to {int(last):02d}:" \
               f"{int(minute):02d}"
    return None


def _every(step: re.Match[str], unit: str) -> str:
    start, size = step.groups()
    every = f"every {unit}" if size == "1" else f"every {size} {unit}s"
    return every if start in ("*", "0") else f"{every} from {unit} {start}"


def _within_hours(every: str, hour: str) -> str | None:
    hour_range = _RANGE.fullmatch(hour)
    if hour_range:
        first, last = hour_range.groups()
        return f"{every} from {int(first):02d}:00 to {int(last):02d}:59"
    if _NUMBER.fullmatch(hour):
        return f"{every} from {int(hour):02d}:00 to {int(hour):02d}:59"
    return None


def _ordinal_repeat(repeat: str) -> str:
    """`every 15 minutes` -> `every 15th minute`, for `at second 30 of every 15th minute`."""
    match = re.fullmatch(r"every (\d+) (minute|hour)s(.*)", repeat)
    if match is None:
        return repeat
    number, unit, rest = match.groups()
    return f"every {_ordinal_number(int(number))} {unit}{rest}"


def _ordinal_number(number: int) -> str:
    teens = 10 <= number % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# Days --------------------------------------------------------------------------------------------


def _day_words(day: str, month: str, weekday: str) -> str | None:
    months = _month_words(month)
    if months is None:
        return None
    if day in ANY and weekday in ANY:
        return "every day" + (f" in {months}" if months else "")
    if day in ANY:
        days = _weekday_words(weekday)
        if days is None:
            return None
        if days.endswith(" of the month"):
            return days.removesuffix(" of the month") + f" of {months or 'every month'}"
        return days + (f" in {months}" if months else "")
    if weekday in ANY:
        dates = _month_day_words(day)
        return None if dates is None else f"{dates} of {months or 'every month'}"
    return None


def _weekday_words(weekday: str) -> str | None:
    nth = re.fullmatch(r"(\w+)#([1-5])", weekday)
    if nth:
        name = _weekday(nth.group(1))
        return None if name is None else f"on the {ORDINALS[int(nth.group(2)) - 1]} " \
                                         f"{name} of the month"
    last = re.fullmatch(r"(\w+)L", weekday)
    if last:
        name = _weekday(last.group(1))
        return None if name is None else f"on the last {name} of the month"
    span = _RANGE.fullmatch(weekday)
    if span:
        first, final = _weekday(span.group(1)), _weekday(span.group(2))
        return None if first is None or final is None else f"every {first} to {final}"
    names = [_weekday(part) for part in weekday.split(",")]
    if any(name is None for name in names):
        return None
    return "every " + _joined([name for name in names if name])


def _weekday(text: str) -> str | None:
    if text in WEEKDAY_NAMES:
        return WEEKDAYS[WEEKDAY_NAMES.index(text)]
    if text.isdecimal() and 1 <= int(text) <= 7:  # Quartz: 1 is Sunday
        return WEEKDAYS[int(text) - 1]
    return None


def _month_day_words(day: str) -> str | None:
    if day == "L":
        return "on the last day"
    if day == "LW":
        return "on the last weekday"
    nearest = re.fullmatch(r"(\d+)W", day)
    if nearest:
        return f"on the weekday nearest day {int(nearest.group(1))}"
    numbers = _numbers(day)
    if numbers is None:
        return None
    label = "day" if len(numbers) == 1 else "days"
    return f"on {label} {_joined([str(n) for n in numbers])}"


def _month_words(month: str) -> str | None:
    """"" for every month, `January and July` for a list, None when not understood."""
    if month in ANY:
        return ""
    span = _RANGE.fullmatch(month)
    if span:
        first, last = _month(span.group(1)), _month(span.group(2))
        return None if first is None or last is None else f"{first} to {last}"
    names = [_month(part) for part in month.split(",")]
    return None if any(n is None for n in names) else _joined([n for n in names if n])


def _month(text: str) -> str | None:
    if text in MONTH_NAMES:
        return MONTHS[MONTH_NAMES.index(text)]
    if text.isdecimal() and 1 <= int(text) <= 12:
        return MONTHS[int(text) - 1]
    return None


# Shared ------------------------------------------------------------------------------------------


def _numbers(field: str) -> list[int] | None:
    """`6` or `6,18` as numbers; None for anything else."""
    parts = field.split(",")
    if not all(_NUMBER.fullmatch(part) for part in parts):
        return None
    return [int(part) for part in parts]


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def duration_words(seconds: int) -> str:
    """`300` -> `5 minutes`, `5400` -> `1 hour 30 minutes`, `0` -> `0 seconds`."""
    parts = []
    remaining = seconds
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {unit}" + ("" if count == 1 else "s"))
    return " ".join(parts) or "0 seconds"


def millis_words(millis: int) -> str:
    """`60000` -> `1 minute`, `1500` -> `1.5 seconds`, `250` -> `250 milliseconds`."""
    if millis < 1000:
        return f"{millis} milliseconds"
    if millis % 1000:
        return f"{millis / 1000:g} seconds"
    return duration_words(millis // 1000)
