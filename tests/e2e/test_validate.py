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
    result = hw("validate", "job.json")
    assert result.returncode == 0, result.stderr
    assert "ok:" in result.stdout
