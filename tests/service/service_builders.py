"""Builders of the service tests."""

from __future__ import annotations

from typing import Any

from headwater.core.spec import JobSettings


def settings(name: str = "etl", tasks: int = 2, **fields: Any) -> JobSettings:
    return JobSettings.model_validate({"name": name, "tasks": [
        {"task_key": f"t{i}", "shell_command_task": {"command": "true"}}
        for i in range(tasks)], **fields})
