"""Quartz cron syntax, one field at a time: a field's text in, the values Quartz builds out.

The grammar is Quartz 2.3's (`org.quartz.CronExpression`). Each field is a comma-separated
list of items:

    *   ?   a   a-b   */n   /n   a/n   a-b/n          (any field; `?` only in the day fields)
    L   L-n   LW   L-nW   aW                          (day-of-month: last day, nearest weekday)
    L   aL   a#k                                      (day-of-week: Saturday, last, k-th)

Names (JAN-DEC, SUN-SAT) are case-insensitive; days of the week are Quartz's, 1 = SUN to
7 = SAT. A range whose end is below its start wraps (`22-2` is 22, 23, 0, 1, 2). The whole
expression (how many fields, the rule on the two day fields) is `core/cron_expression.py`'s.

headwater accepts a field exactly when Quartz accepts it *and reads all of it*, and builds the
same values. Quartz silently ignores or re-reads some text; headwater refuses it, saying what
Quartz would have done: characters after a complete item (`10-20X`, `?x`, `MONDAY`), a step
after a name (`MON-FRI/2` is MON-FRI), a zero step (`*/0` is `*`, `5/0` is 5), `W`, `#`, `L`
or `?` in a list (`15W,20` is 15W, `6#3,2` is the third *Monday*), an empty list item, a day
out of range with `#` or `W` or ending a range (`8#1`, `0W`, `5-0`), `L-W`. Years must lie in
1970-2199 (Quartz takes any year and never fires outside that span).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from headwater.errors import HeadwaterError

__all__ = ["FIELDS", "FIRST_YEAR", "LAST_YEAR", "WEEKDAY_NAMES", "CronError", "Field",
           "FieldValues", "read_field"]

FIRST_YEAR, LAST_YEAR = 1970, 2199
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ITEM = re.compile(r"[^,]+")


class CronError(HeadwaterError):
    """Raised when a Quartz cron expression or a time-zone id is invalid.

    `position` is the 0-based offset in `expression` of what is wrong (None when no single
    place is), so that a caller can point at it.
    """

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, message: str, position: int | None = None, expression: str = "") -> None:
        super().__init__(message)
        self.message, self.position, self.expression = message, position, expression

    def pointer(self) -> str:
        """The expression and a caret under `position`, for a terminal; "" without a place."""
        if self.position is None or not self.expression:
            return ""
        return f"  {self.expression}\n  {' ' * self.position}^"


@dataclass(frozen=True, slots=True)
class Field:
    """What one field allows, and Quartz's words for its mistakes."""

    label: str  # `hours`, as the messages name it
    low: int
    high: int
    wrap: int  # ranges that wrap go round modulo this (0: they cannot wrap)
    range_message: str  # Quartz's message for a value out of range
    step_limit: int | None = None  # Quartz refuses `*/n` and `a/n` with a larger n
    step_message: str = ""  # and says so in these words
    names: tuple[str, ...] = ()  # names for low, low + 1, ...
    name_kind: str = ""  # `Month`, `Day-of-Week`
    fix: str = ""  # how to write a right value


SECONDS = Field("seconds", 0, 59, 60, "Minute and Second values must be between 0 and 59", 59,
                "Increment > 60", fix="write a second from 0 to 59")
MINUTES = Field("minutes", 0, 59, 60, "Minute and Second values must be between 0 and 59", 59,
                "Increment > 60", fix="write a minute from 0 to 59")
HOURS = Field("hours", 0, 23, 24, "Hour values must be between 0 and 23", 23, "Increment > 24",
              fix="write an hour from 0 to 23")
DAYS = Field("day-of-month", 1, 31, 31, "Day of month values must be between 1 and 31", 31,
             "Increment > 31", fix="write a day from 1 to 31, or L for the last day of the month")
MONTHS = Field("month", 1, 12, 12, "Month values must be between 1 and 12", 12, "Increment > 12",
               MONTH_NAMES, "Month", "write a month from 1 to 12 or JAN-DEC")
WEEKDAYS = Field("day-of-week", 1, 7, 7, "Day-of-Week values must be between 1 and 7", 7,
                 "Increment > 7", WEEKDAY_NAMES, "Day-of-Week",
                 "Quartz numbers the days 1 = SUN to 7 = SAT; or write SUN-SAT")
YEARS = Field("year", FIRST_YEAR, LAST_YEAR, 0,
              f"Year values must be between {FIRST_YEAR} and {LAST_YEAR}",
              fix="Quartz never fires outside these years; leave the year out for every year")
FIELDS = (SECONDS, MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS, YEARS)


@dataclass(slots=True)
class FieldValues:
    """One field as read: its values and the flags its special items set."""

    numbers: set[int] = field(default_factory=set)
    any: bool = False  # `?`
    last: bool = False  # `L...` in day-of-month, `aL` in day-of-week
    offset: int = 0
    weekday: bool = False  # `W`
    nth: int = 0


