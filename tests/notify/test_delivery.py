"""Delivering outbox rows to real servers on loopback: SMTP, webhooks and Slack; retries when
a server refuses or never answers, then exactly one delivery once it is back."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from typing import Any

import pytest
from notify_servers import (
    T0,
    FakeClock,
    HttpSink,
    SmtpSink,
    failed_run,
    free_port,
    start_smtp,
)

from headwater.config import HeadwaterConfig
from headwater.notify.outbox import OutboxSender, Router, start_sender
from headwater.store import SqlStore

NOW = T0 + timedelta(seconds=10)  # the alerts were queued at T0 + 3 s


def sender(
    store: SqlStore, config: dict[str, Any], clock: FakeClock, env: dict[str, str] | None = None
) -> OutboxSender:
    parsed = HeadwaterConfig.model_validate(config)
    return OutboxSender(store, Router(parsed, env or {}), clock, parsed.delivery.policy())


def smtp_config(port: int, timeout: float = 10) -> dict[str, Any]:
    return {"smtp": {"host": "127.0.0.1", "port": port, "timeout_seconds": timeout}}


def statuses(store: SqlStore, run_id: int) -> list[tuple[str, str, int]]:
    return sorted((r["destination"], r["status"], r["attempts"]) for r in store.outbox_rows(run_id))


def test_an_email_says_what_where_which_attempt_why_and_where_to_look(
    store: SqlStore, smtp: tuple[int, SmtpSink]
) -> None:
    port, sink = smtp
    run_id = failed_run(store, ["ops@example.com"], [])
    clock = FakeClock(NOW)

    assert sender(store, smtp_config(port), clock).deliver_due() == 1
    [mail] = sink.messages
    body = mail.get_payload()

    assert mail["To"] == "ops@example.com"
    assert "etl" in mail["Subject"] and "FAILED" in mail["Subject"]
    assert f"run {run_id}" in body and "Why: Task load failed with message: exit code 1" in body
    assert f"headwater runs get {run_id}" in body
    assert mail["X-Headwater-Dedupe-Key"] == f"run:{run_id}:on_failure|email:ops@example.com"
    assert statuses(store, run_id)[0][1:] == ("DELIVERED", 1)
    sent = [e for e in store.audit_entries() if str(e.entry.action) == "notification.sent"]
    assert [e.entry.details["destination"] for e in sent] == ["email:ops@example.com"]


def test_smtp_down_is_retried_with_backoff_then_delivered_exactly_once(store: SqlStore) -> None:
    # Given nothing listening on the SMTP port
    port = free_port()
    run_id = failed_run(store, ["ops@example.com"], [])
    clock = FakeClock(NOW)
    worker = sender(store, smtp_config(port), clock)

    # When the sender tries: connection refused, the row waits 2 s, then 4 s
    worker.deliver_due()
    assert statuses(store, run_id) == [("email:ops@example.com", "PENDING", 1)]
    assert worker.deliver_due() == 0  # not due yet
    clock.advance(2)
    worker.deliver_due()
    [row] = store.outbox_rows(run_id)
    assert "Connection" in row["last_error"] or "refused" in row["last_error"].lower()

    # And the server comes back
    controller, sink = start_smtp(port)
    try:
        clock.advance(4)
        worker.deliver_due()
        clock.advance(600)
        worker.deliver_due()
    finally:
        controller.stop()

    # Then the mail arrived once
    assert len(sink.messages) == 1
    assert statuses(store, run_id) == [("email:ops@example.com", "DELIVERED", 3)]


def test_an_smtp_server_that_never_answers_times_out_and_is_retried(
    store: SqlStore, blackhole: socket.socket
) -> None:
    port = blackhole.getsockname()[1]
    run_id = failed_run(store, ["ops@example.com"], [])
    clock = FakeClock(NOW)

    sender(store, smtp_config(port, timeout=0.5), clock).deliver_due()

    [row] = store.outbox_rows(run_id)
    assert (row["status"], row["attempts"]) == ("PENDING", 1)
    assert "timed out" in row["last_error"].lower() or "timeout" in row["last_error"].lower()


def test_a_webhook_posts_the_run_as_json_and_retries_5xx(
    store: SqlStore, http_sink: HttpSink
) -> None:
    http_sink.statuses = [500, 503]
    run_id = failed_run(store, [], ["ops"])
    clock = FakeClock(NOW)
    config = {
        "destinations": {
            "ops": {
                "type": "webhook",
                "url": http_sink.url,
                "headers": {"X-Team": "data"},
                "header_env": {"Authorization": "HOOK_TOKEN"},
            }
        }
    }
    worker = sender(store, config, clock, {"HOOK_TOKEN": "Bearer s3cret"})

    for _ in range(4):
        worker.deliver_due()
        clock.advance(60)

    [document] = http_sink.delivered()
    headers = http_sink.received[-1][1]
    assert len(http_sink.received) == 3
    assert (headers["X-Team"], headers["Authorization"]) == ("data", "Bearer s3cret")
    assert (document["run_id"], document["job_name"], document["event"]) == (
        run_id,
        "etl",
        "on_failure",
    )
    assert (document["result"], document["link"]) == ("FAILED", f"headwater runs get {run_id}")
    assert document["dedupe_key"] == f"run:{run_id}:on_failure|ops"
    assert statuses(store, run_id) == [("ops", "DELIVERED", 3)]


def test_a_4xx_answer_fails_for_good_and_retry_after_is_honoured(
    store: SqlStore, http_sink: HttpSink
) -> None:
    http_sink.statuses, http_sink.headers = [429, 404], {"Retry-After": "30"}
    run_id = failed_run(store, [], ["ops"])
    clock = FakeClock(NOW)
    worker = sender(
        store, {"destinations": {"ops": {"type": "webhook", "url": http_sink.url}}}, clock
    )

    worker.deliver_due()
    [row] = store.outbox_rows(run_id)
    assert (row["status"], row["next_attempt_time"]) == ("PENDING", NOW + timedelta(seconds=30))
    clock.advance(30)
    worker.deliver_due()
    clock.advance(600)
    assert worker.deliver_due() == 0

    assert statuses(store, run_id) == [("ops", "FAILED", 2)]
    assert "HTTP 404" in store.outbox_rows(run_id)[0]["last_error"]
    failed = [e for e in store.audit_entries() if str(e.entry.action) == "notification.failed"]
    assert len(failed) == 1


def test_a_retry_after_too_large_to_be_a_date_waits_the_backoff_cap(
    store: SqlStore, http_sink: HttpSink
) -> None:
    http_sink.statuses, http_sink.headers = [429, 429, 200], {"Retry-After": "1e13"}
    run_id = failed_run(store, [], ["ops"])
    clock = FakeClock(NOW)
    worker = sender(
        store, {"destinations": {"ops": {"type": "webhook", "url": http_sink.url}}}, clock
    )

    worker.deliver_due()
    [first] = store.outbox_rows(run_id)
    http_sink.headers = {"Retry-After": "inf"}
    clock.advance(600)
    worker.deliver_due()
    [second] = store.outbox_rows(run_id)
    clock.advance(600)
    worker.deliver_due()

    assert (first["status"], first["next_attempt_time"]) == ("PENDING", NOW + timedelta(minutes=10))
    assert "HTTP 429" in first["last_error"]
    assert second["next_attempt_time"] == NOW + timedelta(minutes=20)
    assert statuses(store, run_id) == [("ops", "DELIVERED", 3)]


def test_no_secret_reaches_the_outbox_the_audit_log_or_the_log(
    store: SqlStore, http_sink: HttpSink, caplog: pytest.LogCaptureFixture
) -> None:
    # Given destinations whose URLs and header are secrets from the environment, failing
    http_sink.statuses = [500, 500, 500]
    literal = f"http://127.0.0.1:{http_sink.port}/hooks/canary-literal-5c5c"  # in the file
    secret_path = "/services/T0CANARY/B0CANARY/xoxb-canary-3f9a"
    env = {
        "SLACK_URL": f"http://127.0.0.1:{http_sink.port}{secret_path}",
        "HOOK_URL": f"http://127.0.0.1:{http_sink.port}/hook?token=canary-token-77d1",
        "HOOK_AUTH": "Bearer canary-auth-90e2",
    }
    config = {
        "destinations": {
            "team": {"type": "slack", "url_env": "SLACK_URL"},
            "ops": {
                "type": "webhook",
                "url_env": "HOOK_URL",
                "header_env": {"Authorization": "HOOK_AUTH"},
            },
            "plain": {"type": "webhook", "url": literal},
        },
        "delivery": {"max_attempts": 1},
    }
    run_id = failed_run(store, [], ["team", "ops", "plain"])

    # When the sender tries them and gives up
    with caplog.at_level(logging.INFO):
        sender(store, config, FakeClock(NOW), env).deliver_due()

    # Then no sink holds a secret: not the outbox, the audit log, or the log lines
    rows = " ".join(str(dict(row)) for row in store.outbox_rows(run_id))
    audit = " ".join(str(e.entry.details) for e in store.audit_entries())
    for sink in (rows, audit, caplog.text):
        for canary in ("CANARY", "canary-token", "canary-auth", "canary-literal"):
            assert canary not in sink
    assert "POST [REDACTED]: HTTP 500" in rows  # a URL from the environment: all of it
    assert f"POST http://127.0.0.1:{http_sink.port}/[REDACTED]: HTTP 500" in rows  # its path
    assert "[REDACTED]" in audit and "[REDACTED]" in caplog.text


def test_a_webhook_that_never_answers_times_out(store: SqlStore, http_sink: HttpSink) -> None:
    http_sink.delay = 1.5
    run_id = failed_run(store, [], ["ops"])
    config = {
        "destinations": {"ops": {"type": "webhook", "url": http_sink.url, "timeout_seconds": 0.3}}
    }

    sender(store, config, FakeClock(NOW)).deliver_due()

    [row] = store.outbox_rows(run_id)
    assert (row["status"], row["attempts"]) == ("PENDING", 1)
    assert "timed out" in row["last_error"]


def test_slack_gets_a_readable_text(store: SqlStore, http_sink: HttpSink) -> None:
    run_id = failed_run(store, [], ["team"])

    sender(
        store,
        {"destinations": {"team": {"type": "slack", "url_env": "SLACK_URL"}}},
        FakeClock(NOW),
        {"SLACK_URL": http_sink.url},
    ).deliver_due()

    [document] = http_sink.delivered()
    assert list(document) == ["text"]
    assert document["text"].startswith("*[headwater] etl: run")
    assert f"headwater runs get {run_id}" in document["text"]


def test_an_unknown_destination_fails_naming_the_known_ones(store: SqlStore) -> None:
    run_id = failed_run(store, [], ["nope"])

    sender(
        store,
        {"destinations": {"ops": {"type": "slack", "url": "http://127.0.0.1:9"}}},
        FakeClock(NOW),
    ).deliver_due()

    [row] = store.outbox_rows(run_id)
    assert row["status"] == "FAILED"
    assert "no destination 'nope'" in row["last_error"] and "ops" in row["last_error"]


def test_a_dead_row_after_the_most_tries(store: SqlStore) -> None:
    run_id = failed_run(store, ["ops@example.com"], [])
    clock = FakeClock(NOW)
    config = {**smtp_config(free_port()), "delivery": {"max_attempts": 3}}
    worker = sender(store, config, clock)

    for _ in range(5):
        worker.deliver_due()
        clock.advance(60)

    assert statuses(store, run_id) == [("email:ops@example.com", "DEAD", 3)]


def test_a_failing_channel_does_not_hold_up_a_healthy_one(
    store: SqlStore, http_sink: HttpSink, smtp: tuple[int, SmtpSink]
) -> None:
    port, sink = smtp
    run_id = failed_run(store, ["ops@example.com"], ["broken", "ops"])
    config = {
        **smtp_config(port),
        "destinations": {
            "broken": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/x"},
            "ops": {"type": "webhook", "url": http_sink.url},
        },
    }

    sender(store, config, FakeClock(NOW)).deliver_due()

    assert statuses(store, run_id) == [
        ("broken", "PENDING", 1),
        ("email:ops@example.com", "DELIVERED", 1),
        ("ops", "DELIVERED", 1),
    ]
    assert len(sink.messages) == 1


def test_the_background_sender_delivers_and_stops(store: SqlStore, http_sink: HttpSink) -> None:
    from headwater.bootstrap import SystemClock

    run_id = failed_run(store, [], ["ops"])
    config = HeadwaterConfig.model_validate(
        {"destinations": {"ops": {"type": "webhook", "url": http_sink.url}}}
    )

    handle = start_sender(store, config, SystemClock(), {})
    handle.stop(drain_seconds=5)

    assert not handle.thread.is_alive()
    assert len(http_sink.delivered()) == 1
    assert statuses(store, run_id) == [("ops", "DELIVERED", 1)]
