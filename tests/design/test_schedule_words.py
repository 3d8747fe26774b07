"""Quartz cron expressions, periodic triggers and durations in words."""

from __future__ import annotations

import pytest

from headwater.design.schedule_words import duration_words, millis_words, schedule_in_words


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
    "1 2 3 4 5",  # five fields: not Quartz
    "0 0 2 ? * 1#9",  # no ninth week
    "0 0/7 1/3 * * ?",  # two steps
])
def test_anything_else_is_quoted_not_guessed(expression: str) -> None:
    assert schedule_in_words(expression, "UTC") == \
        f'on the Quartz cron expression "{expression}" in UTC'


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