@dataclass(frozen=True, slots=True)
class _Place:
    """One item of one field, and where it starts in the whole expression."""

    expression: str
    field: Field
    text: str  # upper case
    start: int

    def fail(self, problem: str, fix: str, at: int = 0) -> CronError:
        position = self.start + at
        return CronError(f"{self.field.label} field: {problem} at character {position + 1}; "
                         f"{fix}", position, self.expression)


def read_field(expression: str, spec: Field, text: str, start: int) -> FieldValues:
    """The values of one field, `text`, which starts at `start` in `expression`.

    Raises:
        CronError: the field is not one Quartz reads in full.
    """
    if ",," in text or text.startswith(",") or text.endswith(","):
        comma = start + (text.find(",,") + 1 if ",," in text else text.rfind(","))
        raise CronError(f"{spec.label} field: an empty item in the list {text!r} at character "
                        f"{comma + 1}; remove the extra comma", comma, expression)
    items = [_Place(expression, spec, m.group().upper(), start + m.start())
             for m in _ITEM.finditer(text)]
    values = FieldValues()
    for place in items:
        if len(items) > 1:
            _check_listable(place, text.upper())
        _read_item(place, values)
    return values


def _check_listable(place: _Place, field_text: str) -> None:
    """Quartz refuses some special items in a list and misreads the others: both are errors."""
    spec, text = place.field, place.text
    if spec is DAYS and "L" in text:
        raise place.fail("Support for specifying 'L' and 'LW' with other days of the month is "
                         "not implemented", "keep L, LW or L-n alone in the field")
    if spec is WEEKDAYS and "L" in text:
        raise place.fail("Support for specifying 'L' with other days of the week is not "
                         "implemented", "keep L or nL alone in the field")
    if spec is WEEKDAYS and field_text.count("#") > 1:
        raise place.fail('Support for specifying multiple "nth" days is not implemented',
                         "keep one n#k in the field, or use two jobs")
    for letter, what, fields in (("W", "nW", (DAYS,)), ("#", "n#k", (WEEKDAYS,)),
                                 ("?", "?", (DAYS, WEEKDAYS))):
        if letter in text and spec in fields:  # W only for day-of-month: WED is a day
            raise place.fail(f"{what} cannot be combined with other values in a list (Quartz "
                             "would read the list wrongly)", f"keep {text} alone in the field")


def _read_item(place: _Place, values: FieldValues) -> None:
    text = place.text
    if text[0] == "?":
        _read_any(place, values)
    elif text[0] in "*/":
        _read_every(place, values)
    elif place.field is DAYS and text[0] == "L":
        _read_last_day(place, values)
    elif place.field is WEEKDAYS and text[0] == "L":
        _no_rest(place, 1)
        values.numbers.add(7)  # `L` alone in day-of-week: Saturday
    else:
        _read_values(place, values)


def _read_any(place: _Place, values: FieldValues) -> None:
    if place.field not in (DAYS, WEEKDAYS):
        raise place.fail("'?' can only be specified for Day-of-Month or Day-of-Week",
                         "write '*' for every value")
    _no_rest(place, 1)
    values.any = True


def _read_every(place: _Place, values: FieldValues) -> None:
    """`*`, `*/n` and `/n`."""
    text, spec = place.text, place.field
    if text == "*":
        values.numbers.update(range(spec.low, spec.high + 1))
        return
    slash = 1 if text.startswith("*") else 0
    if text[slash] != "/":
        raise place.fail(f"unexpected {text[1:]!r} after '*' (Quartz would ignore it)",
                         "write '*' alone, or '*/n' for every n-th value", 1)
    step = _step(place, slash + 1, limited=True)
    values.numbers.update(range(spec.low, spec.high + 1, step))


def _step(place: _Place, at: int, limited: bool) -> int:
    """The number after a `/` at `at`, which must end the item."""
    digits = re.match(r"\d+", place.text[at:])
    if digits is None:
        raise place.fail("'/' must be followed by an integer", "write e.g. '0/15'", at - 1)
    _no_rest(place, at + digits.end())
    step, spec = int(digits.group()), place.field
    if step == 0:
        raise place.fail("a step of 0 (Quartz ignores it)",
                         "write a step of at least 1, or leave out the '/0'", at)
    if limited and spec.step_limit is not None and step > spec.step_limit:
        raise place.fail(f"{spec.step_message} : {step}",
                         f"a step in the {spec.label} field is at most {spec.step_limit}", at)
    return step


def _no_rest(place: _Place, at: int) -> None:
    """Quartz ignores characters after a complete item; headwater refuses them."""
    if at < len(place.text):
        rest = place.text[at:]
        raise place.fail(f"unexpected {rest!r} after {place.text[:at]!r} (Quartz would ignore "
                         "it)", f"remove {rest!r}", at)


def _read_last_day(place: _Place, values: FieldValues) -> None:
    """`L`, `L-n`, `LW`, `L-nW` in the day-of-month field."""
    match = re.match(r"L(?:-(\d*))?(W?)", place.text)
    assert match is not None
    offset = match.group(1)
    if offset == "":
        raise place.fail("'L-' must be followed by the number of days before the last day",
                         "write e.g. 'L-3' (three days before the last day) or 'LW'", 1)
    _no_rest(place, match.end())
    values.last, values.weekday = True, bool(match.group(2))
    values.offset = int(offset or 0)
    if values.offset > 30:
        raise place.fail("Offset from last day must be <= 30", "write L-0 to L-30", 2)


