"""`GET /api/health`: 200 while the store answers and the engine runs, 503 otherwise, with no
token and nothing of the reason in the body."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from tests.servers import Server, free_port

from headwater.api.app import ApiSettings, create_app
from headwater.service import Service
from headwater.store import open_store
from headwater.testing import FakeClock


def test_a_probe_without_a_token_hears_the_server_is_well(server: Server) -> None:
    reply = server.call("GET", "/api/health")

    assert reply.status == 200
    assert reply.body == {"status": "ok", "store": "ok", "engine": "running"}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Callable[[], bool]], tuple[Server, Path]]]:
    """An API on a real SQLite store, served by a real uvicorn, with `engine_running` as its
    engine's state; the server and its store's file."""
    stops: list[Callable[[], None]] = []

    def start(engine_running: Callable[[], bool]) -> tuple[Server, Path]:
        database = tmp_path / "state.db"
        store = open_store(f"sqlite:///{database}")
        service = Service(store, FakeClock(), "local", tmp_path)
        app = create_app(service, ApiSettings(engine_running=engine_running))
        port = free_port()
        web = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                            log_level="warning"))
        thread = threading.Thread(target=web.run)
        thread.start()
        while not web.started:
            threading.Event().wait(0.05)

        def stop() -> None:
            web.should_exit = True
            thread.join(30)
            store.close()

        stops.append(stop)
        return Server(tmp_path, "", port=port), database

    yield start
    for stop in stops:
        stop()


def test_a_stopped_engine_or_a_lost_store_is_a_503_that_says_which(
        serve: Callable[[Callable[[], bool]], tuple[Server, Path]]) -> None:
    running = threading.Event()
    running.set()
    server, database = serve(running.is_set)
    assert server.call("GET", "/api/health").status == 200

    running.clear()  # the engine drains, or failed
    stopped = server.call("GET", "/api/health")
    database.unlink()  # the store's file is gone from under the server
    lost = server.call("GET", "/api/health")

    assert (stopped.status, stopped.body) == (503, {
        "status": "unavailable", "store": "ok", "engine": "stopped"})
    assert (lost.status, lost.body) == (503, {
        "status": "unavailable", "store": "unreachable", "engine": "stopped"})
    assert str(database) not in lost.text
