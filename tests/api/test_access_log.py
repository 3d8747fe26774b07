"""`headwater server --access-log` logs every request: who asked for what, and the answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.servers import Server


@pytest.mark.parametrize("flag", [True, False])
def test_the_access_log_names_each_request_only_when_asked(tmp_path: Path, flag: bool) -> None:
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                    extra_args=("--access-log",) if flag else ()).start()
    try:
        token = server.token("kim")
        assert server.call("GET", "/api/2.2/jobs/list?limit=5", token=token).status == 200
        assert server.call("GET", "/api/2.2/jobs/get?job_id=99", token=token).status == 400
    finally:
        server.stop()
    log = server.log.read_text()
    lines = ['127.0.0.1:', '"GET /api/2.2/jobs/list?limit=5 HTTP/1.1" 200',
             '"GET /api/2.2/jobs/get?job_id=99 HTTP/1.1" 400']
    assert all(line in log for line in lines) is flag, log
