"""`headwater deploy` and `headwater bundle run`, like the Databricks CLI's, on the local store
(the same commands against a server are in test_client.py)."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cli

BUNDLE = """\
bundle:
  name: shop
resources:
  jobs:
    load_orders:
      name: load_orders
      parameters: [{name: day, default: monday}]
      tasks:
        - task_key: load
          shell_command_task: {command: 'echo "loading $HEADWATER_PARAM_DAY"'}
    report:
      name: report
      tasks:
        - task_key: write
          shell_command_task: {command: "echo report"}
targets:
  dev: {default: true}
  prod: {}
"""
# What `headwater deploy` prints for BUNDLE, then for BUNDLE with the report job changed.
FIRST_DEPLOY = ["load_orders: 1  (created, version 1)", "report: 2  (created, version 1)"]
SECOND_DEPLOY = ["load_orders: 1  (unchanged, version 1)", "report: 2  (updated, version 2)"]


def test_deploying_twice_changes_the_same_jobs_and_bundle_run_runs_one(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE)

    first = hw("deploy", check=True)
    (tmp_path / "databricks.yml").write_text(BUNDLE.replace("echo report", "echo report v2"))
    second = hw("deploy", check=True)
    prod = hw("deploy", "-t", "prod", check=True)  # the Databricks CLI's short option
    ran = hw("bundle", "run", "load_orders", "--param", "day=friday")

    assert first.stdout.splitlines() == FIRST_DEPLOY
    assert second.stdout.splitlines() == SECOND_DEPLOY
    assert prod.stdout.splitlines() == ["load_orders: 3  (created, version 1)",
                                        "report: 4  (created, version 1)"]
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "of job 'load_orders' (job 1) started" in ran.stdout
    assert "ended SUCCESS" in ran.stdout
    logs = hw("runs", "logs", ran.stdout.split()[1], "load", check=True)
    assert logs.stdout == "loading friday\n"


def test_bundle_run_of_a_job_never_deployed_says_so(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE)

    result = hw("bundle", "run", "report")

    assert result.returncode == 1
    assert "job 'report' of bundle shop (target dev) is not deployed: run `headwater deploy` " \
           "first" in result.stderr


def test_the_databricks_cli_s_bundle_commands_read_databricks_yml_here(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE.replace("        - task_key: write\n",
                                                            "        - task_key: write\n"
                                                            "          timeout_second: 5\n"))
    broken = hw("bundle", "validate")
    (tmp_path / "databricks.yml").write_text(BUNDLE)

    validated = hw("bundle", "validate", check=True)
    plain = hw("validate", check=True)
    deployed = hw("bundle", "deploy", check=True)
    ran = hw("run", "--job", "report")

    assert broken.returncode == 1
    assert "databricks.yml:15:11: tasks[0].timeout_second: unknown field 'timeout_second' " \
           "(did you mean 'timeout_seconds'?)" in broken.stderr
    assert validated.stdout == plain.stdout
    assert "ok: databricks.yml: job 'report' (1 task)" in validated.stdout
    assert deployed.stdout.splitlines() == FIRST_DEPLOY
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "of job 'report' (job 2, version 1) started" in ran.stdout
