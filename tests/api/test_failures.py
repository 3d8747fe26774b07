"""A failure nobody foresaw: a 500 naming a request id that the server's log line carries
too, with the traceback in the log and never in the body. A real uvicorn on loopback serves
the app over a store that breaks on purpose."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.servers import Server, free_port

from headwater.api.app import create_app
from headwater.ports import TokenRecord
from headwater.service import Service
from headwater.testing import FakeClock


class BrokenStore:
    """Knows one token; every job list fails with a secret in its message."""

    def token_by_hash(self, token_hash: str) -> TokenRecord:
        return TokenRecord(1, "ann", True, "", FakeClock().now(), None, None)

    def list_jobs(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire: secret=hunter2")


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Server]:
    service = Service(BrokenStore(), FakeClock(), "local", tmp_path)  # type: ignore[arg-type]
    port = free_port()
    web = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=web.run)
    thread.start()
    server = Server(tmp_path, "", port=port)
    while not web.started:
        threading.Event().wait(0.05)
    yield server
    web.should_exit = True
    thread.join(30)


def test_an_unforeseen_failure_is_a_500_whose_id_the_log_carries(
        broken: Server, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="headwater.api"):
        reply = broken.call("GET", "/api/2.2/jobs/list", token="dapi-any")

    ident = reply.headers["x-request-id"]
    assert reply.status == 500
    assert reply.body == {"error_code": "INTERNAL_ERROR", "message": (
        f"The server failed to answer this request (request id {ident}); its log has the "
        "details under that id.")}
    logged = [r for r in caplog.records if ident in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "hunter2" in str(logged[0].exc_info[1])
