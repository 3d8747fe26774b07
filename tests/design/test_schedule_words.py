"""Quartz cron expressions, periodic triggers and durations in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.design.schedule_words import (
    cron_in_words,
    duration_words,
    millis_words,
    next_fire_words,
    schedule_in_words,
)


@pytest.mark.parametrize(("expression", "words"), [
    ("0 0 2 * * ?", "every day at 02:00 Europe/Amsterdam"),
    ("0 30 6 ? * MON-FRI", "every Monday to Friday at 06:30 Europe/Amsterdam"),
    ("0 30 6 ? * 2-6", "every Monday to Friday at 06:30 Europe/Amsterdam"),
    ("0 0/15 * * * ?", "every 15 minutes Europe/Amsterdam"),
    ("0 */15 * * * ?", "every 15 minutes Europe/Amsterdam"),
    ("30 0/15 * * * ?", "at second 30 of every 15th minute Europe/Amsterdam"),
    ("0 5/15 * * * ?", "every 15 minutes from minute 5 Europe/Amsterdam"),
    ("0 0 6,18 * * ?", "every day at 06:00 and 18:00 Europe/Amsterdam"),
    ("0 0 9 1 * ?", "on day 1 of every month at 09:00 Europe/Amsterdam"),
    ("0 0 9 1,15 * ?", "on days 1 and 15 of every month at 09:00 Europe/Amsterdam"),
    ("0 0 0 L * ?", "on the last day of every month at 00:00 Europe/Amsterdam"),
    ("0 0 8 15W * ?", "on the weekday nearest day 15 of every month at 08:00 Europe/Amsterdam"),
    ("0 15 10 ? * 6#3", "on the third Friday of every month at 10:15 Europe/Amsterdam"),
    ("0 0 1 ? * 6L", "on the last Friday of every month at 01:00 Europe/Amsterdam"),
    ("0 0 * * * ?", "every hour on the hour Europe/Amsterdam"),
    ("0 30 * * * ?", "every hour at minute 30 Europe/Amsterdam"),
    ("0 30 */2 * * ?", "every 2 hours at minute 30 Europe/Amsterdam"),
    ("0 0 9-17 * * ?", "every hour from 09:00 to 17:00 Europe/Amsterdam"),
    ("0 */5 9-17 ? * MON-FRI",
     "every 5 minutes from 09:00 to 17:59, every Monday to Friday Europe/Amsterdam"),
    ("*/30 * * * * ?", "every 30 seconds Europe/Amsterdam"),
    ("0 * * * * ?", "every minute Europe/Amsterdam"),
    ("0 0 12 ? 1,7 MON,WED,FRI",
     "every Monday, Wednesday and Friday in January and July at 12:00 Europe/Amsterdam"),
    ("0 0 12 1 JAN ?", "on day 1 of January at 12:00 Europe/Amsterdam"),
    ("0 0 2 * * ? *", "every day at 02:00 Europe/Amsterdam"),
    ("15 0 2 * * ?", "every day at 02:00:15 Europe/Amsterdam"),
])
def test_common_forms_in_words(expression: str, words: str) -> None:
    assert schedule_in_words(expression, "Europe/Amsterdam") == words


@pytest.mark.parametrize("expression", [
    "0 0 2 * * ? 2030",  # a year
    "0 0/7 1/3 * * ?",  # two steps
    "0 0 2 L-3 * ?",
    "0 0 2 ? * */2",
])
def test_anything_else_is_quoted_not_guessed(expression: str) -> None:
    assert schedule_in_words(expression, "UTC") == \
        f'on the Quartz cron expression "{expression}" in UTC'


@pytest.mark.parametrize(("expression", "reason"), [
    ("0 0 25 * * ?", "Hour values must be between 0 and 23 (got 25)"),  # not "at 25:00"
    ("1 2 3 4 5", "this looks like a Unix cron expression"),
    ("0 0 2 ? * 1#9", "A numeric value between 1 and 5 must follow the '#' option"),
    ("0 30 6 ? * MON-FRI/2", "a step after a name"),  # Quartz would fire on every weekday
    ("0 0 2 1 * MON", "put '?' in one of them"),
])
def test_an_invalid_expression_is_never_put_in_words(expression: str, reason: str) -> None:
    words = schedule_in_words(expression, "UTC")

    assert words.startswith(f'never: the Quartz cron expression "{expression}" is invalid (')
    assert reason in words
    assert cron_in_words(expression) is None


def test_an_unknown_zone_is_said_to_be_unknown() -> None:
    assert schedule_in_words("0 0 2 * * ?", "Europe/Amsterdm").startswith(
        "never: unknown time zone 'Europe/Amsterdm' (did you mean 'Europe/Amsterdam'?)")


def test_next_fire_times_in_words_skip_a_wall_time_the_zone_skips() -> None:
    # Given 02:30 every day, and the night Amsterdam moves from 02:00 to 03:00 ahead
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)

    words = next_fire_words("0 30 2 * * ?", "Europe/Amsterdam", now)

    # Then 29 March, which has no 02:30, is not listed
    assert words == "next at 2026-03-30 02:30, 2026-03-31 02:30 and 2026-04-01 02:30 " \
                    "Europe/Amsterdam"


def test_next_fire_times_in_words_show_seconds_and_the_end() -> None:
    now = datetime(2026, 12, 31, 23, tzinfo=UTC)

    assert next_fire_words("15 0 0 1 1 ? 2027", "UTC", now) == "next at 2027-01-01 00:00:15 UTC"
    assert next_fire_words("0 0 0 1 1 ? 2020", "UTC", now) == \
        "no fire time after 2026-12-31 23:00 UTC"
    assert next_fire_words("0 0 25 * * ?", "UTC", now) == ""


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "0 seconds"), (1, "1 second"), (300, "5 minutes"), (3600, "1 hour"),
    (5400, "1 hour 30 minutes"), (90_061, "1 day 1 hour 1 minute 1 second"),
])
def test_durations(seconds: int, words: str) -> None:
    assert duration_words(seconds) == words


@pytest.mark.parametrize(("millis", "words"), [
    (250, "250 milliseconds"), (1000, "1 second"), (1500, "1.5 seconds"), (60_000, "1 minute"),
])
def test_intervals(millis: int, words: str) -> None:
    assert millis_words(millis) == words
