"""PagerDuty destinations, delivered to a real HTTP server on loopback standing for the Events
API v2: a `trigger` keyed by the alert's dedupe key, through the outbox's retries, with the
routing key in no error, audit entry or log line."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from notify_servers import T0, FakeClock, HttpSink, failed_run

from headwater.config import HeadwaterConfig
from headwater.notify.messages import Message
from headwater.notify.outbox import OutboxSender, Router
from headwater.notify.pagerduty import dedup_key, pagerduty_event, severity
from headwater.store import SqlStore

NOW = T0 + timedelta(seconds=10)
PUBLIC = "https://headwater.example.com/hw"
KEY = "R0UT1NGKEYcanary0123456789abcdef"  # a routing key: 32 characters, as PagerDuty's


def sender(store: SqlStore, config: dict[str, Any], clock: FakeClock,
           env: dict[str, str]) -> OutboxSender:
    parsed = HeadwaterConfig.model_validate(config)
    return OutboxSender(store, Router(parsed, env), clock, parsed.delivery.policy())


def pager(http_sink: HttpSink, **fields: Any) -> dict[str, Any]:
    return {"type": "pagerduty", "url": http_sink.url, **fields}


def test_pagerduty_gets_a_trigger_keyed_by_the_dedupe_key_with_the_run_as_details(
        store: SqlStore, http_sink: HttpSink) -> None:
    # Given a failed run alerting a PagerDuty service whose key is in the environment, and an
    # Events API that accepts with 202 as PagerDuty's does
    http_sink.statuses = [202]
    run_id = failed_run(store, [], ["pager"])
    config = {"destinations": {"pager": pager(http_sink, integration_key_env="PD_KEY")},
              "server": {"public_url": PUBLIC}}

    # When the sender delivers the alert
    sender(store, config, FakeClock(NOW), {"PD_KEY": KEY}).deliver_due()

    # Then the event triggers an incident of that key, an error, linking to the run's page
    [(status, headers, event)] = http_sink.received
    assert (status, headers["Content-Type"]) == (202, "application/json")
    assert (event["routing_key"], event["event_action"]) == (KEY, "trigger")
    assert event["dedup_key"] == f"run:{run_id}:on_failure|pager"
    payload = event["payload"]
    assert payload["summary"] == f"[headwater] etl: run {run_id} ended FAILED"
    assert (payload["source"], payload["severity"], payload["group"]) == ("headwater", "error",
                                                                          "etl")
    assert payload["timestamp"] == (T0 + timedelta(seconds=3)).isoformat()
    details = payload["custom_details"]
    assert (details["run_id"], details["result"], details["dedupe_key"]) == (
        run_id, "FAILED", event["dedup_key"])
    assert details["message"] == "Task load failed with message: exit code 1"
    assert event["links"] == [{"href": f"{PUBLIC}/runs/{run_id}", "text": "Run in headwater"}]
    [row] = store.outbox_rows(run_id)
    assert (row["status"], row["attempts"]) == ("DELIVERED", 1)


def test_without_a_public_url_the_event_has_no_link_and_a_key_in_the_file_is_used(
        store: SqlStore, http_sink: HttpSink) -> None:
    run_id = failed_run(store, [], ["pager"])

    sender(store, {"destinations": {"pager": pager(http_sink, integration_key=KEY)}},
           FakeClock(NOW), {}).deliver_due()

    [event] = http_sink.delivered()
    assert event["routing_key"] == KEY
    assert "links" not in event
    assert event["payload"]["custom_details"]["link"] == f"headwater runs get {run_id}"


def test_a_refused_event_is_retried_on_5xx_and_no_sink_ever_holds_the_routing_key(
        store: SqlStore, http_sink: HttpSink, caplog: pytest.LogCaptureFixture) -> None:
    # Given two PagerDuty services, one key in the environment and one in the file, behind
    # an Events API that answers 500 (retried) then 400 (an invalid event: for good)
    http_sink.statuses = [500, 500, 400, 400]
    written = "F1LEKEYcanary0123456789abcdef012"
    run_id = failed_run(store, [], ["from-env", "from-file"])
    config = {"destinations": {"from-env": pager(http_sink, integration_key_env="PD_KEY"),
                               "from-file": pager(http_sink, integration_key=written)}}
    clock = FakeClock(NOW)
    worker = sender(store, config, clock, {"PD_KEY": KEY})

    # When the sender tries until it gives up
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            worker.deliver_due()
            clock.advance(60)

    # Then each was tried twice, failed on the 400, and no key is in the outbox, the audit log
    # or the log lines
    rows = store.outbox_rows(run_id)
    assert sorted((r["destination"], r["status"], r["attempts"]) for r in rows) == [
        ("from-env", "FAILED", 2), ("from-file", "FAILED", 2)]
    assert all("HTTP 400" in r["last_error"] for r in rows)
    assert sorted(body["routing_key"] for _, _, body in http_sink.received) == sorted(
        [KEY, KEY, written, written])
    audit = " ".join(str(e.entry.details) for e in store.audit_entries())
    for sink in (" ".join(str(dict(r)) for r in rows), audit, caplog.text):
        assert "canary" not in sink


def test_a_key_variable_that_is_not_set_fails_for_good_naming_the_variable(
        store: SqlStore, http_sink: HttpSink) -> None:
    run_id = failed_run(store, [], ["pager"])

    sender(store, {"destinations": {"pager": pager(http_sink, integration_key_env="PD_KEY")}},
           FakeClock(NOW), {}).deliver_due()

    [row] = store.outbox_rows(run_id)
    assert row["status"] == "FAILED"
    assert "destination 'pager': the variable PD_KEY (integration_key_env) is not set" \
        in row["last_error"]
    assert http_sink.received == []


def test_a_destination_without_a_key_fails_for_good_saying_what_to_set(
        store: SqlStore, http_sink: HttpSink) -> None:
    run_id = failed_run(store, [], ["pager"])

    sender(store, {"destinations": {"pager": pager(http_sink)}}, FakeClock(NOW), {}
           ).deliver_due()

    [row] = store.outbox_rows(run_id)
    assert row["status"] == "FAILED"
    assert "destination 'pager' has no PagerDuty routing key: give integration_key_env" \
        in row["last_error"]
    assert http_sink.received == []


@pytest.mark.parametrize(("event", "state", "result", "expected"), [
    ("on_failure", "TERMINATED", "FAILED", "error"),
    ("on_failure", "TERMINATED", "TIMEDOUT", "error"),
    ("on_failure", "INTERNAL_ERROR", None, "error"),
    ("on_failure", "TERMINATED", "CANCELED", "warning"),
    ("on_failure", "TERMINATED", "UPSTREAM_FAILED", "warning"),
    ("on_failure", "SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED", "warning"),
    ("on_duration_warning_threshold_exceeded", "RUNNING", None, "warning"),
    ("on_start", "RUNNING", None, "info"),
    ("on_success", "TERMINATED", "SUCCESS", "info"),
])
def test_the_severity_follows_the_event_and_how_the_run_ended(
        event: str, state: str, result: str | None, expected: str) -> None:
    assert severity({"event": event, "state": state, "result": result}) == expected


def test_the_summary_and_the_dedup_key_stay_within_pagerduty_s_limits() -> None:
    long_key = "run:1:on_failure|" + "d" * 300
    document = {"event": "on_failure", "result": "FAILED", "dedupe_key": long_key}
    message = Message("[headwater] " + "x" * 2000, "text\n", document)

    event = pagerduty_event(message, KEY)

    assert len(event["payload"]["summary"]) == 1024
    assert event["payload"]["summary"].endswith("x…")
    assert len(event["dedup_key"]) == 255 and event["dedup_key"].startswith("run:1:on_failure|d")
    assert dedup_key(long_key + "e") != event["dedup_key"]  # still one per delivery
    assert dedup_key("run:1:on_failure|pager") == "run:1:on_failure|pager"
