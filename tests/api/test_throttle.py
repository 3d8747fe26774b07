"""A client that floods the API gets 429 with `Retry-After`; other clients go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import Server

from headwater.api.throttle import Limit, Throttle


def test_a_bucket_lets_a_burst_through_then_says_how_long_to_wait() -> None:
    throttle = Throttle(Limit(rate=2, burst=3))

    answers = [throttle.take("a", now=0.0) for _ in range(4)]

    assert answers == [None, None, None, 1]
    assert throttle.take("b", now=0.0) is None  # another client has a bucket of its own
    assert throttle.take("a", now=0.5) is None  # half a second refills one request
    assert throttle.take("a", now=0.5) == 1


def test_a_slow_rate_asks_for_a_longer_wait() -> None:
    throttle = Throttle(Limit(rate=0.2, burst=1))

    assert throttle.take("a", now=0.0) is None
    assert throttle.take("a", now=0.0) == 5


def test_quiet_clients_are_forgotten_once_there_are_many() -> None:
    throttle = Throttle(Limit(rate=1, burst=1), max_clients=2)
    for client in ("a", "b", "c"):
        throttle.take(client, now=0.0)

    throttle.take("d", now=10.0)

    assert throttle.take("a", now=10.0) is None
    assert len(throttle._buckets) <= 3


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                    extra_args=("--rate-limit", "1")).start()
    yield server
    server.close()


def test_a_flooding_token_gets_429_with_retry_after_and_others_do_not(
        slow_server: Server) -> None:
    flood, calm = slow_server.token("flood"), slow_server.token("calm")

    replies = [slow_server.call("GET", "/api/2.2/jobs/list", token=flood) for _ in range(3)]

    assert [r.status for r in replies] == [200, 200, 429]
    assert replies[2].body["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert int(replies[2].headers["retry-after"]) >= 1
    assert slow_server.call("GET", "/api/2.2/jobs/list", token=calm).status == 200
