"""Alerts link to the run's page in the web UI when headwater.yml gives `server.public_url`,
delivered to real SMTP and HTTP servers on loopback; the CLI command stays for those without
the UI, and without the setting the alerts name the command only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_servers import T0, FakeClock, HttpSink, SmtpSink, failed_run

from headwater.config import ConfigError, HeadwaterConfig, load_config
from headwater.notify.outbox import OutboxSender, Router
from headwater.store import SqlStore

NOW = T0 + timedelta(seconds=10)
PUBLIC = "https://headwater.example.com/hw"


def deliver(store: SqlStore, config: dict[str, Any]) -> None:
    parsed = HeadwaterConfig.model_validate(config)
    OutboxSender(store, Router(parsed, {}), FakeClock(NOW), parsed.delivery.policy()
                 ).deliver_due()


def destinations(port: int, http_sink: HttpSink) -> dict[str, Any]:
    return {"smtp": {"host": "127.0.0.1", "port": port},
            "destinations": {"ops": {"type": "webhook", "url": http_sink.url},
                             "team": {"type": "slack", "url": http_sink.url}}}


def look_lines(text: str) -> list[str]:
    """The lines of a message's "Where to look:", without their indent."""
    after = text.split("Where to look: ", 1)[1]
    return [line.strip() for line in after.splitlines()]


def test_alerts_link_to_the_run_s_page_and_a_task_s_alert_to_the_task_run_s(
        store: SqlStore, smtp: tuple[int, SmtpSink], http_sink: HttpSink) -> None:
    # Given a public URL for the web UI, and a failed run alerting by e-mail, webhook and Slack
    # for the job, and by e-mail for its task
    port, mails = smtp
    run_id = failed_run(store, ["ops@example.com"], ["ops", "team"],
                        task_emails=["owner@example.com"])
    task_run_id = store.load_run(run_id).task_run_ids[1]
    assert task_run_id != run_id

    # When the alerts are delivered
    deliver(store, {**destinations(port, http_sink), "server": {"public_url": PUBLIC + "/"}})

    # Then each names the page first and the CLI command after it
    by_address = {mail["To"]: mail.get_payload() for mail in mails.messages}
    assert look_lines(by_address["ops@example.com"]) == [
        f"{PUBLIC}/runs/{run_id}", f"headwater runs get {run_id}"]
    assert look_lines(by_address["owner@example.com"]) == [  # the task run's page
        f"{PUBLIC}/runs/{task_run_id}", f"headwater runs get {run_id}",
        f"headwater runs logs {run_id} load --attempt 0"]
    [webhook] = [body for body in http_sink.delivered() if "event" in body]
    assert webhook["link"] == f"{PUBLIC}/runs/{run_id}"
    [slack] = [body["text"] for body in http_sink.delivered() if "text" in body]
    assert look_lines(slack) == [f"{PUBLIC}/runs/{run_id}", f"headwater runs get {run_id}"]


def test_without_a_public_url_alerts_name_the_cli_command_as_before(
        store: SqlStore, smtp: tuple[int, SmtpSink], http_sink: HttpSink) -> None:
    port, mails = smtp
    run_id = failed_run(store, ["ops@example.com"], ["ops"])

    deliver(store, destinations(port, http_sink))

    [mail] = mails.messages
    assert look_lines(mail.get_payload()) == [f"headwater runs get {run_id}"]
    [webhook] = http_sink.delivered()
    assert webhook["link"] == f"headwater runs get {run_id}"


@pytest.mark.parametrize("url", ["headwater.example.com", "ftp://headwater.example.com",
                                 "https://", "https://hw.example.com/?next=1"])
def test_a_public_url_that_is_no_web_address_is_refused_at_its_line(
        tmp_path: Path, url: str) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text(f"server:\n  public_url: '{url}'\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    assert f"{path}:2:15: server.public_url: Value error, {url!r} is not the address of the " \
        "web UI: give an http:// or https:// URL such as https://headwater.example.com (a " \
        "path prefix may follow, no query)" in str(raised.value)
