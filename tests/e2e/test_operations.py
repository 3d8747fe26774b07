"""End to end: alerts, the audit log, metrics and SQL through the real `headwater` CLI.

The configuration file (`headwater.yml` in the working directory) points at an SMTP server
and an HTTP sink on loopback. These need the engine wiring (side effects recorded with each
decision, the sender thread, metrics read at each attempt's end) and the commands of
`cli_ops.py` registered in `cli.py`.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import Cli, shell, write_job

LOOPBACK = "127.0.0.1"


class Sinks:
    """An SMTP server and an HTTP sink on loopback, and what they received."""

    def __init__(self) -> None:
        self.mails: list[Message] = []
        self.posts: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[Sinks]:
    sinks = Sinks()
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        smtp_port = probe.getsockname()[1]
    controller = Controller(sinks, hostname=LOOPBACK, port=smtp_port)
    controller.start()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sinks.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://{LOOPBACK}:{server.server_address[1]}"
    (tmp_path / "headwater.yml").write_text(json.dumps({
        "smtp": {"host": LOOPBACK, "port": smtp_port, "timeout_seconds": 5},
        "destinations": {"ops": {"type": "webhook", "url": f"{url}/ops"},
                         "team": {"type": "slack", "url": f"{url}/slack"}},
    }))
    yield sinks
    server.shutdown()
    server.server_close()
    controller.stop()


def failing_job(tmp_path: Path) -> Path:
    return write_job(
        tmp_path / "job.json",
        [shell("extract", "echo extracting"),
         shell("load", "exit 3", "extract", max_retries=1,
               email_notifications={"on_failure": ["load-owner@example.com"]})],
        name="nightly",
        email_notifications={"on_failure": ["ops@example.com"]},
        webhook_notifications={"on_failure": [{"id": "ops"}, {"id": "team"}]},
    )


def test_a_failed_run_alerts_every_destination_once(hw: Cli, tmp_path: Path,
                                                    sinks: Sinks) -> None:
    # Given a job whose task fails twice (one retry), with job and task alerts
    result = hw("run", str(failing_job(tmp_path)))

    # Then the run fails, the job alerts once by mail, webhook and Slack,
    # and the task alerts once per failed attempt
    assert result.returncode == 1
    subjects = sorted(m["Subject"] for m in sinks.mails)
    assert len([m for m in sinks.mails if m["To"] == "ops@example.com"]) == 1
    assert len([m for m in sinks.mails if m["To"] == "load-owner@example.com"]) == 2
    assert any("attempt 2 of 2" in s for s in subjects)
    hooks = [p for p in sinks.posts if "event" in p]
    slack = [p for p in sinks.posts if "text" in p]
    assert [(h["job_name"], h["result"]) for h in hooks] == [("nightly", "FAILED")]
    assert len(slack) == 1 and "nightly" in slack[0]["text"]
    listed = hw("notifications", "list", check=True).stdout
    assert "DELIVERED" in listed and "PENDING" not in listed


def test_the_audit_log_records_the_run_and_detects_tampering(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("a", "echo a")], name="audited")
    hw("run", str(job), check=True)

    listed = hw("audit", "list", "--json", check=True).stdout.splitlines()
    actions = [json.loads(line)["action"] for line in listed]
    assert actions[0] == "job.created"
    assert {"run.started", "task.attempt_started", "task.attempt_ended", "run.ended"} <= set(
        actions)
    assert hw("audit", "verify").returncode == 0

    # When one stored entry is altered behind headwater's back
    with sqlite3.connect(tmp_path / ".headwater" / "headwater.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE entry_id = 2")

    # Then verification fails and names it
    verify = hw("audit", "verify")
    assert verify.returncode == 1
    assert "first bad entry 2" in verify.stderr


def test_sql_and_metrics_over_recorded_runs(hw: Cli, tmp_path: Path) -> None:
    record = ('python3 -c "import json,os; open(os.path.join(os.environ[\'HEADWATER_ATTEMPT_DIR\'],'
              '\'metrics.jsonl\'),\'a\').write(json.dumps({\'name\':\'rows\',\'value\':42})+\'\\n\')"')
    job = write_job(tmp_path / "job.json", [shell("a", record), shell("b", "sleep 0.2", "a")],
                    name="measured")
    for _ in range(2):
        hw("run", str(job), check=True)

    rows = hw("sql", "SELECT task_key, attempt_number, result_state FROM "
              "job_task_run_timeline ORDER BY run_id", "--json", check=True).stdout
    assert [json.loads(line)["task_key"] for line in rows.splitlines()] == ["a", "b", "a", "b"]
    denied = hw("sql", "DELETE FROM runs")
    assert denied.returncode == 1 and "error:" in denied.stderr

    summary = hw("metrics", "measured", check=True).stdout
    assert "2 runs, 2 succeeded (100%)" in summary
    assert "rows" in summary and "42" in summary
