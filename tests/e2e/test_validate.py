"""`headwater validate`: every problem in one report, each located, exit 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from .conftest import Cli

FIVE_MISTAKES = """\
resources:
  jobs:
    etl:
      name: etl
      tasks:
        - task_key: load
          shell_command_task:
            command: "true"
        - task_key: load
          shell_command_task:
            command: "true"
        - task_key: report
          depends_on:
            - task_key: lod
          run_if: ALL_SUCESS
          shell_command_task:
            command: "true"
          timeout_seconds: -5
        - task_key: clean
          notebok_task:
            notebook_path: clean.py
"""


def test_five_mistakes_are_reported_with_file_line_col(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text(FIVE_MISTAKES)
    result = hw("validate", "job.yml")
    assert result.returncode == 1
    report = result.stderr
    located = re.findall(r"^job\.yml:(\d+):(\d+): ", report, flags=re.MULTILINE)
    assert len(located) >= 5, report
    lines = {int(line) for line, _ in located}
    assert 9 in lines  # the duplicate task_key
    assert 14 in lines  # the unknown dependency 'lod'
    assert 15 in lines  # the bad run_if
    assert 18 in lines  # the negative timeout
    assert 20 in lines  # the misspelt task type
    assert "did you mean 'load'" in report
    assert "notebook_task" in report


def test_the_same_job_without_mistakes_passes_as_json(hw: Cli, tmp_path: Path) -> None:
    fixed = yaml.safe_load(FIVE_MISTAKES.replace("task_key: load\n          shell_command_task:\n"
                                                 "            command: \"true\"\n        - ", "", 1)
                           .replace("lod", "load").replace("ALL_SUCESS", "ALL_SUCCESS")
                           .replace("-5", "5").replace("notebok_task", "notebook_task"))
    body = fixed["resources"]["jobs"]["etl"]
    (tmp_path / "job.json").write_text(json.dumps(body))
    (tmp_path / "clean.py").write_text("# Databricks notebook source\n")  # the notebook it runs
    result = hw("validate", "job.json")
    assert result.returncode == 0, result.stderr
    assert "ok:" in result.stdout


MISSING_FILES = """\
bundle:
  name: shop
resources:
  jobs:
    etl:
      name: etl
      tasks:
        - task_key: load
          spark_python_task: {python_file: src/load.py}
        - task_key: clean
          notebook_task: {notebook_path: src/clean}
        - task_key: report
          sql_task: {file: {path: src/report.sql}, warehouse_id: local}
    from_git:
      name: from_git
      git_source: {git_url: "https://example.com/repo.git", git_provider: gitHub,
                   git_branch: main}
      tasks:
        - task_key: clean
          notebook_task: {notebook_path: notebooks/in_the_repo}
"""


def test_validate_names_every_file_a_job_runs_that_is_not_there(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(MISSING_FILES)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "clean.py").write_text("# Databricks notebook source\n")

    result = hw("validate")

    assert result.returncode == 1
    # The script and the SQL file are missing; the notebook is there (by its .py); a path in
    # the job's Git repository is the repository's.
    assert result.stderr.splitlines() == [
        "2 problems found:",
        f"databricks.yml:9:44: tasks[0].spark_python_task.python_file: no such file: "
        f"{tmp_path / 'src' / 'load.py'}; put it there or correct the path",
        f"databricks.yml:13:35: tasks[2].sql_task.file.path: no such file: "
        f"{tmp_path / 'src' / 'report.sql'}; put it there or correct the path"]


MISSING_AND_MISTAKEN = """\
resources:
  jobs:
    j:
      tasks:
        - task_key: a
          spark_python_task: {python_file: missing.py}
        - task_key: b
          depends_on: [{task_key: a}]
          max_retries: nope
          notebook_task: {notebook_path: notebooks/nb}
"""


def test_validate_and_run_refuse_missing_files_with_the_other_problems_in_one_report(
        hw: Cli, tmp_path: Path) -> None:
    # Given a job with a mistyped field and two files that are not there
    (tmp_path / "job.yml").write_text(MISSING_AND_MISTAKEN)

    # When it is validated, and run
    validated = hw("validate", "job.yml")
    ran = hw("run", "job.yml")

    # Then both refuse it with the same report, every problem at its line, and nothing runs
    expected = [
        "3 problems found:",
        f"job.yml:6:44: tasks[0].spark_python_task.python_file: no such file: "
        f"{tmp_path / 'missing.py'}; put it there or correct the path",
        "job.yml:9:24: tasks[1].max_retries: must be an integer (got 'nope')",
        f"job.yml:10:42: tasks[1].notebook_task.notebook_path: no such file: "
        f"{tmp_path / 'notebooks' / 'nb'} (nor with .py, .sql or .ipynb); put it there or "
        "correct the path"]
    assert (validated.returncode, validated.stderr.splitlines()) == (1, expected)
    assert (ran.returncode, ran.stderr.splitlines()) == (1, expected)
    assert hw("runs", "list", check=True).stdout == ""


MISINDENTED_TARGET = """\
bundle:
  name: shop
resources:
  jobs:
    etl:
      name: etl
      tasks:
        - task_key: load
          shell_command_task: {command: "true"}
targets:
  dev:
    default: true
  prod:
    resources:
      jobs:
        etl:
        tasks:
          - task_key: load
            shell_command_task: {command: "echo prod"}
