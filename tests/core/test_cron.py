"""The cron evaluator against the real Quartz: every vector in tests/core/quartz/vectors.json.

The vectors are Quartz 2.3.2's answers (regenerate them with tests/core/quartz/regenerate.sh).
A valid expression must give exactly Quartz's fire times; one Quartz refuses must be refused,
with Quartz's own words where Quartz has good ones; one Quartz reads only in part (`strict`)
must be refused, saying so. Below them: the contract of `next_fire_times` itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from headwater.core.cron import (
    CronError,
    CronExpression,
    local_instant,
    next_fire_times,
    parse_cron,
    time_zone,
)

VECTORS = json.loads((Path(__file__).parent / "quartz" / "vectors.json").read_text())
CASES: list[dict[str, Any]] = VECTORS["cases"]
# Quartz's messages that headwater repeats word for word (then says where and how to fix).
QUARTZ_WORDS = (
    "Unexpected end of expression",
    "values must be between",
    "Support for specifying both a day-of-week AND a day-of-month parameter is not implemented",
    "'?' can only be specified for Day-of-Month -OR- Day-of-Week",
    "'?' can only be specified for Day-of-Month or Day-of-Week",
    "A numeric value between 1 and 5 must follow the '#' option",
    "Offset from last day must be <= 30",
    "Support for specifying 'L' and 'LW' with other days of the month is not implemented",
    "Support for specifying 'L' with other days of the week is not implemented",
    'Support for specifying multiple "nth" days is not implemented',
    "Invalid Month value",
    "Invalid Day-of-Week value",
    "Illegal characters for this position",
    "Increment > ",
    "'/' must be followed by an integer",
    "option is not valid here",
)
# Where headwater's words are more to the point than Quartz's, which name the wrong place.
OWN_WORDS = {
    "0 0 12\u00a0* * ?": "a no-break space",  # Quartz: '?' can only be specified for ...
    "0 0 12 L-3X * ?": "unexpected 'X' after 'L-3'",  # Quartz: Illegal characters ... 'L-3'
}


def by_group(*groups: str) -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in CASES if case["group"] in groups]


def iso(instants: list[datetime]) -> list[str]:
    return [instant.strftime("%Y-%m-%dT%H:%M:%SZ") for instant in instants]


def fire_times(case: dict[str, Any]) -> list[str]:
    after = datetime.fromisoformat(case["after"])
    return iso(next_fire_times(case["expression"], case["timezone"], after, case["count"]))


def test_the_vectors_cover_what_they_claim() -> None:
    groups = {case["group"] for case in CASES}
    assert groups >= {"syntax", "calendar", "weekdays", "years", "dst", "invalid", "strict",
                      "random"}
    dst_zones = {case["timezone"] for case in CASES if case["group"] == "dst"}
    assert {"Europe/Amsterdam", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
            "Australia/Lord_Howe"} <= dst_zones
    assert len(CASES) > 1000
    assert "Quartz 2.3.2" in VECTORS["about"]


@pytest.mark.parametrize("case", by_group("syntax", "calendar", "weekdays", "years", "dst",
                                          "random"))
def test_fire_times_are_quartz_s(case: dict[str, Any]) -> None:
    assert "fire_times" in case, f"Quartz refused a case meant to be valid: {case}"
    assert fire_times(case) == case["fire_times"]


@pytest.mark.parametrize("case", by_group("invalid"))
def test_what_quartz_refuses_is_refused(case: dict[str, Any]) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(case["expression"])

    quartz = case.get("error", "")
    words = OWN_WORDS.get(case["expression"]) or next((w for w in QUARTZ_WORDS if w in quartz),
                                                      None)
    if words is not None:
        assert words in raised.value.message
    assert ";" in raised.value.message  # and a way to fix it follows


@pytest.mark.parametrize("case", by_group("strict"))
def test_what_quartz_reads_only_in_part_is_refused(case: dict[str, Any]) -> None:
    assert case["headwater"] == "refuses"
    with pytest.raises(CronError) as raised:
        parse_cron(case["expression"])
    assert raised.value.position is not None


def test_where_quartz_loops_forever_headwater_skips_the_month() -> None:
    # Given `L-30W`, which has no day in February, and a start where Quartz never returns
    (hung,) = [c for c in CASES if c["expression"] == "0 0 12 L-30W * ?"]
    assert hung.get("hung") is True

    # When headwater looks for the next fire times
    found = fire_times(hung)

    # Then it passes over the months of fewer than 31 days: 1 March (a Saturday, so Monday the
    # 3rd), 1 May and 1 July are 30 days before their last days
    assert found == ["2025-03-03T12:00:00Z", "2025-05-01T12:00:00Z", "2025-07-01T12:00:00Z"]


def test_l_minus_28_w_in_february_fires_only_in_leap_years() -> None:
    # Given the weekday nearest the 1st of a 29-day February, where Quartz never returns
    (hung,) = [c for c in CASES if c["expression"] == "0 0 12 L-28W 2 ?"]
    assert hung.get("hung") is True

    # Then headwater fires on it in leap years (1 February 2032 is a Sunday: Monday the 2nd)
    assert fire_times(hung) == ["2020-02-03T12:00:00Z", "2024-02-01T12:00:00Z",
                                "2028-02-01T12:00:00Z", "2032-02-02T12:00:00Z"]


def test_a_year_field_ends_the_schedule() -> None:
    after = datetime(2026, 6, 1, tzinfo=UTC)

    found = next_fire_times("0 0 0 1 1 ? 2027-2029", "UTC", after, 10)

    assert iso(found) == ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]
    assert next_fire_times("0 0 0 1 1 ? 2020", "UTC", after, 3) == []


def test_fire_times_are_strictly_after_and_in_utc() -> None:
    after = datetime(2026, 3, 29, 2, 0, tzinfo=timezone(timedelta(hours=1)))  # 01:00 UTC

    found = next_fire_times("0 0 * * * ?", "Europe/Amsterdam", after, 2)

    assert iso(found) == ["2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z"]
    assert all(instant.tzinfo is UTC for instant in found)


def test_fractions_of_a_second_are_dropped_as_quartz_drops_them() -> None:
    after = datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)

    assert iso(next_fire_times("* * * * * ?", "UTC", after, 1)) == ["2026-01-01T00:00:01Z"]


def test_a_parsed_expression_works_like_its_text() -> None:
    cron = parse_cron("0 15 10 ? * 6#3")
    after = datetime(2026, 1, 1, tzinfo=UTC)

    assert isinstance(cron, CronExpression)
    assert str(cron) == "0 15 10 ? * 6#3"
    assert next_fire_times(cron, "UTC", after, 3) == next_fire_times(str(cron), "UTC", after, 3)


def test_a_naive_after_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_fire_times("0 0 * * * ?", "UTC", datetime(2026, 1, 1), 1)


def test_an_unknown_zone_is_refused_before_any_search() -> None:
    with pytest.raises(CronError, match=r"unknown time zone 'Europe/Amsterdm' \(did you mean "
                                        r"'Europe/Amsterdam'\?\)"):
        next_fire_times("0 0 * * * ?", "Europe/Amsterdm", datetime(2026, 1, 1, tzinfo=UTC), 1)


def test_cron_error_is_an_invalid_parameter_value() -> None:
    with pytest.raises(CronError) as raised:
        parse_cron("0 0 25 * * ?")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert raised.value.position == 4
    assert raised.value.pointer() == "  0 0 25 * * ?\n      ^"


@pytest.mark.parametrize(("wall", "expected"), [
    ("2024-03-31T02:30:00", "2024-03-31T01:30:00Z"),  # in the gap: moved forward, to 03:30 CEST
    ("2024-10-27T02:30:00", "2024-10-27T01:30:00Z"),  # in the overlap: the second, 02:30 CET
    ("2024-07-01T12:00:00", "2024-07-01T10:00:00Z"),
])
def test_wall_times_are_read_as_quartz_reads_them(wall: str, expected: str) -> None:
    instant = local_instant(datetime.fromisoformat(wall), "Europe/Amsterdam")

    assert iso([instant]) == [expected]


def test_time_zone_returns_a_tzinfo() -> None:
    assert time_zone("Asia/Kolkata").utcoffset(datetime(2026, 1, 1)) == timedelta(hours=5.5)


@pytest.mark.parametrize("expression", ["0 0 12 ? * 1#\u00b2", "0 0 12 ? * 1#\u0663"])
def test_a_digit_that_is_not_ascii_after_hash_is_a_located_error(expression: str) -> None:
    # '²' is a digit to str.isdigit but not to int(); '٣' is a decimal to int(), not to Quartz
    with pytest.raises(CronError, match="A numeric value between 1 and 5 must follow the '#'"):
        parse_cron(expression)
