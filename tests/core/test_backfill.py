"""The times of a backfill: both ends count, the interval's units (months by the calendar),
the order, and every way a request can be wrong, each said with the field it is about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.core.backfill import MAX_BACKFILL_RUNS, Backfill, Interval, Unit, parse_interval
from headwater.core.trigger_info import backfill_time, backfill_words
from headwater.errors import InvalidRequest

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def times(start: str, end: str, every: str = "1d", newest_first: bool = False) -> list[str]:
    backfill = Backfill.of(start, end, every, newest_first)
    return [time.isoformat() for time in backfill.times(NOW)]


def test_a_daily_backfill_runs_once_a_day_both_ends_included() -> None:
    assert times("2026-11-01", "2026-11-04") == [
        "2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00",
        "2026-11-03T00:00:00+00:00", "2026-11-04T00:00:00+00:00"]
    assert times("2026-11-01", "2026-11-01") == ["2026-11-01T00:00:00+00:00"]
    # the last time is the last step that reaches the end, not the end itself
    assert times("2026-11-01T00:00", "2026-11-01T13:00", "6h")[-1] == "2026-11-01T12:00:00+00:00"


def test_times_are_utc_unless_they_say_otherwise() -> None:
    assert times("2026-11-01T06:00:00+01:00", "2026-11-01T06:00:00+01:00") == [
        "2026-11-01T05:00:00+00:00"]


def test_weeks_and_calendar_months() -> None:
    assert times("2026-11-02", "2026-11-30", "1w") == [
        "2026-11-02T00:00:00+00:00", "2026-11-09T00:00:00+00:00", "2026-11-16T00:00:00+00:00",
        "2026-11-23T00:00:00+00:00", "2026-11-30T00:00:00+00:00"]
    # from the 31st: the last day of shorter months, and back to the 31st after them
    assert [t[:10] for t in times("2026-01-31", "2026-05-31", "1mo")] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    assert [t[:10] for t in times("2025-11-15", "2026-11-15", "6mo")] == [
        "2025-11-15", "2026-05-15", "2026-11-15"]


def test_newest_first_reverses_the_order() -> None:
    assert times("2026-11-01", "2026-11-03", newest_first=True) == [
        "2026-11-03T00:00:00+00:00", "2026-11-02T00:00:00+00:00", "2026-11-01T00:00:00+00:00"]


@pytest.mark.parametrize(("start", "end", "every", "message"), [
    ("2026-11-05", "2026-11-01", "1d", "the backfill ends (2026-11-01T00:00:00Z) before it "
     "starts (2026-11-05T00:00:00Z); swap them"),
    ("2026-11-01", "2026-12-24", "1d", "the backfill ends in the future (2026-12-24T00:00:00Z)"),
    ("2020-01-01", "2026-11-01", "1d", f"is more than {MAX_BACKFILL_RUNS} runs; backfill a "
     "shorter range at a time, or a longer interval"),
    ("yesterday", "2026-11-01", "1d", "start: 'yesterday' is not a date or a date-time; write "
     "it as 2026-11-01 or 2026-11-01T06:00:00Z"),
    ("2026-11-01", "2026-13-01", "1d", "end: '2026-13-01' is not a date"),
    ("2026-11-01", "2026-11-02", "daily", "every: 'daily' is not an interval; write a number "
     "and a unit, h (hours), d (days), w (weeks) or mo (months), e.g. 1d"),
    ("2026-11-01", "2026-11-02", "0d", "every: the interval is at least 1 day, got 0"),
    ("0001-01-01T00:00:00+01:00", "2026-11-01", "1d", "start: '0001-01-01T00:00:00+01:00' is "
     "not a date"),  # before the first date a datetime holds, in UTC
])
def test_a_wrong_request_is_refused_saying_what_to_change(
        start: str, end: str, every: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        times(start, end, every)
    assert message in str(raised.value)


def test_an_interval_reads_back_as_written() -> None:
    for text, interval in (("6h", Interval(6, Unit.HOURS)), ("1d", Interval(1, Unit.DAYS)),
                           ("2w", Interval(2, Unit.WEEKS)), ("1mo", Interval(1, Unit.MONTHS))):
        assert parse_interval(text) == interval and interval.text() == text
    assert Interval(1, Unit.DAYS).words() == "every day"
    assert Interval(6, Unit.HOURS).words() == "every 6 hours"


def test_a_run_says_which_backfill_and_which_time_it_is() -> None:
    info = {"type": "ONE_TIME", "backfill": {"backfill_id": 9, "time": "2026-11-02T00:00:00Z",
                                             "index": 2, "count": 7}}
    assert backfill_time(info) == datetime(2026, 11, 2, tzinfo=UTC)
    assert backfill_words(info) == "run 2 of 7 of backfill 9, for 2026-11-02T00:00:00Z"
    assert backfill_time({"type": "PERIODIC"}) is None and backfill_words(None) == ""


def test_an_interval_past_the_last_date_a_datetime_holds_gives_the_first_time_only() -> None:
    assert times("2026-11-01", "2026-11-02", "99999999999mo") == ["2026-11-01T00:00:00+00:00"]
    assert times("2026-11-01", "2026-11-02", "99999999999d") == ["2026-11-01T00:00:00+00:00"]
