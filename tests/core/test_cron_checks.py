"""A job's schedule is checked like every other setting: a bad cron expression or time zone is
a problem located at its file:line:col, beside the job's other problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headwater.core.checks import check_job
from headwater.core.spec import JobSettings

from .helpers import problems_of

TASK = {"task_key": "only", "shell_command_task": {"command": "true"}}


def findings(**schedule: Any) -> list[tuple[str, str]]:
    return check_job(JobSettings.model_validate({"tasks": [TASK], "schedule": schedule}))



def test_a_valid_schedule_has_no_findings() -> None:
    assert findings(quartz_cron_expression="0 30 6 ? * MON-FRI",
                    timezone_id="Europe/Amsterdam") == []


def test_hour_25_is_refused() -> None:
    assert findings(quartz_cron_expression="0 0 25 * * ?", timezone_id="UTC") == [
        ("schedule.quartz_cron_expression",
         "hours field: Hour values must be between 0 and 23 (got 25) at character 5; write an "
         "hour from 0 to 23"),
    ]


def test_a_misspelt_zone_is_refused_with_the_right_spelling() -> None:
    assert findings(quartz_cron_expression="0 0 2 * * ?", timezone_id="Europe/Amsterdm") == [
        ("schedule.timezone_id",
         "unknown time zone 'Europe/Amsterdm' (did you mean 'Europe/Amsterdam'?); use a Java "
         "time-zone id, such as 'Europe/Amsterdam', 'America/New_York', 'UTC' or 'GMT+05:30'"),
    ]


def test_both_mistakes_are_located_in_the_file(tmp_path: Path) -> None:
    # Given a job file with an hour 25 and a misspelt zone, and a mistake elsewhere
    problems = problems_of(tmp_path, """
        resources:
          jobs:
            nightly:
              schedule:
                quartz_cron_expression: "0 0 25 * * ?"
                timezone_id: Europe/Amsterdm
              tasks:
                - task_key: only
                  shell_command_task: {command: "true"}
                  timeout_seconds: -1
        """)

    # Then each is reported at its own line and column, in file order
    where = [(p.where.rsplit(":", 2)[1:], p.path) for p in problems]
    assert where == [
        (["5", "33"], "schedule.quartz_cron_expression"),
        (["6", "22"], "schedule.timezone_id"),
        (["10", "28"], "tasks[0].timeout_seconds"),
    ]
    assert "Hour values must be between 0 and 23" in str(problems[0])
    assert "did you mean 'Europe/Amsterdam'?" in str(problems[1])


def test_a_bad_expression_set_by_a_target_is_located_in_the_target(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, """
        targets:
          prod:
            default: true
            resources:
              jobs:
                nightly:
                  schedule:
                    quartz_cron_expression: "0 0 2 * * MON"
                    timezone_id: UTC
        resources:
          jobs:
            nightly:
              tasks:
                - task_key: only
                  shell_command_task: {command: "true"}
        """)

    (problem,) = problems
    assert problem.where.endswith(":8:37")
    assert "put '?' in one of them: '0 0 2 * * ?'" in problem.message
