"""Small builders for the core's tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from headwater.core.load import load_files
from headwater.core.plan import Plan, build_plan
from headwater.core.spec import JobSettings
from headwater.errors import Problem, SpecError


def task(key: str, *deps: str, **fields: Any) -> dict[str, Any]:
    """A shell task `key` depending on `deps` (a dep "c:true" gates on a condition outcome)."""
    depends = []
    for dep in deps:
        name, _, outcome = dep.partition(":")
        depends.append({"task_key": name, **({"outcome": outcome} if outcome else {})})
    body: dict[str, Any] = {"task_key": key, "depends_on": depends}
    if not any(k.endswith("_task") for k in fields):
        body["shell_command_task"] = {"command": "true"}
    return {**body, **fields}


def plan_of(*tasks: dict[str, Any], **job: Any) -> Plan:
    return build_plan(JobSettings.model_validate({"name": "test", "tasks": list(tasks), **job}))


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    """The located problems of a job file holding `text` (dedented), which must not load."""
    path = tmp_path / "job.yml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    with pytest.raises(SpecError) as raised:
        load_files([path])
    return raised.value.problems
