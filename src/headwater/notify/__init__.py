"""The notification adapter: deliver outbox rows by e-mail, webhook, Slack, Teams and
PagerDuty.

    handle = start_sender(store, config, clock, os.environ)   # a background thread
    ...
    handle.stop(drain_seconds=5)

Modules: `messages` (what a notification says; `DeliveryError`), `email` (smtplib),
`webhook`, `slack`, `teams` and `pagerduty` (urllib), `outbox` (the sender loop and the
routing of a destination to its transport). It never imports the store, executors or runners:
the store arrives as a `ports.DeliveryStore`.
"""

from headwater.notify.messages import DeliveryError, Message, render
from headwater.notify.outbox import OutboxSender, Router, SenderHandle, start_sender

__all__ = [
    "DeliveryError",
    "Message",
    "OutboxSender",
    "Router",
    "SenderHandle",
    "render",
    "start_sender",
]
