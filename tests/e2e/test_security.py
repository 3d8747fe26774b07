"""Secrets stay secret, end to end through the real CLI: what a task's process can see."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cli, shell, write_job

CONFIG = """\
smtp: {host: 127.0.0.1, port: 2525, password_env: HEADWATER_SMTP_PASSWORD}
destinations:
  ops: {type: webhook, url_env: OPS_HOOK_URL, header_env: {Authorization: OPS_HOOK_AUTH}}
  team: {type: slack, url_env: SLACK_WEBHOOK_URL}
task_environment:
  inherit: [AWS_PROFILE]
"""
SECRETS = {"HEADWATER_SMTP_PASSWORD": "canary-smtp-7f3a", "OPS_HOOK_URL": "http://127.0.0.1:9/hook-8c1d",
           "OPS_HOOK_AUTH": "Bearer canary-auth-51e0", "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/slack-2b9e",
           "DATABRICKS_TOKEN": "dapi-canary-90ab", "MY_API_SECRET": "canary-secret-44c2"}


def test_a_task_sees_no_secret_of_the_engine_only_what_is_defined(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text(CONFIG)
    job = write_job(tmp_path / "job.json", [shell("show", "env | sort")], name="env")

    ran = hw("run", str(job), extra_env={**SECRETS, "AWS_PROFILE": "etl", "EDITOR": "vi"})
    logs = hw("runs", "logs", "1", "show", check=True).stdout

    assert ran.returncode == 0, ran.stdout + ran.stderr
    seen = dict(line.split("=", 1) for line in logs.splitlines() if "=" in line)
    for name, value in SECRETS.items():
        assert name not in seen and value not in logs
    assert seen["AWS_PROFILE"] == "etl"  # inherited because headwater.yml says so
    assert "EDITOR" not in seen
    assert {"PATH", "HOME", "HEADWATER_RUN_ID", "HEADWATER_TASK_KEY"} <= set(seen)
