"""The `world` fixture of the engine tests (see engine_world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_world import World

from headwater.service import Service
from headwater.store import SqlStore
from headwater.testing import FakeClock


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    store = SqlStore.open(f"sqlite:///{tmp_path / 'headwater.db'}", lease_clock=clock)
    yield World(tmp_path, clock, store, Service(store, clock, "ann", tmp_path / "logs"))
    store.close()
