"""The spec models: every task type parses, limits hold, unknown fields fail, dumps round-trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from headwater.core.spec import (
    TASK_TYPES,
    ConditionTaskOp,
    JobSettings,
    PauseStatus,
    RunIf,
    Task,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "specs"

TASK_BODIES: dict[str, dict[str, Any]] = {
    "notebook_task": {
        "notebook_path": "n.py",
        "base_parameters": {"a": "1"},
        "source": "WORKSPACE",
        "warehouse_id": "w",
    },
    "spark_python_task": {"python_file": "s.py", "parameters": ["--x", "1"], "source": "GIT"},
    "python_wheel_task": {
        "package_name": "p",
        "entry_point": "main",
        "parameters": ["a"],
        "named_parameters": {"k": "v"},
    },
    "python_operator_task": {"main": "pkg.fn", "parameters": [{"name": "n", "value": "v"}]},
    "sql_task": {
        "query": {"query_id": "q", "query_text": "select 1"},
        "file": {"path": "f.sql", "source": "WORKSPACE"},
        "parameters": {"p": "1"},
        "warehouse_id": "w",
    },
    "dbt_task": {
        "commands": ["dbt deps", "dbt build --target dev"],
        "project_directory": "shop",
        "warehouse_id": "w",
        "catalog": "main",
        "schema": "analytics",
        "source": "WORKSPACE",
    },
    "run_job_task": {"job_id": 7, "job_parameters": {"a": "b"}},
    "condition_task": {"op": "LESS_THAN", "left": "1", "right": "2"},
    "for_each_task": {
        "inputs": "[1]",
        "concurrency": 3,
        "task": {"task_key": "inner", "shell_command_task": {"command": "echo"}},
    },
    "shell_command_task": {"command": "echo $X", "env": {"X": "1"}},
}

FULL_JOB: dict[str, Any] = {
    "name": "full",
    "description": "every field",
    "tasks": [
        {
            "task_key": name,
            "description": "d",
            "run_if": "ALL_DONE",
            "max_retries": -1,
            "min_retry_interval_millis": 10,
            "retry_on_timeout": True,
            "timeout_seconds": 5,
            "disabled": False,
            "environment_key": "default",
            "job_cluster_key": "small",
            "existing_cluster_id": "c",
            "new_cluster": {"num_workers": 2, "spark_conf": {"a": "b"}},
            "libraries": [{"pypi": {"package": "requests"}}, {"whl": "x.whl"}],
            "email_notifications": {"on_failure": ["a@example.com"]},
            "webhook_notifications": {"on_start": [{"id": "hook"}]},
            "notification_settings": {"alert_on_last_attempt": True},
            "health": {
                "rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 9}]
            },
            name: body,
        }
        for name, body in TASK_BODIES.items()
    ],
    "job_clusters": [{"job_cluster_key": "small", "new_cluster": {"num_workers": 1}}],
    "environments": [
        {
            "environment_key": "default",
            "spec": {"client": "1", "environment_version": "2", "dependencies": ["x"]},
        }
    ],
    "environment_variables": [
        {"environment_variables_key": "env", "spec": {"variables": {"A": "1"}, "files": [".env"]}}
    ],
    "parameters": [{"name": "day", "default": "mon"}],
    "schedule": {
        "quartz_cron_expression": "0 0 * * * ?",
        "timezone_id": "UTC",
        "pause_status": "PAUSED",
    },
    "trigger": {
        "periodic": {"interval": 2, "unit": "HOURS"},
        "file_arrival": {"url": "/data", "min_time_between_triggers_seconds": 60},
        "table_update": {"table_names": ["c.s.t"], "condition": "ALL_UPDATED"},
        "pause_status": "UNPAUSED",
    },
    "continuous": {"pause_status": "PAUSED", "task_retry_mode": "ON_FAILURE"},
    "queue": {"enabled": True},
    "max_concurrent_runs": 1000,
    "timeout_seconds": 0,
    "health": {"rules": [{"metric": "STREAMING_BACKLOG_FILES", "op": "GREATER_THAN", "value": 1}]},
    "email_notifications": {
        "on_start": ["a@example.com"],
        "on_success": [],
        "on_duration_warning_threshold_exceeded": ["b@example.com"],
        "on_streaming_backlog_exceeded": [],
        "no_alert_for_skipped_runs": True,
    },
    "webhook_notifications": {"on_failure": [{"id": "1"}, {"id": "2"}, {"id": "3"}]},
    "notification_settings": {
        "no_alert_for_skipped_runs": True,
        "no_alert_for_canceled_runs": False,
    },
    "run_as": {"service_principal_name": "sp"},
    "tags": {f"t{i}": "v" for i in range(25)},
    "git_source": {
        "git_url": "https://example.com/r.git",
        "git_provider": "gitHub",
        "git_branch": "main",
    },
    "edit_mode": "UI_LOCKED",
    "deployment": {"kind": "BUNDLE", "metadata_file_path": "/m"},
    "format": "MULTI_TASK",
    "budget_policy_id": "b",
    "usage_policy_id": "u",
    "performance_target": "STANDARD",
    "access_control_list": [{"user_name": "u", "permission_level": "CAN_MANAGE"}],
    "permissions": [{"level": "CAN_VIEW", "group_name": "users"}],
    "lifecycle": {"prevent_destroy": True},
    "parent_path": "/jobs",
}


def test_every_documented_field_is_accepted_and_dumps_round_trip() -> None:
    settings = JobSettings.model_validate(FULL_JOB)

    dumped = settings.model_dump(exclude_none=True, mode="json")

    assert JobSettings.model_validate(dumped) == settings
    assert json.loads(json.dumps(dumped)) == dumped
    assert dumped["tasks"][0]["new_cluster"] == {"num_workers": 2, "spark_conf": {"a": "b"}}
    assert dumped["trigger"]["periodic"] == {"interval": 2, "unit": "HOURS"}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yml")))
def test_fixture_jobs_round_trip(path: Path) -> None:
    for body in yaml.safe_load(path.read_text())["resources"]["jobs"].values():
        settings = JobSettings.model_validate(body)
        assert (
            JobSettings.model_validate(settings.model_dump(exclude_none=True, mode="json"))
            == settings
        )


@pytest.mark.parametrize("name", TASK_TYPES)
def test_task_type_names_the_one_type_that_is_set(name: str) -> None:
    task = Task.model_validate({"task_key": "t", name: TASK_BODIES[name]})

    assert task.task_type == name
    assert task.task_types == [name]


def test_task_type_raises_when_no_type_is_set() -> None:
    with pytest.raises(ValueError, match="has no task type"):
        _ = Task(task_key="t").task_type


def test_enums_keep_their_members() -> None:
    assert [m.value for m in RunIf] == [
        "ALL_SUCCESS",
        "AT_LEAST_ONE_SUCCESS",
        "NONE_FAILED",
        "ALL_DONE",
        "AT_LEAST_ONE_FAILED",
        "ALL_FAILED",
    ]
    assert len(ConditionTaskOp) == 6
    assert PauseStatus("PAUSED") == "PAUSED"


def error_types(body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        JobSettings.model_validate(body)
    return [(tuple(e["loc"]), e["type"]) for e in raised.value.errors()]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"timeout_seconds": -1}, [(("timeout_seconds",), "greater_than_equal")]),
        ({"max_concurrent_runs": 1001}, [(("max_concurrent_runs",), "less_than_equal")]),
        ({"max_concurrent_runs": -1}, [(("max_concurrent_runs",), "greater_than_equal")]),
        ({"tags": {f"t{i}": "v" for i in range(26)}}, [(("tags",), "too_long")]),
        (
            {"tasks": [{"task_key": "t", "max_retries": -2}]},
            [(("tasks", 0, "max_retries"), "greater_than_equal")],
        ),
        (
            {"tasks": [{"task_key": "t", "min_retry_interval_millis": -1}]},
            [(("tasks", 0, "min_retry_interval_millis"), "greater_than_equal")],
        ),
        (
            {"tasks": [{"task_key": "t", "timeout_seconds": -1}]},
            [(("tasks", 0, "timeout_seconds"), "greater_than_equal")],
        ),
        (
            {
                "tasks": [
                    {
                        "task_key": "t",
                        "for_each_task": {
                            "inputs": "[]",
                            "concurrency": 101,
                            "task": {"task_key": "i"},
                        },
                    }
                ]
            },
            [(("tasks", 0, "for_each_task", "concurrency"), "less_than_equal")],
        ),
        (
            {
                "tasks": [
                    {
                        "task_key": "t",
                        "for_each_task": {
                            "inputs": "[]",
                            "concurrency": 0,
                            "task": {"task_key": "i"},
                        },
                    }
                ]
            },
            [(("tasks", 0, "for_each_task", "concurrency"), "greater_than_equal")],
        ),
        ({"tasks": [{"task_key": "t", "run_if": "SOMETIMES"}]}, [(("tasks", 0, "run_if"), "enum")]),
        (
            {
                "schedule": {
                    "quartz_cron_expression": "x",
                    "timezone_id": "UTC",
                    "pause_status": "OFF",
                }
            },
            [(("schedule", "pause_status"), "enum")],
        ),
        (
            {"health": {"rules": [{"metric": "CPU", "op": "GREATER_THAN", "value": 1}]}},
            [(("health", "rules", 0, "metric"), "enum")],
        ),
        (
            {"trigger": {"file_arrival": {"url": "u", "wait_after_last_change_seconds": 30}}},
            [(("trigger", "file_arrival", "wait_after_last_change_seconds"), "greater_than_equal")],
        ),
        ({"notebook_task": {}}, [(("notebook_task",), "extra_forbidden")]),
        (
            {"tasks": [{"task_key": "t", "retry_on_timeout": "yes"}]},
            [(("tasks", 0, "retry_on_timeout"), "bool_type")],
        ),
        (
            {"tasks": [{"task_key": "t", "timeout_seconds": "60"}]},
            [(("tasks", 0, "timeout_seconds"), "int_type")],
        ),
        (
            {"tasks": [{"task_key": "t", "timeout_seconds": True}]},
            [(("tasks", 0, "timeout_seconds"), "int_type")],
        ),
        ({"queue": {}}, [(("queue", "enabled"), "missing")]),
    ],
)
def test_limits_and_types_are_enforced(body: dict[str, Any], expected: list[Any]) -> None:
    assert error_types(body) == expected


def test_numbers_and_booleans_become_text_where_the_api_wants_strings() -> None:
    task = Task.model_validate(
        {
            "task_key": "t",
            "depends_on": [{"task_key": "c", "outcome": False}],
            "condition_task": {"op": "EQUAL_TO", "left": 12.5, "right": True},
        }
    )

    assert task.depends_on[0].outcome == "false"
    assert task.condition_task is not None
    assert (task.condition_task.left, task.condition_task.right) == ("12.5", "true")
