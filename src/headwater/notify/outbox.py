"""The sender: claims due outbox rows, delivers each through its destination, records the try.

It never blocks the engine: it runs on its own thread (`start_sender`), or once from
`headwater notifications deliver`. Each claimed row is tried on a small pool, so one stalled
destination (up to its 10 s timeout) does not hold up the others of the batch. A row is
leased before its try and its outcome is written only by the lease holder, and only while it
is PENDING, so each dedupe key is delivered once (at least once if the process dies between
the send and the write; receivers can drop repeats by the dedupe key).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.config import (
    EmailDestination,
    HeadwaterConfig,
    PagerDutyDestination,
    SlackDestination,
    SmtpSettings,
    TeamsDestination,
    WebhookDestination,
)
from headwater.core.audit import SYSTEM_ACTOR, AuditAction, AuditEntry
from headwater.core.notifications import (
    EMAIL_PREFIX,
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    RetryPolicy,
    after_failure,
)
from headwater.core.redaction import redact
from headwater.errors import StoreError
from headwater.notify.messages import DeliveryError, Message, render
from headwater.ports import Clock, DeliveryStore

if TYPE_CHECKING:
    from headwater.notify.email import SmtpTransport
    from headwater.notify.pagerduty import PagerDutyTransport
    from headwater.notify.webhook import WebhookTransport

LOGGER = logging.getLogger("headwater.notify")
LEASE = timedelta(seconds=60)  # longer than any try (10 s timeouts), so a lease never lapses
POLL_SECONDS = 0.5
BATCH = 16


class Router:
    """Turns a destination (`email:<address>` or a configured id) into a send.

    Each transport is imported when it first sends (smtplib, ssl and urllib.request cost a
    command that sends nothing ~10 ms of its start).
    """

    def __init__(self, config: HeadwaterConfig, env: Mapping[str, str]) -> None:
        self.config, self.env = config, env

    def secret_values(self) -> list[str]:
        """The values of the variables the configuration names as secrets, and the PagerDuty
        keys written in the file itself (a URL written there loses its path when redacted)."""
        written = [d.integration_key for d in self.config.destinations.values()
                   if isinstance(d, PagerDutyDestination) and d.integration_key]
        return written + [self.env[name] for name in self.config.secret_variables()
                          if name in self.env]

    def send(self, delivery: Delivery, message: Message) -> None:
        """Deliver through the destination's transport; `DeliveryError` when it failed."""
        target = delivery.destination
        if target.startswith(EMAIL_PREFIX):
            self._smtp(None).send(delivery.key, message, [target.removeprefix(EMAIL_PREFIX)])
            return
        destination = self.config.destinations.get(target)
        if destination is None:
            known = ", ".join(sorted(self.config.destinations)) or "none"
            raise DeliveryError(f"no destination {target!r} in the configuration file "
                                f"(destinations: {known})", retryable=False)
        if isinstance(destination, EmailDestination):
            self._smtp(destination.smtp).send(delivery.key, message, destination.addresses)
        elif isinstance(destination, SlackDestination):
            from headwater.notify.slack import SlackTransport

            url = self._url(target, destination.url, destination.url_env)
            SlackTransport(url, destination.timeout_seconds).send(message)
        elif isinstance(destination, TeamsDestination):
            from headwater.notify.teams import TeamsTransport

            url = self._url(target, destination.url, destination.url_env)
            TeamsTransport(url, destination.timeout_seconds).send(message)
        elif isinstance(destination, PagerDutyDestination):
            self._pagerduty(target, destination).send(message)
        else:
            self._webhook(target, destination).send(message.document)

    def _smtp(self, own: SmtpSettings | None) -> SmtpTransport:
        settings = own or self.config.smtp
        if settings is None:
            raise DeliveryError("e-mail needs an `smtp:` section in the configuration file",
                                retryable=False)
        from headwater.notify.email import SmtpTransport

        return SmtpTransport(settings, self.env)

    def _webhook(self, target: str, destination: WebhookDestination) -> WebhookTransport:
        headers = dict(destination.headers)
        for header, variable in destination.header_env.items():
            if variable not in self.env:
                raise DeliveryError(f"destination {target!r}: the variable {variable} "
                                    f"(header {header}) is not set", retryable=False)
            headers[header] = self.env[variable]
        url = self._url(target, destination.url, destination.url_env)
        from headwater.notify.webhook import WebhookTransport

        return WebhookTransport(url, headers, destination.timeout_seconds)

    def _pagerduty(self, target: str, destination: PagerDutyDestination) -> PagerDutyTransport:
        key = destination.integration_key
        variable = destination.integration_key_env
        if not key and variable:
            key = self.env.get(variable)
            if not key:
                raise DeliveryError(f"destination {target!r}: the variable {variable} "
                                    f"(integration_key_env) is not set", retryable=False)
        if not key:
            raise DeliveryError(f"destination {target!r} has no PagerDuty routing key: give "
                                f"integration_key_env, naming the variable that holds the "
                                f"Events API v2 integration key (or integration_key)",
                                retryable=False)
        from headwater.notify.pagerduty import PagerDutyTransport

        return PagerDutyTransport(destination.url, key, destination.timeout_seconds)

    def _url(self, target: str, url: str | None, variable: str | None) -> str:
        found = url or (self.env.get(variable) if variable else None)
        if not found or not found.startswith(("http://", "https://")):
            raise DeliveryError(f"destination {target!r} has no http(s) URL "
                                f"(url, or url_env naming a set variable)", retryable=False)
        return found


