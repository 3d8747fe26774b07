"""PagerDuty: one Events API v2 `trigger` per notification, to the service of a routing key.

The event's `dedup_key` is the delivery's dedupe key, so a repeated delivery (the process died
between the send and the write) lands on the incident it opened instead of opening another.
Each alert is its own incident: a run's `on_success` is not sent as a `resolve` of its earlier
`on_failure`, since their keys differ (`run:7:on_failure|pager`, `run:7:repair:1:on_success|pager`,
a task's retry has a task run of its own) and the alerts say nothing of one another; the
incident is resolved in PagerDuty, or by its service's auto-resolve.

The routing key travels in the body only: errors name the URL and the HTTP status (`post_json`),
never the body, and the sender redacts the key's value from whatever it writes all the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from headwater.core.notifications import FAILED, NotificationEvent
from headwater.notify.messages import PAGE_TITLE, Message
from headwater.notify.webhook import post_json

SOURCE = "headwater"
MAX_SUMMARY = 1024  # PagerDuty refuses a longer summary
MAX_DEDUP_KEY = 255  # and a longer dedup_key


def severity(document: Mapping[str, Any]) -> str:
    """`error` for a failure or a timeout, `warning` for a duration warning and for a run or
    task cancelled or skipped (someone stopped it, or what it needed failed, which alerts on
    its own), `info` for a start or a success."""
    event = document.get("event")
    if event == NotificationEvent.ON_DURATION_WARNING:
        return "warning"
    if event != NotificationEvent.ON_FAILURE:
        return "info"
    failed = document.get("result") in FAILED or document.get("state") == "INTERNAL_ERROR"
    return "error" if failed else "warning"


def pagerduty_event(message: Message, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body of a notification: its subject as the summary, its JSON document
    as the custom details, and a link to the run's page when there is one."""
    document = message.document
    payload: dict[str, Any] = {
        "summary": _capped(message.subject, MAX_SUMMARY), "source": SOURCE,
        "severity": severity(document), "timestamp": document.get("at"),
        "group": document.get("job_name"), "class": document.get("event"),
        "custom_details": document,
    }
    if document.get("task_key"):
        payload["component"] = document["task_key"]
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger",
                             "dedup_key": dedup_key(str(document["dedupe_key"])),
                             "payload": payload}
    if message.page:
        event["links"] = [{"href": message.page, "text": PAGE_TITLE}]
    return event


def dedup_key(key: str) -> str:
    """The dedupe key, or (past PagerDuty's 255 characters, a long destination id) its start
    and its SHA-256, still one per delivery."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[:MAX_DEDUP_KEY - len(digest) - 1]}#{digest}"


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class PagerDutyTransport:
    """A PagerDuty service, reached through the Events API v2."""

    def __init__(self, url: str, routing_key: str, timeout: float) -> None:
        self.url, self.routing_key, self.timeout = url, routing_key, timeout

    def send(self, message: Message) -> None:
        post_json(self.url, pagerduty_event(message, self.routing_key), {}, self.timeout)
