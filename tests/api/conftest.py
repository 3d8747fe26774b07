"""One real `headwater server` per test module, on SQLite in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.servers import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    found = Server(folder, f"sqlite:///{folder / 'state.db'}").start()
    yield found
    found.close()


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    return server.token("root", admin=True)
