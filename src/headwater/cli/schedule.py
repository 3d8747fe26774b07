"""`headwater schedule`: try a Quartz cron schedule before a job uses it.

    headwater schedule next "0 30 2 * * ?" --timezone Europe/Amsterdam --after 2026-03-28T12:00

prints the next fire times as UTC instants, one a line, exactly as Quartz (and so Databricks)
would fire them, DST included. An invalid expression or zone exits 2 with the message, where it
is, and how to fix it. The cron module is imported when the command runs, so `--help` stays
fast.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

__all__ = ["schedule"]

DEFAULT_COUNT = 5
USAGE_EXIT = 2  # like click's own usage errors


@click.group()
def schedule() -> None:
    """Quartz cron schedules: when they fire."""


def _iso_time(_context: click.Context, _parameter: click.Parameter,
              value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO time; write e.g. 2026-03-28T12:00 "
                                 "(a wall time in the zone)") from None


@schedule.command("next")
@click.argument("expression")
@click.option("--timezone", "timezone_id", default="UTC", show_default=True,
              help="Java time-zone id of the expression's wall times (a job's timezone_id).")
@click.option("--after", metavar="LOCAL_ISO_TIME", callback=_iso_time,
              help="Start after this wall time in the zone, e.g. 2026-03-28T12:00 (an offset or "
                   "Z makes it an instant) [default: now].")
@click.option("--count", type=click.IntRange(1, 1000), default=DEFAULT_COUNT, show_default=True,
              help="How many fire times to print.")
def next_fire_times(expression: str, timezone_id: str, after: datetime | None,
                    count: int) -> None:
    """Print the next fire times of a Quartz cron EXPRESSION as UTC instants, one a line.

    Days of the week are Quartz's (1 = SUN ... 7 = SAT) and one of the day fields is '?':
    '0 30 6 ? * MON-FRI' is 06:30 on weekdays. A wall time the zone skips (spring forward)
    does not fire; one it repeats (fall back) fires once, the second time.
    """
    from headwater.core import cron

    try:
        if after is None:
            start = datetime.now(UTC)
        elif after.tzinfo is None:  # a wall time in the zone, read as Quartz reads one
            start = cron.local_instant(after, timezone_id)
        else:
            start = after
        found = cron.next_fire_times(expression, timezone_id, start, count)
    except cron.CronError as error:
        click.echo(f"error: {error.message}", err=True)
        if error.pointer():
            click.echo(error.pointer(), err=True)
        sys.exit(USAGE_EXIT)
    for instant in found:
        click.echo(_utc(instant))
    if len(found) < count:
        last = _utc(found[-1] if found else start)
        click.echo(f"(no fire time after {last}: the expression fires no more)", err=True)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
