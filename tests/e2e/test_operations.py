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


def test_a_log_cut_and_re_headed_or_headless_is_a_verdict_of_the_cli(
        hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("a", "echo a")], name="audited")
    hw("run", str(job), check=True)
    database = tmp_path / ".headwater" / "headwater.db"

    # When the log is cut short and its head moved back, as a database writer could
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM audit_log WHERE entry_id > 2")
        conn.execute("UPDATE audit_head SET last_id = 2, last_hash = "
                     "(SELECT hash FROM audit_log WHERE entry_id = 2)")
    cut = hw("audit", "verify")
    # And when the head row itself is gone
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM audit_head")
    headless = hw("audit", "verify")

    # Then the anchor beside the database tells, and nothing is a traceback
    assert cut.returncode == 1
    assert "audit log TAMPERED: first bad entry 3" in cut.stderr
    assert "the anchor saw entry" in cut.stderr
    assert headless.returncode == 1
    assert "Traceback" not in headless.stderr
    assert (tmp_path / ".headwater" / "audit-anchor.jsonl").exists()


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


def test_the_metrics_table_folds_no_name_however_many_figures_there_are(
        hw: Cli, tmp_path: Path) -> None:
    names = [f"figure_with_a_long_name_{i}" for i in range(8)]
    lines = "".join(json.dumps({"name": n, "value": 12345678}) + "\n" for n in names)
    (tmp_path / "metrics.txt").write_text(lines)
    job = write_job(tmp_path / "job.json", [shell(
        "a_task_with_a_long_descriptive_name",
        f'cat {tmp_path / "metrics.txt"} >> "$HEADWATER_ATTEMPT_DIR/metrics.jsonl"')],
        name="wide")
    hw("run", str(job), check=True)

    summary = hw("metrics", "wide", check=True).stdout  # a pipe, not a terminal

    assert all(name in summary for name in [*names, "a_task_with_a_long_descriptive_name"])


def test_alert_on_last_attempt_and_the_webhook_body_field_by_field(hw: Cli, tmp_path: Path,
                                                                    sinks: Sinks) -> None:
    # Given a task that fails 3 times (2 retries) and alerts only on its last attempt
    job = write_job(tmp_path / "job.json", [
        shell("load", "exit 3", max_retries=2,
              email_notifications={"on_start": ["owner@example.com"],
                                   "on_failure": ["owner@example.com"]},
              webhook_notifications={"on_failure": [{"id": "ops"}]},
              notification_settings={"alert_on_last_attempt": True})], name="quiet")
    result = hw("run", str(job))
    assert result.returncode == 1
    run_id = int(result.stdout.split()[1])
    # Then one start mail (the first attempt) and one failure mail (the last attempt)
    subjects = sorted(m["Subject"] for m in sinks.mails)
    assert len(subjects) == 2, subjects
    failure = next(m for m in sinks.mails if "FAILED" in m["Subject"])
    assert "attempt 3 of 3" in failure["Subject"]
    body = failure.get_payload()
    assert "load" in body and f"headwater runs get {run_id}" in body
    # And the webhook body says what happened, field by field
    (hook,) = [p for p in sinks.posts if "event" in p]
    assert hook["event"] == "on_failure" and hook["job_name"] == "quiet"
    assert hook["run_id"] == run_id and hook["task_key"] == "load"
    assert hook["attempt_number"] == 2 and hook["result"] == "FAILED"
    assert hook["state"] == "TERMINATED" and hook["link"] == f"headwater runs get {run_id}"
    assert "exited with code 3" in hook["message"]


def test_a_cancelled_run_respects_no_alert_for_canceled_runs(hw: Cli, tmp_path: Path,
                                                             sinks: Sinks) -> None:
    import subprocess
    import sys
    import time

    started = tmp_path / "started"
    job = write_job(tmp_path / "job.json", [shell("long", f"touch {started}; sleep 60")],
                    name="muted", email_notifications={"on_failure": ["ops@example.com"]},
                    notification_settings={"no_alert_for_canceled_runs": True})
    proc = subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    hw("runs", "cancel", "1", check=True)
    proc.communicate(timeout=60)
    assert json.loads(hw("runs", "get", "1", "--json").stdout)["state"]["result_state"] == "CANCELED"
    assert sinks.mails == []
    actions = [json.loads(line)["action"] for line in
               hw("audit", "list", "--json", check=True).stdout.splitlines()]
    assert "run.cancel_requested" in actions or "run.canceled" in actions, actions


def test_a_duration_warning_is_sent_once_and_the_run_still_succeeds(hw: Cli, tmp_path: Path,
                                                                    sinks: Sinks) -> None:
    job = write_job(tmp_path / "job.json", [shell("slow", "sleep 5")], name="slowish",
                    health={"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN",
                                       "value": 2}]},
                    email_notifications={"on_duration_warning_threshold_exceeded":
                                         ["ops@example.com"]})
    result = hw("run", str(job))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(sinks.mails) == 1
    assert "2" in sinks.mails[0]["Subject"] or "duration" in sinks.mails[0]["Subject"].lower()


