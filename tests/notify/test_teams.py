"""Microsoft Teams destinations, delivered to a real HTTP server on loopback: an Adaptive Card
with the subject, the text and a button to the run's page, through the outbox's retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from notify_servers import T0, FakeClock, HttpSink, failed_run

from headwater.config import HeadwaterConfig
from headwater.notify.outbox import OutboxSender, Router
from headwater.store import SqlStore

NOW = T0 + timedelta(seconds=10)
PUBLIC = "https://headwater.example.com/hw"


def sender(store: SqlStore, config: dict[str, Any], clock: FakeClock,
           env: dict[str, str]) -> OutboxSender:
    parsed = HeadwaterConfig.model_validate(config)
    return OutboxSender(store, Router(parsed, env), clock, parsed.delivery.policy())


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card of a Teams message, checking the envelope Teams requires."""
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    return card


def test_teams_gets_an_adaptive_card_with_a_title_the_text_and_a_button_to_the_run_page(
        store: SqlStore, http_sink: HttpSink) -> None:
    # Given a failed run alerting a Teams workflow whose URL is in the environment
    run_id = failed_run(store, [], ["team"])
    config = {"destinations": {"team": {"type": "teams", "url_env": "TEAMS_URL"}},
              "server": {"public_url": PUBLIC}}

    # When the sender delivers the alert
    sender(store, config, FakeClock(NOW), {"TEAMS_URL": http_sink.url}).deliver_due()

    # Then the card's title is the subject, each line of the text a block, and a button opens
    # the run's page
    [body] = http_sink.delivered()
    title, *lines = card_of(body)["body"]
    assert title == {"type": "TextBlock", "text": f"[headwater] etl: run {run_id} ended FAILED",
                     "weight": "Bolder", "size": "Medium", "wrap": True}
    texts = [block["text"] for block in lines]
    assert texts[0] == f"What: Run {run_id} ended FAILED."
    assert "Why: Task load failed with message: exit code 1" in texts
    assert texts[-2:] == [f"Where to look: {PUBLIC}/runs/{run_id}", f"headwater runs get {run_id}"]
    assert all(block["wrap"] for block in lines)
    assert card_of(body)["actions"] == [{"type": "Action.OpenUrl", "title": "Run in headwater",
                                         "url": f"{PUBLIC}/runs/{run_id}"}]
    [row] = store.outbox_rows(run_id)
    assert (row["destination"], row["status"], row["attempts"]) == ("team", "DELIVERED", 1)


def test_without_a_public_url_the_card_names_the_command_and_has_no_button(
        store: SqlStore, http_sink: HttpSink) -> None:
    run_id = failed_run(store, [], ["team"])

    sender(store, {"destinations": {"team": {"type": "teams", "url": http_sink.url}}},
           FakeClock(NOW), {}).deliver_due()

    [body] = http_sink.delivered()
    card = card_of(body)
    assert "actions" not in card
    assert card["body"][-1]["text"] == f"Where to look: headwater runs get {run_id}"


def test_a_teams_workflow_that_is_busy_is_retried_then_gets_the_card_once(
        store: SqlStore, http_sink: HttpSink) -> None:
    # Given a workflow that answers 429 (with Retry-After) then 502, then accepts with 202
    http_sink.statuses, http_sink.headers = [429, 502, 202], {"Retry-After": "5"}
    run_id = failed_run(store, [], ["team"])
    clock = FakeClock(NOW)
    worker = sender(store, {"destinations": {"team": {"type": "teams", "url": http_sink.url}}},
                    clock, {})

    # When the sender tries as the outbox makes it due
    worker.deliver_due()
    [waiting] = store.outbox_rows(run_id)
    for _ in range(3):
        clock.advance(60)
        worker.deliver_due()

    # Then the Retry-After was honoured and the third try, accepted, was the last
    assert (waiting["status"], waiting["next_attempt_time"]) == ("PENDING",
                                                                 NOW + timedelta(seconds=5))
    assert [status for status, _, _ in http_sink.received] == [429, 502, 202]
    [row] = store.outbox_rows(run_id)
    assert (row["status"], row["attempts"]) == ("DELIVERED", 3)


@pytest.mark.parametrize("destination", [{"type": "teams"},
                                         {"type": "teams", "url_env": "TEAMS_URL"}])
def test_a_teams_destination_without_a_url_fails_for_good_saying_what_to_set(
        store: SqlStore, http_sink: HttpSink, destination: dict[str, Any]) -> None:
    run_id = failed_run(store, [], ["team"])

    sender(store, {"destinations": {"team": destination}}, FakeClock(NOW), {}).deliver_due()

    [row] = store.outbox_rows(run_id)
    assert row["status"] == "FAILED"
    assert "destination 'team' has no http(s) URL (url, or url_env naming a set variable)" \
        in row["last_error"]
    assert http_sink.received == []
