"""Slack incoming webhooks: one readable `{"text": ...}` message per notification.

Slack's message format is not a stable schema (nor is it in Lakeflow); use a generic webhook
when a program reads the alerts.
"""

from __future__ import annotations

from headwater.notify.messages import Message
from headwater.notify.webhook import post_json


def slack_text(message: Message) -> str:
    """The subject in bold, then the text."""
    return f"*{message.subject}*\n{message.text}"


class SlackTransport:
    """A Slack incoming-webhook destination."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout

    def send(self, message: Message) -> None:
        post_json(self.url, {"text": slack_text(message)}, {}, self.timeout)
