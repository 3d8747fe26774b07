"""Microsoft Teams: one Adaptive Card per notification, posted to a Workflows webhook URL.

Teams' Workflows webhooks (which replace the retired Office 365 connectors and their
MessageCard) take a `message` whose attachment is an Adaptive Card, and answer 202 once the
flow has it. The card is version 1.4, which Teams renders: the subject as its title, each line
of the text as a TextBlock of its own (Teams folds a single newline inside a TextBlock into a
space), and a button to the run's page when headwater.yml gives `server.public_url`.

As with Slack, the card is for people; use a generic webhook when a program reads the alerts.
"""

from __future__ import annotations

from typing import Any

from headwater.notify.messages import PAGE_TITLE, Message
from headwater.notify.webhook import post_json

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"


def teams_message(message: Message) -> dict[str, Any]:
    """The body Teams accepts: a `message` carrying the notification's Adaptive Card."""
    return {"type": "message",
            "attachments": [{"contentType": CARD_TYPE, "contentUrl": None,
                             "content": adaptive_card(message)}]}


def adaptive_card(message: Message) -> dict[str, Any]:
    """The subject in bold, the text line by line, and a button to the run's page if known."""
    title = {"type": "TextBlock", "text": message.subject, "weight": "Bolder",
             "size": "Medium", "wrap": True}
    lines = [{"type": "TextBlock", "text": line.strip(), "wrap": True, "spacing": "None"}
             for line in message.text.splitlines() if line.strip()]
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard",
                            "version": CARD_VERSION, "body": [title, *lines]}
    if message.page:
        card["actions"] = [{"type": "Action.OpenUrl", "title": PAGE_TITLE, "url": message.page}]
    return card


class TeamsTransport:
    """A Microsoft Teams Workflows (or incoming-webhook) destination."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout

    def send(self, message: Message) -> None:
        post_json(self.url, teams_message(message), {}, self.timeout)