class OutboxSender:
    """Delivers due outbox rows: `deliver_due` is one pass; a thread calls it in a loop."""

    def __init__(self, store: DeliveryStore, router: Router, clock: Clock,
                 policy: RetryPolicy, workers: int = 4) -> None:
        self.store, self.router, self.clock, self.policy = store, router, clock, policy
        self.secrets = router.secret_values()  # kept out of every error it writes
        self.public_url = router.config.server.public_url  # alerts link to the run's page
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hw-notify")

    def deliver_due(self) -> int:
        """Claim the rows due now and try each; the number tried."""
        now = self.clock.now()
        batch = self.store.claim_deliveries(now, self.owner, now + LEASE, BATCH)
        for future in [self.pool.submit(self.try_one, d) for d in batch]:
            future.result()
        return len(batch)

    def try_one(self, delivery: Delivery) -> DeliveryOutcome:
        """Send one row and record the outcome (never raises for a failed send)."""
        try:
            self.router.send(delivery, render(delivery, self.public_url))
            outcome = DeliveryOutcome(DeliveryStatus.DELIVERED)
        except DeliveryError as error:
            wait = None if error.retry_after is None else timedelta(seconds=error.retry_after)
            outcome = after_failure(self.policy, delivery, self.clock.now(),
                                    redact(str(error), self.secrets), error.retryable, wait)
        except Exception as error:  # a bug in a transport must not stop the sender
            text = redact(f"{type(error).__name__}: {error}", self.secrets)
            LOGGER.error("delivery %s failed unexpectedly: %s", delivery.key, text,
                         extra=_about(delivery))
            outcome = after_failure(self.policy, delivery, self.clock.now(), text, True)
        if outcome.status in (DeliveryStatus.FAILED, DeliveryStatus.DEAD):
            LOGGER.warning("notification %s to %s %s after %d tries: %s", delivery.key,
                           delivery.destination, outcome.status, delivery.attempts + 1,
                           outcome.error, extra=_about(delivery))
        self.store.finish_delivery(delivery, self.owner, outcome, self.clock.now(),
                                   _audit(delivery, outcome, self.clock.now()))
        return outcome

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _about(delivery: Delivery) -> dict[str, object]:
    """The fields of a log line about a delivery (what `--log-format json` writes out)."""
    note = delivery.notification
    return {"run_id": note.run_id, "job_id": note.job_id, "destination": delivery.destination}


def _audit(delivery: Delivery, outcome: DeliveryOutcome, now: datetime) -> AuditEntry | None:
    if outcome.status is DeliveryStatus.PENDING:
        return None
    note = delivery.notification
    action = (AuditAction.NOTIFICATION_SENT if outcome.status is DeliveryStatus.DELIVERED
              else AuditAction.NOTIFICATION_FAILED)
    return AuditEntry(
        at=now, actor=SYSTEM_ACTOR, action=action, job_id=note.job_id, run_id=note.run_id,
        task_key=note.task_key, attempt=note.attempt,
        details={"event": str(note.event), "destination": delivery.destination,
                 "dedupe_key": delivery.key, "status": str(outcome.status),
                 "tries": delivery.attempts + 1, "error": outcome.error})


@dataclass
class SenderHandle:
    """A running sender thread; `stop` drains what is due, then ends it."""

    sender: OutboxSender
    thread: threading.Thread
    stopping: threading.Event
    drain_seconds: list[float]

    def stop(self, drain_seconds: float = 5.0) -> None:
        """Deliver what is due for up to `drain_seconds` more, then stop the thread."""
        self.drain_seconds[0] = drain_seconds
        self.stopping.set()
        self.thread.join(drain_seconds + 15)
        self.sender.close()


def start_sender(store: DeliveryStore, config: HeadwaterConfig, clock: Clock,
                 env: Mapping[str, str]) -> SenderHandle:
    """Start the sender's daemon thread over `store`, as configured."""
    sender = OutboxSender(store, Router(config, env), clock, config.delivery.policy())
    stopping = threading.Event()
    drain = [0.0]

    def loop() -> None:
        while not stopping.is_set():
            if _pass(sender) == 0:
                stopping.wait(POLL_SECONDS)
        deadline = clock.now() + timedelta(seconds=drain[0])
        while clock.now() < deadline and _pass(sender) > 0:
            pass

    thread = threading.Thread(target=loop, name="headwater-notify", daemon=True)
    thread.start()
    return SenderHandle(sender, thread, stopping, drain)


def _pass(sender: OutboxSender) -> int:
    try:
        return sender.deliver_due()
    except StoreError as error:  # the store is busy or gone: try again on the next poll
        LOGGER.error("the notification sender could not read the outbox: %s", error)
        return 0
    except Exception:
        LOGGER.exception("the notification sender failed")
        return 0
