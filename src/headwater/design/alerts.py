"""The alerting rules of a job in words: which events go to which destinations, and where.

Rules come from `email_notifications` and `webhook_notifications` at job and task level, from the
health rules that feed the duration warning, and from failure-handler tasks (tasks that run only
when something upstream failed). `notification_settings` become notes. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from headwater.core.spec import (
    EmailNotifications,
    Health,
    JobNotificationSettings,
    JobSettings,
    RunIf,
    Task,
    WebhookNotifications,
)
from headwater.core.spec_common import NOTIFICATION_EVENTS
from headwater.design.schedule_words import duration_words
from headwater.design.words import code_words, duration_limit, run_if_clause

__all__ = ["EVENT_WORDS", "AlertRule", "alert_notes", "alert_rules", "failure_handlers"]

EVENT_WORDS = {
    "on_start": "starts",
    "on_success": "succeeds",
    "on_failure": "fails",
    "on_duration_warning_threshold_exceeded": "runs longer than its duration warning",
    "on_streaming_backlog_exceeded": "has a streaming backlog over its limit",
}
FAILURE_RUN_IFS = (RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """`where` (`the job`, `` task `x` ``) `event` (in words) -> `destinations` (in words)."""

    where: str
    event: str
    destinations: str


def alert_rules(settings: JobSettings) -> list[AlertRule]:
    """Every alerting rule of the job: job level first, then tasks in declaration order."""
    rules = list(_level_rules("the job", settings.email_notifications,
                              settings.webhook_notifications, settings.health))
    for task in settings.tasks:
        rules += _level_rules(f"task `{task.task_key}`", task.email_notifications,
                              task.webhook_notifications, task.health)
    for handler in failure_handlers(settings):
        upstream = [d.task_key for d in handler.depends_on]
        event = run_if_clause(handler.run_if or RunIf.ALL_SUCCESS, upstream)
        rules.append(AlertRule(f"task `{handler.task_key}`", f"when {event}",
                               f"runs {code_words(handler)}"))
    return rules


def failure_handlers(settings: JobSettings) -> list[Task]:
    """Tasks that run only when something upstream failed (`AT_LEAST_ONE_FAILED`, `ALL_FAILED`)."""
    return [task for task in settings.tasks if task.run_if in FAILURE_RUN_IFS]


def _level_rules(
    where: str,
    emails: EmailNotifications | None,
    webhooks: WebhookNotifications | None,
    health: Health | None,
) -> Iterator[AlertRule]:
    for event in NOTIFICATION_EVENTS:
        addresses: list[str] = list(getattr(emails, event)) if emails else []
        destinations = [f"email {', '.join(addresses)}"] if addresses else []
        hooks = [hook.id for hook in getattr(webhooks, event)] if webhooks else []
        if hooks:
            destinations.append(f"webhook destination {', '.join(f'`{h}`' for h in hooks)}")
        if destinations:
            words = EVENT_WORDS[event]
            limit = duration_limit(health)
            if event == "on_duration_warning_threshold_exceeded" and limit is not None:
                words = f"runs longer than {duration_words(limit)} (its health rule)"
            yield AlertRule(where, f"when it {words}", "; ".join(destinations))


def alert_notes(settings: JobSettings) -> list[str]:
    """`notification_settings` in words, e.g. `the job: no alert for skipped runs`."""
    notes = []
    job_note = _settings_words(settings.notification_settings)
    if job_note:
        notes.append(f"the job: {job_note}")
    for task in settings.tasks:
        task_note = _settings_words(task.notification_settings)
        if task_note:
            notes.append(f"task `{task.task_key}`: {task_note}")
    return notes


def _settings_words(found: JobNotificationSettings | None) -> str:
    if found is None:
        return ""
    words = []
    if found.no_alert_for_skipped_runs:
        words.append("no alert for skipped runs")
    if found.no_alert_for_canceled_runs:
        words.append("no alert for canceled runs")
    if getattr(found, "alert_on_last_attempt", None):
        words.append("alerts only on the last attempt (not on each retry)")
    return ", ".join(words)
