"""`headwater schedule next` in a child process prints what the real Quartz printed; `validate`
and `lint` refuse a job whose schedule Quartz would misread.

The expected fire times are the Java oracle's (tests/core/quartz/vectors.json): a sample of
every group, the DST ones included. `--after` is the vector's start as a wall time in the
zone, with its UTC offset only where the wall time alone would be read as another instant (the
first pass through a repeated hour).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater.core.cron import local_instant, time_zone

from .conftest import Cli

VECTORS = json.loads((Path(__file__).parents[1] / "core" / "quartz" / "vectors.json").read_text())
PER_GROUP = {"dst": 6, "calendar": 3, "weekdays": 2, "syntax": 3, "years": 2, "random": 4}


def wall_time(case: dict[str, Any]) -> str:
    """The case's start as `--after` takes it: a wall time in the zone."""
    after = datetime.fromisoformat(case["after"])
    wall = after.astimezone(time_zone(case["timezone"]))
    naive = wall.replace(tzinfo=None)
    if local_instant(naive, case["timezone"]) == after.astimezone(UTC):
        return naive.isoformat()
    return wall.isoformat()  # the first of two equal wall times: say which


def sample() -> list[Any]:
    """Evenly spread cases of each group, and the DST cases that test the most: a start in
    the first pass through a repeated hour, and Lord Howe's half-hour jump."""
    chosen = []
    for group, count in PER_GROUP.items():
        cases = [case for case in VECTORS["cases"] if case["group"] == group]
        chosen += cases[::max(1, len(cases) // count)][:count]
    dst = [case for case in VECTORS["cases"] if case["group"] == "dst"]
    chosen += [case for case in dst if "+" in wall_time(case)[10:]][:2]
    chosen += [case for case in dst if case["timezone"] == "Australia/Lord_Howe"
               and case["expression"] == "0 15,40 * * * ?"]
    return [pytest.param(case, id=case["id"]) for case in chosen]


@pytest.mark.parametrize("case", sample())
def test_the_cli_prints_what_quartz_prints(hw: Cli, case: dict[str, Any]) -> None:
    result = hw("schedule", "next", case["expression"], "--timezone", case["timezone"],
                "--after", wall_time(case), "--count", str(case["count"]))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == case["fire_times"]


def test_an_invalid_expression_exits_2_pointing_at_the_mistake(hw: Cli) -> None:
    result = hw("schedule", "next", "0 0 25 * * ?")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: hours field: Hour values must be between 0 and 23 (got 25) at character 5; "
        "write an hour from 0 to 23",
        "  0 0 25 * * ?",
        "      ^",
    ]


def test_an_unknown_zone_exits_2_with_a_suggestion(hw: Cli) -> None:
    result = hw("schedule", "next", "0 0 2 * * ?", "--timezone", "Europe/Amsterdm")

    assert result.returncode == 2
    assert "unknown time zone 'Europe/Amsterdm' (did you mean 'Europe/Amsterdam'?)" in \
        result.stderr


def test_without_after_it_starts_now(hw: Cli) -> None:
    before = datetime.now(UTC)

    result = hw("schedule", "next", "* * * * * ?", "--count", "2")

    first, second = (datetime.fromisoformat(line) for line in result.stdout.splitlines())
    assert before < first < second
    assert (second - first).total_seconds() == 1


def test_an_expression_that_ends_says_so(hw: Cli) -> None:
    result = hw("schedule", "next", "0 0 0 1 1 ? 2027-2028", "--after", "2026-06-01T00:00",
                "--count", "5")

    assert result.returncode == 0
    assert result.stdout.splitlines() == ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]
    assert "no fire time after 2028-01-01T00:00:00Z" in result.stderr


BAD_SCHEDULE = """\
resources:
  jobs:
    nightly:
      schedule:
        quartz_cron_expression: "0 0 25 * * ?"
        timezone_id: Europe/Amsterdm
      tasks:
        - task_key: only
          shell_command_task:
            command: "true"
"""


@pytest.mark.parametrize("command", ["validate", "lint"])
def test_validate_and_lint_refuse_a_bad_schedule_at_its_place(hw: Cli, tmp_path: Path,
                                                              command: str) -> None:
    (tmp_path / "job.yml").write_text(BAD_SCHEDULE)

    result = hw(command, "job.yml")

    assert result.returncode == 1
    assert "job.yml:5:33: schedule.quartz_cron_expression: hours field: Hour values must be " \
           "between 0 and 23 (got 25)" in result.stderr
    assert "job.yml:6:22: schedule.timezone_id: unknown time zone 'Europe/Amsterdm' (did you " \
           "mean 'Europe/Amsterdam'?)" in result.stderr


def test_describe_shows_the_schedule_of_a_valid_job_in_words(hw: Cli, tmp_path: Path) -> None:
    fixed = BAD_SCHEDULE.replace("0 0 25 * * ?", "0 30 2 * * ?").replace("Amsterdm", "Amsterdam")
    (tmp_path / "job.yml").write_text(fixed)

    result = hw("describe", "job.yml")

    assert result.returncode == 0, result.stderr
    assert "Every day at 02:30 Europe/Amsterdam (unpaused); next at " in result.stdout


def test_validate_notes_the_triggers_headwater_keeps_but_never_acts_on(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "gated.json").write_text(json.dumps({
        "name": "gated", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}],
        "triggers": [{"model": {"condition": "MODEL_ALIAS_SET", "aliases": ["champion"]}},
                     {"periodic": {"interval": 1, "unit": "HOURS"},
                      "sql_condition": {"sql_query_id": "q1", "warehouse_id": "w1"}}]}))

    result = hw("validate", "gated.json")

    assert result.returncode == 0, result.stderr
    assert "note: triggers[0].model: a model trigger fires on the versions of a Unity " \
        "Catalog model, which headwater does not have: it never fires" in result.stdout
    assert "note: triggers[1].sql_condition: a SQL condition runs a saved query of " \
        "Databricks SQL" in result.stdout
