"""`headwater describe` on a job with targets, retries, a condition, alerts and a schedule."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli.design import describe
from headwater.core.spec import JobSettings
from headwater.design.describe import concurrency_words, describe_job
from headwater.design.markdown import SECTIONS, render_markdown
from tests.design.code_files import with_its_code
from tests.design.conftest import FIXTURES, Invoke


@pytest.fixture
def markdown(job_file: Callable[[str], Path], run_describe: Invoke) -> str:
    result = run_describe(job_file("designed_job.yml"))
    assert result.exit_code == 0, result.output
    return result.output


def section(markdown: str, title: str) -> str:
    """The text under `## title`, up to the next `## ` heading."""
    return markdown.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0].strip()


def test_every_section_is_there_in_order(markdown: str) -> None:
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == list(SECTIONS)
    assert markdown.startswith("# Job design: [dev ")  # the dev target's name prefix


def test_purpose_and_tasks(markdown: str) -> None:
    assert section(markdown, "Purpose") == "Builds the daily orders mart from the shop's exports."
    tasks = section(markdown, "Tasks").splitlines()
    assert tasks[0] == "| Task | Type | Code | Single responsibility |"
    assert tasks[2] == ("| `ingest_bronze_orders` | notebook | `notebooks/ingest_orders` "
                        "`env={{job.parameters.env}}` | Loads the shop's order export into bronze. |")
    assert tasks[3] == ("| `check_bronze_quality` | condition | "
                        "`{{tasks.ingest_bronze_orders.values.rows}}` GREATER_THAN `0` | "
                        "Decides whether the batch is good enough to publish. |")
    assert "| `alert_on_failure` | shell command | `echo failed >&2` |" in section(markdown, "Tasks")


def test_dependencies_run_if_and_condition_branches(markdown: str) -> None:
    text = section(markdown, "Dependencies")
    for sentence in [
        "- `ingest_bronze_orders` starts the run.",
        "- `check_bronze_quality` runs after `ingest_bronze_orders` if all succeeded "
        "(`ALL_SUCCESS`).",
        "- `check_bronze_quality` is a condition: `{{tasks.ingest_bronze_orders.values.rows}}` "
        "GREATER_THAN `0`; true → `publish_gold_orders`; false → `quarantine_bronze_orders`.",
        "- `publish_gold_orders` runs after `check_bronze_quality` (branch true) if all "
        "succeeded (`ALL_SUCCESS`).",
        "- `alert_on_failure` runs after `ingest_bronze_orders` and `publish_gold_orders` if at "
        "least one failed (`AT_LEAST_ONE_FAILED`).",
    ]:
        assert sentence in text.splitlines()
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.splitlines()[0] == "flowchart LR"
    assert '    t1{"check_bronze_quality<br/>condition"}' in block
    assert '    t1 -->|"true"| t2' in block and '    t1 -->|"false"| t3' in block
    assert "    t0 -.-> t4" in block  # the failure handler's edges are dashed


def test_retry_strategy_and_timeouts_in_words(markdown: str) -> None:
    assert section(markdown, "Retry strategy and timeouts").splitlines() == [
        "- the job: times out after 1 hour 30 minutes; at most 1 run at a time; more wait in "
        "the queue, first in first out",
        "- `ingest_bronze_orders`: 3 retries, at least 1 minute apart, timeouts retried: no; "
        "times out after 5 minutes",
        "- `check_bronze_quality`: a condition, decided at once: no retries or timeout needed",
        "- `publish_gold_orders`: 1 retry, timeouts retried: yes; times out after 10 minutes",
        "- `quarantine_bronze_orders`: no retries; times out after 1 minute",
        "- `alert_on_failure`: no retries; times out after 1 minute",
    ]


def test_parameters_per_target(markdown: str) -> None:
    assert section(markdown, "Parameters").splitlines() == [
        "| Parameter | `dev` | `test` | `prod` |",
        "|---|---|---|---|",
        "| `env` | `dev` | `test` | `prod` |",
        "| `batch_size` | `100` | `100` | `5000` |",
    ]


def test_schedule_per_target_in_words(markdown: str) -> None:
    # An unpaused schedule also says when it fires next (after now: the dates vary).
    upcoming = r"; next at (\d{4}-\d\d-\d\d 06:30(, | and )?){3} Europe/Amsterdam"
    lines = section(markdown, "Schedule").splitlines()
    assert lines[0] == "- `dev`: every Monday to Friday at 06:30 Europe/Amsterdam (paused)"
    for line, target in zip(lines[1:], ("test", "prod"), strict=True):
        assert re.fullmatch(rf"- `{target}`: every Monday to Friday at 06:30 "
                            rf"Europe/Amsterdam \(unpaused\){upcoming}", line), line


def test_alerting_rules(markdown: str) -> None:
    assert section(markdown, "Alerting rules").splitlines() == [
        "| Where | Event | Destinations |",
        "|---|---|---|",
        "| the job | when it fails | email data-oncall@example.com; webhook destination "
        "`pagerduty-data` |",
        "| task `publish_gold_orders` | when it succeeds | email analysts@example.com |",
        "| task `alert_on_failure` | when at least one of `ingest_bronze_orders` and "
        "`publish_gold_orders` failed | runs `echo failed >&2` |",
        "",
        "- the job: no alert for skipped runs",
    ]


def test_compute(markdown: str) -> None:
    assert section(markdown, "Compute").splitlines() == [
        "- job cluster `etl_cluster` (a Dask cluster made for each run): runtime "
        "`15.4.x-scala2.12`, node type `i3.xlarge`, 2 workers; used by `ingest_bronze_orders`",
        "- environment `default`: version 2, dependencies `pandas`; used by `publish_gold_orders`",
    ]


def test_a_bare_job_says_what_is_missing() -> None:
    # Given a job with one task and nothing else
    settings = JobSettings.model_validate(
        {"tasks": [{"task_key": "only", "shell_command_task": {"command": "true"}}]})

    # When described
    text = render_markdown(describe_job(settings, "bare"))

    # Then each empty section says so, and how to fix it
    assert section(text, "Purpose").startswith("No description")
    assert section(text, "Parameters") == "No job parameters."
    assert section(text, "Schedule") == "Not scheduled: runs only when started by hand."
    assert section(text, "Alerting rules").startswith("No alerts: nobody is told")


def test_html_to_a_file(job_file: Callable[[str], Path], run_describe: Invoke,
                        tmp_path: Path) -> None:
    out = tmp_path / "design.html"
    result = run_describe(job_file("designed_job.yml"), "--format", "html", "--output", out)

    assert result.exit_code == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('class="node') == 5
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page


def test_more_than_one_job_needs_job(tmp_path: Path, run_describe: Invoke) -> None:
    text = (FIXTURES / "good_job.yml").read_text()
    two = text.replace("resources:\n  jobs:\n", "resources:\n  jobs:\n    other:\n      tasks:\n"
                       "        - task_key: a\n          shell_command_task: {command: 'true'}\n")
    path = with_its_code(tmp_path / "two.yml", "good_job.yml")
    path.write_text(two)

    result = CliRunner().invoke(describe, [str(path)])
    assert result.exit_code == 2 and "pick one with --job" in result.output
    assert run_describe(path, "--job", "other").exit_code == 0


@pytest.mark.parametrize(("settings", "words"), [
    ({}, "at most 1 run at a time (the default); more wait in the queue, first in first out"),
    ({"max_concurrent_runs": 3, "queue": {"enabled": False}},
     "at most 3 runs at a time; more are skipped (the queue is off)"),
    ({"max_concurrent_runs": 0}, "every run is skipped (max_concurrent_runs 0)"),
])
def test_what_the_engine_enforces_on_concurrent_runs_in_words(
        settings: dict[str, object], words: str) -> None:
    job = JobSettings.model_validate({"name": "j", "tasks": [
        {"task_key": "t", "shell_command_task": {"command": "true"}}], **settings})

    assert concurrency_words(job) == words


def test_given_now_the_schedule_lists_its_next_fire_times() -> None:
    # Given a weekday schedule, and a Friday afternoon in Amsterdam
    settings = JobSettings.model_validate({
        "tasks": [{"task_key": "only", "shell_command_task": {"command": "true"}}],
        "schedule": {"quartz_cron_expression": "0 30 6 ? * MON-FRI",
                     "timezone_id": "Europe/Amsterdam"},
    })
    now = datetime(2026, 3, 27, 15, tzinfo=UTC)

    # When described with the time, and without it
    with_now = render_markdown(describe_job(settings, "weekly", now=now))
    without = render_markdown(describe_job(settings, "weekly"))

    # Then the next runs skip the weekend (and are in the zone's wall time, summer time or not)
    assert section(with_now, "Schedule") == (
        "Every Monday to Friday at 06:30 Europe/Amsterdam (unpaused); next at 2026-03-30 06:30, "
        "2026-03-31 06:30 and 2026-04-01 06:30 Europe/Amsterdam.")
    assert section(without, "Schedule") == \
        "Every Monday to Friday at 06:30 Europe/Amsterdam (unpaused)."
