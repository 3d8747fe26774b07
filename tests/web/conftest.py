"""One real `headwater server` per test module (its UI at `/`, its API under `/api/`), one
headless Chromium per module, and the admin signed in to it for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.servers import Server
from tests.web.browsing import Visitor, chromium, visitor


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    found = Server(folder, f"sqlite:///{folder / 'state.db'}").start()
    yield found
    found.close()


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    return server.token("ada", admin=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def ada(browser: Browser, server: Server, admin: str) -> Iterator[Visitor]:
    """The admin, signed in; no page of the test may log an error."""
    with visitor(browser, server, admin) as found:
        yield found
        assert found.errors == []