def _read_values(place: _Place, values: FieldValues) -> None:
    """`a`, `a-b`, `a/n`, `a-b/n`, and the suffixes `aW`, `aL`, `a#k`."""
    first, at = _value(place, 0)
    end, step = None, 1
    if place.text[at:at + 1] == "-":
        end, at = _value(place, at + 1, named=not place.text[0].isdecimal())
    if place.text[at:at + 1] == "/":
        if not place.text[0].isdecimal():
            raise place.fail("a step after a name (Quartz ignores the step)",
                             "write the range with numbers, e.g. '2-6/2', or list the names", at)
        step = _step(place, at + 1, limited=end is None)
        end, at = place.field.high if end is None else end, len(place.text)
    if end is None and place.text[at:at + 1] in ("W", "L", "#"):
        _read_suffix(place, values, first, at)
        return
    _no_rest(place, at)
    values.numbers.update(_expand(place, first, first if end is None else end, step))


def _value(place: _Place, at: int, named: bool | None = None) -> tuple[int, int]:
    """The number or name at `at`, checked against the field's range, and where it ends.

    `named` says whether the start of a range was a name: Quartz refuses `1-MAR` and `JAN-3`.
    """
    spec, text = place.field, place.text
    if at >= len(text):
        raise place.fail(f"{text!r} ends too soon", "write a range as a-b, e.g. '1-5'", at - 1)
    digits = re.match(r"\d+", text[at:])
    letters = re.match(r"[A-Z]+", text[at:])
    if spec.names and named is not None and (digits is None) != named:
        raise place.fail("a range mixes a name and a number",
                         "write both ends as names (MON-FRI) or as numbers (2-6)", at)
    if digits is not None:
        number = int(digits.group())
        if not spec.low <= number <= spec.high:
            raise place.fail(f"{spec.range_message} (got {number})", spec.fix, at)
        return number, at + digits.end()
    if letters is None:
        raise place.fail(f"Unexpected character: {text[at]!r}", _syntax_fix(spec), at)
    return _name(place, at, letters.group()), at + 3


def _name(place: _Place, at: int, word: str) -> int:
    spec = place.field
    if not spec.names:
        if word[0] in "LW":
            raise place.fail(f"'{word[0]}' option is not valid here", _syntax_fix(spec), at)
        raise place.fail(f"Illegal characters for this position: {word!r}",
                         f"only months (JAN-DEC) and days of the week (SUN-SAT) have names; "
                         f"{spec.fix}", at)
    if word[:3] in spec.names:
        return spec.low + spec.names.index(word[:3])
    swapped = [name for name in spec.names if sorted(name) == sorted(word)]  # JNA: JAN
    close = swapped or difflib.get_close_matches(word, spec.names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise place.fail(f"Invalid {spec.name_kind} value: {word!r}",
                     f"{hint}the names are {', '.join(spec.names)}", at)


def _syntax_fix(spec: Field) -> str:
    special = {"day-of-month": ", L, LW, L-n or nW", "day-of-week": ", L, nL or n#k"}
    return f"the {spec.label} field takes *, a, a-b, a/n, a-b/n{special.get(spec.label, '')}"


def _read_suffix(place: _Place, values: FieldValues, day: int, at: int) -> None:
    """`aW` (day-of-month), `aL` and `a#k` (day-of-week)."""
    spec, letter = place.field, place.text[at]
    if spec is not (DAYS if letter == "W" else WEEKDAYS):
        raise place.fail(f"'{letter}' option is not valid here", _syntax_fix(spec), at)
    values.numbers.add(day)
    if letter == "#":
        values.nth = _nth(place, at + 1)
        return
    _no_rest(place, at + 1)
    if letter == "W":
        values.weekday = True
    else:
        values.last = True


def _nth(place: _Place, at: int) -> int:
    digits = place.text[at:]
    if not (digits.isascii() and digits.isdecimal()) or not 1 <= int(digits) <= 5:
        raise place.fail("A numeric value between 1 and 5 must follow the '#' option",
                         "write e.g. '6#3' for the third Friday of the month", at)
    return int(digits)


def _expand(place: _Place, first: int, end: int, step: int) -> Iterator[int]:
    """Quartz's `addToSet`: the values from `first` to `end` every `step`, going round the
    field's end when `end` is below `first` (`22-2` in the hours)."""
    spec = place.field
    if end >= first:
        yield from range(first, end + 1, step)
        return
    if not spec.wrap:
        raise place.fail(f"the range {first}-{end} ends before it starts (Quartz: Start year "
                         "must be less than stop year)", f"write {end}-{first}")
    for value in range(first, end + spec.wrap + 1, step):
        wrapped = value % spec.wrap
        yield spec.wrap if wrapped == 0 and spec.low == 1 else wrapped
