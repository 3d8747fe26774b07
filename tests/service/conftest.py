"""The service over the real SQLite store, on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.core.spec import JobSettings
from headwater.service import Service
from headwater.store import SqlStore
from headwater.testing import FakeClock


def settings(name: str = "etl", tasks: int = 2, **fields: Any) -> JobSettings:
    return JobSettings.model_validate({"name": name, "tasks": [
        {"task_key": f"t{i}", "shell_command_task": {"command": "true"}}
        for i in range(tasks)], **fields})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    clock = FakeClock()
    store = SqlStore.open(f"sqlite:///{tmp_path / 'headwater.db'}", lease_clock=clock)
    yield Service(store, clock, "ann", tmp_path / "logs")
    store.close()
