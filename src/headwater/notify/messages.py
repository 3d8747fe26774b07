"""What a notification says: a subject, a readable text and a JSON document.

Every message says what happened, to which job and task, on which attempt, why, and where to
look: the run's page in the web UI when headwater.yml gives `server.public_url`
(`<public_url>/runs/<run id>`, or the task run's id for a task's alert, as Lakeflow links a
task's alert to the task run), then `headwater runs get <run>` and `headwater runs logs <run>
<task> --attempt <n>` for those without the UI. The JSON document is the webhook body; its
`link` is the page (else the command), and its `dedupe_key` lets a receiver drop a repeated
delivery. `Message.page` is the page alone, for the destinations that show it as a button or a
link (Teams, PagerDuty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from headwater.core.notifications import Delivery, Notification, NotificationEvent
from headwater.errors import HeadwaterError

# The longest wait a destination's `Retry-After` is read as: `1e13` or `inf` would overflow a
# date. (The retry policy then waits no longer than its backoff cap.)
MAX_RETRY_AFTER_SECONDS = 86400.0
PAGE_TITLE = "Run in headwater"  # the words of a link to the run's page


class DeliveryError(HeadwaterError):
    """Raised by a transport when a try failed; says whether trying again may help."""

    def __init__(self, message: str, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        # Seconds the destination asked us to wait, within [0, MAX_RETRY_AFTER_SECONDS].
        self.retry_after = None if retry_after is None or math.isnan(retry_after) else \
            min(max(0.0, retry_after), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered notification."""

    subject: str
    text: str
    document: dict[str, Any] = field(default_factory=dict)
    page: str | None = None  # the run's page in the web UI, with `server.public_url`


def attempt_words(note: Notification) -> str:
    """`attempt 2 of 3`, `attempt 1 (retried forever)`, or `attempt 1` without retries."""
    number = (note.attempt or 0) + 1
    if note.max_retries is None:
        return f"attempt {number}"
    if note.max_retries < 0:
        return f"attempt {number} (retried forever)"
    return f"attempt {number} of {note.max_retries + 1}"


def _what(note: Notification) -> str:
    subject = f"task {note.task_key!r}" if note.task_key else f"run {note.run_id}"
    attempt = f" ({attempt_words(note)})" if note.task_key else ""
    if note.event is NotificationEvent.ON_START:
        return f"{subject} started{attempt}"
    if note.event is NotificationEvent.ON_DURATION_WARNING:
        return (f"{subject} has been running for more than {note.threshold_seconds} s"
                f"{attempt}; it goes on")
    return f"{subject} ended {note.result or note.life_cycle}{attempt}"


def run_page(delivery: Delivery, public_url: str) -> str:
    """The web UI's page of what the alert is about: the task run for a task's alert (its page
    opens the run at that task), else the run."""
    note = delivery.notification
    shown = delivery.task_run_id if note.task_key and delivery.task_run_id else note.run_id
    return f"{public_url}/runs/{shown}"


def where_to_look(delivery: Delivery, public_url: str | None = None) -> list[str]:
    """The run's page (with a public URL), then the CLI commands that show the run."""
    note = delivery.notification
    look = [run_page(delivery, public_url)] if public_url else []
    look.append(f"headwater runs get {note.run_id}")
    if note.task_key and note.attempt is not None and "[" not in note.task_key:
        look.append(f"headwater runs logs {note.run_id} {note.task_key} --attempt {note.attempt}")
    return look


def render(delivery: Delivery, public_url: str | None = None) -> Message:
    """The subject, text and JSON document of a delivery's notification; with `public_url`
    (the web UI's address, headwater.yml `server.public_url`) they link to the run's page."""
    note = delivery.notification
    what = _what(note)
    subject = f"[headwater] {note.job_name}: {what}"
    repair = f", repair {note.repair}" if note.repair else ""
    task_run = f", task run {delivery.task_run_id}" if delivery.task_run_id else ""
    look = where_to_look(delivery, public_url)
    lines = [
        f"What: {what[0].upper()}{what[1:]}.",
        f"Job: {note.job_name!r} (job {note.job_id}), run {note.run_id}{task_run}{repair}.",
        f"State: {note.life_cycle}" + (f" {note.result}" if note.result else "") + ".",
    ]
    if note.reason:
        lines.append(f"Why: {note.reason}")
    lines.append(f"When: {note.at.isoformat(timespec='seconds')}")
    lines.append("Where to look: " + "\n               ".join(look))
    page = run_page(delivery, public_url) if public_url else None
    return Message(subject, "\n".join(lines) + "\n", _document(delivery, subject, look[0]), page)


def _document(delivery: Delivery, summary: str, link: str) -> dict[str, Any]:
    note = delivery.notification
    return {
        "event": str(note.event), "dedupe_key": delivery.key, "at": note.at.isoformat(),
        "job_id": note.job_id, "job_name": note.job_name, "run_id": note.run_id,
        "repair": note.repair, "task_key": note.task_key, "task_run_id": delivery.task_run_id,
        "attempt_number": note.attempt, "state": note.life_cycle, "result": note.result,
        "message": note.reason, "summary": summary, "link": link,
        "threshold_seconds": note.threshold_seconds,
    }
