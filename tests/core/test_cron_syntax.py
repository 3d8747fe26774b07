"""Reading Quartz cron expressions: the sets Quartz builds, and errors that say what, where and
how to fix. (What Quartz accepts and refuses is held to the real Quartz in test_cron.py.)"""

from __future__ import annotations

import pytest

from headwater.core.cron import CronError, parse_cron


@pytest.mark.parametrize(("expression", "field", "values"), [
    ("0 0 22-2 * * ?", "hours", (0, 1, 2, 22, 23)),  # wraps past midnight
    ("0 50-10/5 * * * ?", "minutes", (0, 5, 10, 50, 55)),
    ("0 0 0 ? NOV-FEB *", "months", (1, 2, 11, 12)),
    ("0 0 0 ? * FRI-MON", "days_of_week", (1, 2, 6, 7)),  # Quartz: 1 = SUN
    ("0 0 0 30-2 * ?", "days_of_month", (1, 2, 30, 31)),
    ("0 0 0 ? * */3", "days_of_week", (1, 4, 7)),
    ("/20 * * * * ?", "seconds", (0, 20, 40)),
    ("0 0 0 ? * L", "days_of_week", (7,)),  # `L` alone in day-of-week is Saturday
    ("0 0 0 1 1 ? 2026/50", "years", (2026, 2076, 2126, 2176)),
    ("0 0 0 ? jan,Mar sun", "months", (1, 3)),
])
def test_fields_become_quartz_s_value_sets(expression: str, field: str,
                                           values: tuple[int, ...]) -> None:
    assert getattr(parse_cron(expression), field) == values


def test_special_days_set_quartz_s_flags() -> None:
    last = parse_cron("0 0 0 L-3W * ?")
    nth = parse_cron("0 0 0 ? * FRI#3")
    final = parse_cron("0 0 0 ? * 6L")

    assert (last.last_day_of_month, last.last_day_offset, last.nearest_weekday) == (True, 3, True)
    assert not last.by_day_of_week and last.days_of_month == ()
    assert (nth.by_day_of_week, nth.days_of_week, nth.nth_day_of_week) == (True, (6,), 3)
    assert (final.days_of_week, final.last_day_of_week) == ((6,), True)


def test_no_year_field_means_every_year_to_2199() -> None:
    years = parse_cron("0 0 0 * * ?").years

    assert (years[0], years[-1], len(years)) == (1970, 2199, 230)


@pytest.mark.parametrize(("expression", "position", "words"), [
    # what Quartz says, where (0-based), and how to fix it
    ("0 0 25 * * ?", 4, "hours field: Hour values must be between 0 and 23 (got 25) at "
                        "character 5; write an hour from 0 to 23"),
    ("0 0 12 ? * 0", 11, "Day-of-Week values must be between 1 and 7 (got 0) at character 12; "
                         "Quartz numbers the days 1 = SUN to 7 = SAT"),
    ("0 0 12 1 * MON", 11, "put '?' in one of them: '0 0 12 1 * ?' (by day of the month) or "
                           "'0 0 12 ? * MON' (by day of the week)"),
    ("0 0 12 ? * ?", 11, "'?' can only be specified for Day-of-Month -OR- Day-of-Week"),
    ("0 0 12 ? JNA *", 9, "Invalid Month value: 'JNA' at character 10; did you mean 'JAN'?"),
    ("0 0 12 ? * MONDAY", 14, "unexpected 'DAY' after 'MON' (Quartz would ignore it)"),
    ("0 0 12 ? * MON-FRI/2", 18, "a step after a name (Quartz ignores the step)"),
    ("*/0 * * * * ?", 2, "a step of 0 (Quartz ignores it)"),
    ("0 0 12 ? * 6#3,2", 11, "n#k cannot be combined with other values in a list"),
    ("0 0 12 15W,20 * ?", 7, "nW cannot be combined with other values in a list"),
    ("0 0 12 * * ? 2030 x", 18, "an expression has at most 7 fields"),
    ("0 0 12 * * ? 1969", 13, "Year values must be between 1970 and 2199 (got 1969)"),
    ("0 0 12 1,,2 * ?", 9, "an empty item in the list '1,,2' at character 10"),
    ("0 */61 * * * ?", 4, "Increment > 60 : 61 at character 5; a step in the minutes field "
                          "is at most 59"),
    ("0 0 12 L-31 * ?", 9, "Offset from last day must be <= 30"),
    ("0 0 12\u00a0* * ?", 6, "a no-break space character at character 7"),
])
def test_errors_say_what_where_and_how_to_fix(expression: str, position: int,
                                              words: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(expression)

    assert words in raised.value.message
    assert raised.value.position == position
    assert raised.value.expression == expression


@pytest.mark.parametrize(("unix", "quartz"), [
    ("30 6 * * 1-5", "0 30 6 ? * MON-FRI"),
    ("0 2 * * *", "0 0 2 * * ?"),
    ("15 10 * * 0,6", "0 15 10 ? * SUN,SAT"),
])
def test_a_unix_expression_gets_its_quartz_spelling(unix: str, quartz: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(unix)

    assert "this looks like a Unix cron expression" in raised.value.message
    assert f"write '{quartz}'" in raised.value.message
    parse_cron(quartz)  # and the spelling offered is valid


def test_the_pointer_shows_the_place() -> None:
    with pytest.raises(CronError) as raised:
        parse_cron("0 0 12 ? * MOM")

    assert raised.value.pointer().splitlines() == ["  0 0 12 ? * MOM", "             ^"]