def test_a_run_much_longer_than_usual_is_warned_of_with_no_threshold_set(
        hw: Cli, tmp_path: Path, sinks: Sinks) -> None:
    # Given headwater.yml asks for warnings past three times the usual duration
    config = json.loads((tmp_path / "headwater.yml").read_text())
    config["duration_warnings"] = {"times_usual": 3, "at_least_runs": 3, "at_least_seconds": 1}
    (tmp_path / "headwater.yml").write_text(json.dumps(config))
    # and a job without a health rule, whose task naps as long as its parameter says
    job = write_job(tmp_path / "job.json", [shell("nap", "sleep \"$NAP\"",
                                                   env={"NAP": "{{job.parameters.nap}}"})],
                    name="usually_quick", parameters=[{"name": "nap", "default": "0.1"}],
                    email_notifications={"on_duration_warning_threshold_exceeded":
                                         ["ops@example.com"]})
    # When it runs quickly three times, then takes 5 s
    for _ in range(3):
        assert hw("run", str(job)).returncode == 0
    assert sinks.mails == []  # no usual duration before the third run, none over it
    slow = hw("run", str(job), "--param", "nap=5")
    # Then that run is warned of once, and still succeeds
    assert slow.returncode == 0, slow.stdout + slow.stderr
    [mail] = sinks.mails
    assert "usually_quick: run" in mail["Subject"]
    assert "has been running for more than" in mail["Subject"]
    # and a quick run after it is not
    assert hw("run", str(job)).returncode == 0 and len(sinks.mails) == 1


@pytest.mark.parametrize("outage", ["refused", "never_answers"])
def test_a_mail_server_that_is_down_neither_blocks_nor_loses_the_alert(hw: Cli, tmp_path: Path,
                                                                        outage: str) -> None:
    # Given the configured SMTP port refuses connections, or accepts and never answers
    blackhole = socket.socket()
    blackhole.bind((LOOPBACK, 0))
    port = blackhole.getsockname()[1]
    if outage == "never_answers":
        blackhole.listen(16)
    else:
        blackhole.close()
    (tmp_path / "headwater.yml").write_text(json.dumps({
        "smtp": {"host": LOOPBACK, "port": port, "timeout_seconds": 2},
        "delivery": {"max_attempts": 5, "base_delay_seconds": 0.2}}))
    job = write_job(tmp_path / "job.json", [shell("boom", "exit 1")], name="unheard",
                    email_notifications={"on_failure": ["ops@example.com"]})
    # When the job fails: the run ends as it would, and the alert waits in the outbox
    result = hw("run", str(job))
    assert result.returncode == 1 and "ended FAILED" in result.stdout
    listed = hw("notifications", "list", check=True).stdout
    assert "PENDING" in listed or "FAILED" in listed, listed
    # And the run did not wait on the mail server: an engine that sent mail itself would end
    # the run at least one SMTP timeout (2 s) after its last task
    run = json.loads(hw("runs", "get", "1", "--json", check=True).stdout)
    assert run["end_time"] - run["tasks"][0]["end_time"] < 2000
    blackhole.close()
    # Then once the server is up, delivering sends the mail exactly once
    sinks = Sinks()
    controller = Controller(sinks, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        hw("notifications", "deliver", "--wait", "3", check=True)
        hw("notifications", "deliver", check=True)
    finally:
        controller.stop()
    assert [m["To"] for m in sinks.mails] == ["ops@example.com"]
    assert "DELIVERED" in hw("notifications", "list", check=True).stdout


def test_a_dead_alert_is_retried_on_demand_once_its_destination_is_back(
        hw: Cli, tmp_path: Path) -> None:
    # Given a mail server that is down, and one try per alert
    closed = socket.socket()
    closed.bind((LOOPBACK, 0))
    port = closed.getsockname()[1]
    closed.close()
    (tmp_path / "headwater.yml").write_text(json.dumps({
        "smtp": {"host": LOOPBACK, "port": port, "timeout_seconds": 2},
        "delivery": {"max_attempts": 1}}))
    job = write_job(tmp_path / "job.json", [shell("boom", "exit 1")], name="unheard",
                    email_notifications={"on_failure": ["ops@example.com"]})
    assert hw("run", str(job)).returncode == 1
    hw("notifications", "deliver", "--wait", "2", check=True)
    assert "DEAD" in hw("notifications", "list", check=True).stdout
    # When the server is back and the dead alert is retried
    sinks = Sinks()
    controller = Controller(sinks, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        retried = hw("notifications", "retry", "--all", check=True)
        again = hw("notifications", "retry", "--all")
    finally:
        controller.stop()
    # Then it is sent once, says so, and the retry is audited; nothing is left to retry
    assert [m["To"] for m in sinks.mails] == ["ops@example.com"]
    assert retried.stdout.strip() == "notification 1 to email:ops@example.com: DELIVERED"
    assert again.returncode == 1 and "was given up (FAILED or DEAD)" in again.stderr
    audit = hw("audit", "list", "--json", check=True).stdout
    assert '"notification.requeued"' in audit and '"outbox_ids": [1]' in audit
