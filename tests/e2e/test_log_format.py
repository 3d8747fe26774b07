"""`--log-format json`: a real engine's and a real server's log, one JSON object per line,
with the run a line is about; and the formatter itself."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from headwater.cli.log_format import JsonLines
from tests.e2e.engines import Cluster, ledger_job
from tests.servers import Server


def json_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of the log as JSON (a line that is not fails the test, naming it)."""
    found = []
    for number, line in enumerate(log.read_text().splitlines(), 1):
        try:
            found.append(json.loads(line))
        except ValueError as error:
            raise AssertionError(f"{log.name}:{number} is not JSON ({error}): {line}") from None
    return found


def test_an_engine_logs_json_lines_naming_the_run_each_is_about(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                      env={"HEADWATER_LOG_FORMAT": "json"})
    try:
        job = ledger_job(tmp_path / "job.json", tmp_path / "ledger", tasks=1)
        job_id = int(cluster.cli("jobs", "create", str(job)).stdout)
        engine = cluster.start_engine()
        run_id = int(cluster.cli("jobs", "run-now", str(job_id)).stdout)
        cluster.wait_ended([run_id])
        assert engine.stop() == 0
    finally:
        cluster.stop_all()

    lines = json_lines(engine.log)
    claimed = [line for line in lines if "claimed run" in line["message"]]
    assert claimed and claimed[0]["run_id"] == run_id
    assert claimed[0]["engine"] == engine.name
    assert claimed[0]["level"] == "INFO"
    assert claimed[0]["logger"].startswith("headwater")
    assert claimed[0]["time"].endswith("+00:00")
    assert lines[-1]["message"] == f"engine {engine.name} stopped; its runs were handed back"


def test_a_server_logs_json_lines_uvicorn_s_own_included(tmp_path: Path) -> None:
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                    extra_args=("--log-format", "json")).start()
    try:
        assert server.stop() == 0
    finally:
        server.close()

    lines = json_lines(server.log)
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert any(line["message"].startswith(f"headwater server on http://127.0.0.1:{server.port}")
               for line in lines)
    # no terminal colour codes for a log shipper (uvicorn's `color_message`)
    assert not [line for line in lines if any("\x1b" in str(value) for value in line.values())]


def test_a_json_line_holds_the_call_s_fields_and_the_traceback() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord("headwater.engine", logging.ERROR, __file__, 1,
                                   "run %s failed", (7,), sys.exc_info())
    record.run_id = 7
    record.path = Path("/tmp/x")  # not JSON: written as its text

    line = json.loads(JsonLines().format(record))

    assert line["message"] == "run 7 failed"
    assert (line["level"], line["logger"], line["run_id"], line["path"]) == (
        "ERROR", "headwater.engine", 7, "/tmp/x")
    assert 'raise ValueError("bad value")' in line["exception"]
    assert "args" not in line and "msg" not in line
