"""The service over the real SQLite store, on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.service import Service
from headwater.store import SqlStore
from headwater.testing import FakeClock


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    clock = FakeClock()
    store = SqlStore.open(f"sqlite:///{tmp_path / 'headwater.db'}", lease_clock=clock)
    yield Service(store, clock, "ann", tmp_path / "logs")
    store.close()
