"""One real `headwater server` per test module, on SQLite in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.servers import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    # Shared by every test of a module, many of which send bad tokens on purpose: the lock-out
    # of an address that keeps failing (test_sessions.py) must not end their module early.
    found = Server(folder, f"sqlite:///{folder / 'state.db'}",
                   extra_args=("--failed-auth-limit", "100000")).start()
    yield found
    found.close()


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    return server.token("root", admin=True)
