"""Quartz cron schedules: when a job's `schedule` fires, exactly as Quartz 2.3 says.

Lakeflow schedules a job with `quartz_cron_expression` in `timezone_id`, and Databricks runs
them with Quartz (`org.quartz.CronExpression`). headwater answers what Quartz answers; the
tests hold it to vectors printed by the real Quartz 2.3.2 (`tests/core/quartz/`). Pure: text
and instants in, instants out; the only data read is the IANA time-zone database.

    parse_cron("0 30 2 ? * MON-FRI")              -> CronExpression (or CronError)
    time_zone("Europe/Amsterdam")                  -> tzinfo (or CronError)
    next_fire_times(expression, "Europe/Amsterdam", after, 5)   -> [aware UTC datetimes]

Syntax (`core/cron_expression.py`, `core/cron_syntax.py`): seconds minutes hours
day-of-month month day-of-week [year]; `*`, `?`, lists, ranges (wrapping: `22-2`), steps, names,
`L`, `L-n`, `LW`, `nW`, `nL`, `n#k`. Days of the week are Quartz's, 1 = SUN ... 7 = SAT, not
Unix cron's 0-6. Exactly one of the day fields is `?`. What Quartz refuses, headwater refuses,
in Quartz's words where they are clear, with the place and a fix. Where Quartz silently
ignores or re-reads part of an expression (`MON-FRI/2`, `*/0`, `6#3,2`, `10-20X`), headwater
refuses it too and says what Quartz would have done.

Daylight saving (`core/cron_search.py` walks the calendar as Quartz does):

- **Spring forward: a fire time in the gap is skipped.** `0 30 2 * * ?` in Europe/Amsterdam
  fires at 02:30 every day but 31 March 2024, when 02:00-03:00 does not exist; the next fire
  is 02:30 on 1 April. Times after the gap fire as usual (`0 0/15 * * * ?` goes 01:45 CET,
  03:00 CEST). Quartz moves a time in the gap forward by the jump and searches on from there,
  so with a jump that is not a whole hour a real time can be skipped too: in
  Australia/Lord_Howe (02:00 -> 02:30) `0 15,40 * * * ?` goes 01:40, then 03:15, not 02:40.
- **Fall back: a repeated wall time fires once, at its second occurrence** (standard time).
  `0 30 2 * * ?` in Europe/Amsterdam fires on 27 October 2024 at 02:30 CET (01:30 UTC), not
  02:30 CEST; `0 0/15 * * * ?` goes 01:45 CEST, then 02:00 CET: the first pass through
  02:00-02:59 CEST has no fire times.
- Wall times given to headwater (`headwater schedule next --after`) are read the same way: in
  a gap, moved forward by the jump; in an overlap, the second occurrence (`local_instant`).

Time zones (`core/cron_zones.py`): what Java's `TimeZone.getTimeZone` knows: the IANA ids,
Java's legacy three-letter ids (`PST` is America/Los_Angeles, `IST` Asia/Kolkata, `ECT`
Europe/Paris, ...; `EST`, `MST`, `HST` fixed offsets, as in Java) and custom offsets
`GMT+h[h][[:]mm]`. Case matters, as in Java. An unknown id is an error with a suggestion
("unknown time zone 'Europe/Amsterdm' (did you mean 'Europe/Amsterdam'?)") where Quartz would
quietly use GMT; so are Java's obsolete `SystemV/...` ids, whose 1970s US rules no schedule
means. The zones' rules come from the IANA database `zoneinfo` finds; all ~600 ids of Java 17
give Java's offsets (tests/core/test_cron_zones.py).

Years: without a year field the schedule runs to 2199 (Quartz: to the current year + 100). The
rules above hold after 2037 too, where Java switches to its own rule-based zone code: the
vectors test transitions in 2040-2042.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from headwater.core.cron_expression import CronExpression, parse_cron
from headwater.core.cron_search import instant_of, time_after
from headwater.core.cron_syntax import CronError
from headwater.core.cron_zones import time_zone

__all__ = [
    "CronError",
    "CronExpression",
    "local_instant",
    "next_fire_times",
    "parse_cron",
    "time_zone",
]


def next_fire_times(
    expression: str | CronExpression, timezone_id: str, after: datetime, count: int
) -> list[datetime]:
    """The next `count` fire times strictly after `after`, as Quartz computes them.

    Args:
        expression: a Quartz cron expression, as text or parsed.
        timezone_id: the Java time-zone id the expression's wall times are in.
        after: an aware instant; fractions of a second are dropped, as Quartz drops them.
        count: how many fire times to return at most.

    Returns:
        Aware UTC datetimes, increasing; fewer than `count` when the expression ends (its
        year field runs out), none when it never fires again.

    Raises:
        CronError: the expression or the time-zone id is invalid.
        ValueError: `after` is naive.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"after must be an aware datetime (got {after.isoformat()})")
    cron = parse_cron(expression) if isinstance(expression, str) else expression
    zone = time_zone(timezone_id)
    found: list[datetime] = []
    current: datetime | None = after
    while len(found) < count and current is not None:
        current = time_after(cron, zone, current)
        if current is not None:
            found.append(current)
    return found


def local_instant(wall: datetime, timezone_id: str) -> datetime:
    """The UTC instant of a naive wall time in a zone, read as Quartz reads one: a time the
    zone skips moves forward by the jump, a time it repeats is the second occurrence.

    Raises:
        CronError: the time-zone id is unknown.
    """
    zone: tzinfo = time_zone(timezone_id)
    return instant_of(wall.replace(tzinfo=None), zone).astimezone(UTC)
