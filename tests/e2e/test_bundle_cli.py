"""`headwater bundle render`: a bundle's jobs as a target and `--var` make them, as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli.bundle import bundle
from headwater.cli.common import bundle_variables
from tests.child_env import child_env

BUNDLE = """\
bundle:
  name: lab
variables:
  warehouse:
    default: local_wh
targets:
  dev:
    mode: development
    default: true
  prod:
    mode: production
    variables:
      warehouse: prod_wh
    resources:
      jobs:
        etl:
          tasks:
            - task_key: load
              max_retries: 3
resources:
  jobs:
    etl:
      name: etl
      schedule:
        quartz_cron_expression: "0 0 2 * * ?"
        timezone_id: UTC
      tasks:
        - task_key: load
          max_retries: 1
          shell_command_task:
            command: ./load.sh ${var.warehouse}
    report:
      name: report
      tasks:
        - task_key: r
          shell_command_task:
            command: ./report.sh ${var.wharehouse}
"""


@pytest.fixture
def bundle_file(tmp_path: Path) -> Path:
    path = tmp_path / "databricks.yml"
    path.write_text(BUNDLE.replace("${var.wharehouse}", "${var.warehouse}"))
    return path


def render(*args: str, user: str = "erin@example.com") -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process, as the given user."""
    env = child_env("BUNDLE_VAR_")
    env["HEADWATER_USER"] = user
    return subprocess.run(
        [sys.executable, "-m", "headwater", "bundle", "render", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_render_prints_the_default_target_as_json(bundle_file: Path) -> None:
    result = render(str(bundle_file), "--job", "etl")

    assert result.returncode == 0, result.stderr
    etl = json.loads(result.stdout)["etl"]
    assert etl["name"] == "[dev erin] etl"
    assert etl["schedule"]["pause_status"] == "PAUSED"
    assert etl["tags"] == {"dev": "erin"}
    assert etl["tasks"][0]["shell_command_task"]["command"] == "./load.sh local_wh"


def test_render_with_target_and_var(bundle_file: Path) -> None:
    result = render(str(bundle_file), "--target", "prod", "--var", "warehouse=cli_wh")

    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)
    assert list(rendered) == ["etl", "report"]
    task = rendered["etl"]["tasks"][0]
    assert (rendered["etl"]["name"], task["max_retries"]) == ("etl", 3)
    assert task["shell_command_task"]["command"] == "./load.sh cli_wh"
    assert "pause_status" not in rendered["etl"]["schedule"]


def test_render_reports_located_problems_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "databricks.yml"
    path.write_text(BUNDLE)

    result = render(str(path))

    assert result.returncode == 1
    assert result.stdout == ""
    line = BUNDLE.splitlines().index("            command: ./report.sh ${var.wharehouse}") + 1
    assert (
        f"{path}:{line}:22: tasks[0].shell_command_task.command: ${{var.wharehouse}}: "
        "unknown variable 'wharehouse' (did you mean 'warehouse'?)" in result.stderr
    )


# In process, with click's runner (works before `bundle` is registered in cli.py) ---------------


def test_the_group_renders_in_process(bundle_file: Path) -> None:
    result = CliRunner().invoke(
        bundle,
        ["render", str(bundle_file), "--target", "prod", "--job", "report"],
        env={"HEADWATER_USER": "x"},
    )

    assert result.exit_code == 0, result.output
    rendered = json.loads(result.output)
    assert list(rendered) == ["report"]
    assert rendered["report"]["name"] == "report"  # prod is not in development mode
    assert rendered["report"]["tasks"][0]["shell_command_task"]["command"] == "./report.sh prod_wh"


def test_unknown_target_and_job_fail_in_process(bundle_file: Path) -> None:
    runner = CliRunner()

    unknown_target = runner.invoke(bundle, ["render", str(bundle_file), "--target", "stage"])
    unknown_job = runner.invoke(bundle, ["render", str(bundle_file), "--job", "etll"])

    assert unknown_target.exit_code == 1
    assert "unknown target 'stage'" in unknown_target.output
    assert "the targets defined are: dev, prod" in unknown_target.output
    assert unknown_job.exit_code == 2
    assert "no job 'etll' (did you mean 'etl'?)" in unknown_job.output


def test_bad_var_pairs_are_usage_errors(bundle_file: Path) -> None:
    result = CliRunner().invoke(bundle, ["render", str(bundle_file), "--var", "warehouse"])

    assert result.exit_code == 2
    assert "'warehouse' is not NAME=VALUE" in result.output


def test_command_line_values_win_over_the_environment() -> None:
    environ = {"BUNDLE_VAR_a": "env", "BUNDLE_VAR_b": "env", "PATH": "/bin"}

    assert bundle_variables(["a=cli=x"], environ) == {"a": "cli=x", "b": "env"}


def test_bundle_var_environment_values_are_read_into_integer_and_boolean_fields(
        tmp_path: Path) -> None:
    # As the Databricks CLI: BUNDLE_VAR_<name> is text, read into the field's type (issue 16)
    path = tmp_path / "databricks.yml"
    path.write_text("variables:\n  retries: {}\n  queued: {}\nresources:\n  jobs:\n    j:\n"
                    "      queue: {enabled: '${var.queued}'}\n      tasks:\n"
                    "        - task_key: t\n          max_retries: ${var.retries}\n"
                    "          shell_command_task: {command: 'true'}\n")
    env = {**child_env("BUNDLE_VAR_"), "BUNDLE_VAR_retries": "2", "BUNDLE_VAR_queued": "TRUE"}

    result = subprocess.run([sys.executable, "-m", "headwater", "bundle", "render", str(path)],
                            env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["j"]
    assert settings["tasks"][0]["max_retries"] == 2 and settings["queue"]["enabled"] is True
