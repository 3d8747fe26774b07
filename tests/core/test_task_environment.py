"""What a task inherits from the engine's environment."""

from __future__ import annotations

from headwater.core.task_environment import task_environment

ENGINE = {
    "PATH": "/usr/bin", "HOME": "/home/ann", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
    "TZ": "UTC", "PYTHONPATH": "/srv/lib", "HTTPS_PROXY": "http://proxy:3128",
    "PIP_INDEX_URL": "https://mirror/simple", "REQUESTS_CA_BUNDLE": "/etc/ca.pem",
    "HEADWATER_HOME": "/srv/.headwater", "HEADWATER_SMTP_PASSWORD": "hunter2",
    "OPS_HOOK_AUTH": "Bearer abc", "SLACK_WEBHOOK_URL": "https://hooks.slack/x",
    "DATABRICKS_TOKEN": "dapi123", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_PROFILE": "etl",
    "GITHUB_TOKEN": "ghp_x", "EDITOR": "vi", "MY_TOOL_HOME": "/opt/tool",
}
SECRETS = {"HEADWATER_SMTP_PASSWORD", "OPS_HOOK_AUTH", "SLACK_WEBHOOK_URL"}


def test_a_task_gets_the_basics_and_headwater_values_and_no_secret() -> None:
    seen = task_environment(ENGINE, secrets=SECRETS)

    assert sorted(seen) == ["HEADWATER_HOME", "HOME", "HTTPS_PROXY", "LANG", "LC_ALL", "PATH",
                            "PIP_INDEX_URL", "PYTHONPATH", "REQUESTS_CA_BUNDLE", "TZ"]


def test_inherit_adds_names_and_patterns_but_never_a_configured_secret() -> None:
    seen = task_environment(ENGINE, inherit=["AWS_*", "MY_TOOL_HOME", "GITHUB_TOKEN",
                                             "SLACK_WEBHOOK_URL"], secrets=SECRETS)

    assert {"AWS_PROFILE", "MY_TOOL_HOME", "GITHUB_TOKEN"} <= set(seen)  # named exactly
    assert "AWS_SECRET_ACCESS_KEY" not in seen  # a pattern does not reach what looks secret
    assert "SLACK_WEBHOOK_URL" not in seen  # the configuration names it as a secret
    assert "EDITOR" not in seen
