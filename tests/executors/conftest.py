"""Every executor test runs real processes: whatever a test leaves running is killed after it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.executors.attempt_processes import LAUNCH, kill_leftovers

from headwater.executors import LocalExecutor


@pytest.fixture(autouse=True)
def no_leftover_processes(tmp_path: Path) -> Iterator[None]:
    yield
    kill_leftovers(tmp_path)


@pytest.fixture
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(launch=LAUNCH, kill_grace_seconds=10.0) as local:
        yield local