"""


def test_a_job_field_indented_too_little_in_a_target_is_named_by_its_path(
        hw: Cli, tmp_path: Path) -> None:
    # Given `tasks:` written beside the job's key, not under it, in the prod target
    (tmp_path / "databricks.yml").write_text(MISINDENTED_TARGET)

    result = hw("validate", "--target", "prod", "databricks.yml")

    # Then the problem names the path the bundle read, and why it is not a job
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        "databricks.yml:18:11: targets.prod.resources.jobs.tasks: must be a mapping of fields "
        "(got a list): 'tasks' is a field of a job, read here as a job of its own; indent it "
        "under the key of the job it belongs to"]


def test_a_condition_task_with_a_bad_op_is_still_one_for_its_dependants(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text("""\
resources:
  jobs:
    etl:
      name: etl
      tasks:
        - task_key: check_rows
          condition_task: {op: GREATER, left: "1", right: "0"}
        - task_key: load
          depends_on: [{task_key: check_rows, outcome: "true"}]
          shell_command_task: {command: "true"}
""")

    result = hw("validate", "job.yml")

    # Then only the op is reported: check_rows is a condition task, whose outcome load may name
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        "job.yml:7:32: tasks[0].condition_task.op: must be one of EQUAL_TO, NOT_EQUAL, "
        "GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL (got 'GREATER'; "
        "did you mean 'GREATER_THAN'?)"]


EMAILING = """\
resources:
  jobs:
    etl:
      name: etl
      email_notifications: {on_failure: [oncall@example.com]}
      tasks:
        - task_key: load
          shell_command_task: {command: "true"}
          email_notifications: {on_start: [], on_success: [owner@example.com]}
        - task_key: quiet
          shell_command_task: {command: "true"}
          email_notifications: {on_start: []}
"""


def test_validate_notes_e_mails_that_no_smtp_section_can_send(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text(EMAILING)

    without = hw("validate", "job.yml", check=True)
    (tmp_path / "headwater.yml").write_text(
        "smtp: {host: 127.0.0.1, port: 2525, sender: headwater@example.com}\n")
    configured = hw("validate", "job.yml", check=True)

    notes = [line.split(":")[1].strip() for line in without.stdout.splitlines()
             if line.startswith("note:")]
    assert notes == ["email_notifications", "tasks[0].email_notifications"]
    assert "headwater.yml has no smtp: section, so these e-mails cannot be sent" \
        in without.stdout
    assert "note:" not in configured.stdout


MISWIRED_ALERTS = """\
resources:
  jobs:
    etl:
      name: etl
      webhook_notifications:
        on_failure: [{id: hookk}]
      tasks:
        - task_key: load
          webhook_notifications: {on_start: [{id: hook}, {id: pager}]}
          shell_command_task: {command: "true"}
"""


def test_a_json_job_file_gets_the_warnings_a_bundle_gets(hw: Cli, tmp_path: Path) -> None:
    # Given a JSON job whose SQL writes a reference nothing fills in, and whose cleanup's
    # run_if has no dependency to look at
    (tmp_path / "job.json").write_text(json.dumps({"name": "j", "tasks": [
        {"task_key": "q", "sql_task": {"warehouse_id": "w", "query": {
            "query_text": "SELECT {{job.parameters.region}}"}}},
        {"task_key": "cleanup", "run_if": "AT_LEAST_ONE_FAILED",
         "shell_command_task": {"command": "true"}}]}))

    result = hw("validate", "job.json")

    # Then the file is valid, and each is warned of at its JSON path
    assert result.returncode == 0 and "ok: job.json" in result.stdout
    assert ("Warning: job.json: $.tasks[0].sql_task.query.query_text: "
            "{{job.parameters.region}} is not filled in inside SQL") in result.stderr
    assert "Warning: job.json: $.tasks[1].run_if: run_if AT_LEAST_ONE_FAILED" in result.stderr


def test_a_destination_id_the_configuration_lacks_is_warned_of(hw: Cli, tmp_path: Path) -> None:
    # Given a job whose alerts name a misspelt and a missing destination, and a JSON job file
    # whose alert names a misspelt one
    (tmp_path / "job.yml").write_text(MISWIRED_ALERTS)
    (tmp_path / "job.json").write_text(json.dumps({
        "name": "plain", "webhook_notifications": {"on_success": [{"id": "hok"}]},
        "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}]}))
    unknown = hw("validate", "job.yml", check=True)  # no configuration: nothing to check against

    # When headwater.yml defines the destination `hook` only, and the files are validated and
    # the job run
    (tmp_path / "headwater.yml").write_text(
        "destinations:\n  hook: {type: webhook, url: 'http://127.0.0.1:9/x'}\n")
    result = hw("validate", "job.yml")
    plain = hw("validate", "job.json")
    ran = hw("run", "job.yml")

    # Then each wrong id is a warning at its place, with the ids that exist, and the files stay
    # valid (the headwater.yml where the job runs, a server's, may define the ids)
    assert "Warning" not in unknown.stderr
    assert result.returncode == 0 and "ok: job.yml" in result.stdout
    assert ("Warning: job.yml:6:27: webhook_notifications.on_failure[0].id: no notification "
            "destination 'hookk' (did you mean 'hook'?); the configured ones are: hook; correct "
            "the id, or add it under `destinations:` in the configuration file (headwater.yml); "
            "with this configuration file its alerts cannot be sent (each shows FAILED in "
            "`headwater notifications list`)") in result.stderr
    assert "job.yml:9:63: tasks[0].webhook_notifications.on_start[1].id: no notification " \
           "destination 'pager'; the configured ones are: hook" in result.stderr
    assert plain.returncode == 0
    assert "Warning: job.json: $.webhook_notifications.on_success[0].id: no notification " \
           "destination 'hok' (did you mean 'hook'?)" in plain.stderr
    # and the run goes on, warned the same way; its alert to `pager` fails, saying why
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Warning: job.yml:9:63: tasks[0].webhook_notifications.on_start[1].id" in ran.stderr
    failed = hw("notifications", "list", "--status", "failed", check=True)
    assert "pager" in failed.stdout
