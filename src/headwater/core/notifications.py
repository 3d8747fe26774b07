"""Which alerts a decision fires, per Lakeflow's rules; pure, so the engine stays simple.

The engine calls `side_effects` after every `decide` and hands the result to
`Store.record(..., outbox=..., audit=...)`, so that an alert (and the audit trail) is written
in the same transaction as the state change that caused it, never sent from inside it.

The rules (reference 2.1/2.2, "Email notifications", "Notification muting"):

- Job level, about the run only (a retried attempt never fires them): `on_start` when the run
  goes RUNNING (again for a repair); `on_success` when it ends SUCCESS or
  SUCCESS_WITH_FAILURES; `on_failure` when it ends INTERNAL_ERROR, FAILED or TIMEDOUT, and
  also CANCELED or skipped unless `no_alert_for_canceled_runs` / `no_alert_for_skipped_runs`.
- Task level, per attempt: `on_start` when an attempt goes RUNNING; `on_success` on SUCCESS;
  `on_failure` on FAILED or TIMEDOUT, on CANCELED unless muted, and on UPSTREAM_FAILED or
  UPSTREAM_CANCELED (a skipped task run) unless muted. `alert_on_last_attempt` drops
  `on_start` of retries and `on_failure` of attempts that are retried. EXCLUDED and DISABLED
  tasks never ran and alert nobody; condition tasks send no notifications (as in Lakeflow).
- `on_duration_warning_threshold_exceeded`: from `health.rules` RUN_DURATION_SECONDS
  GREATER_THAN n, or from the job's history when headwater.yml asks (`UsualDurations`: the
  smaller of the two counts); `duration_watches` names the instants the engine must watch
  (as timers with `duration:` keys) and a `TimerFired` on such a key yields the warning, once
  per run (per repair) or per attempt, and only while it still runs.

Dedupe keys, stable across engine restarts: `run:<run_id>[:repair:<n>]:<event>` for the run,
`run:<run_id>:seq:<seq>:<event>` for a task run (its global id may not be allocated yet
when the decision is made; the store fills `task_run_id` in the same transaction).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from headwater.core.audit import AuditEntry, transition_entries
from headwater.core.events import Event, TimerFired
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import EmailNotifications, Health, HealthMetric, JobSettings, Task
from headwater.core.spec import WebhookNotifications as Webhooks
from headwater.core.states import LifeCycleState, ResultState

DURATION_PREFIX = "duration:"
EMAIL_PREFIX = "email:"  # destination of an e-mail address: `email:ann@example.com`
SUCCEEDED = frozenset({ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES})
FAILED = frozenset({ResultState.FAILED, ResultState.TIMEDOUT})
SKIPPED = frozenset({ResultState.UPSTREAM_FAILED, ResultState.UPSTREAM_CANCELED,
                     ResultState.MAXIMUM_CONCURRENT_RUNS_REACHED})


class NotificationEvent(StrEnum):
    """The notification events headwater sends (the JobSettings field names)."""

    ON_START = "on_start"  # a run or an attempt started
    ON_SUCCESS = "on_success"  # it ended well
    ON_FAILURE = "on_failure"  # it failed, timed out, was cancelled or skipped (unless muted)
    ON_DURATION_WARNING = "on_duration_warning_threshold_exceeded"  # still running past n s


@dataclass(frozen=True, slots=True)
class RunContext:
    """What the core cannot see in a `RunState`: ids, who acts, how the run was started."""

    run_id: int
    job_id: int
    job_name: str
    actor: str
    trigger: str = "ONE_TIME"
    parameters: Mapping[str, str] = field(default_factory=dict)
    # Duration warnings from the job's history (`UsualDurations`): seconds by task key, the
    # run's under "" (empty unless headwater.yml asks for them)
    usual_limits: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """One alert: what happened to which run, task and attempt, why, and to whom."""

    key: str  # the dedupe key (see the module docstring)
    event: NotificationEvent
    at: datetime
    run_id: int
    job_id: int
    job_name: str
    life_cycle: str
    result: str | None
    reason: str  # the state message: why it ended so
    emails: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()  # ids of configured destinations (headwater.yml)
    task_key: str | None = None
    seq: int | None = None
    attempt: int | None = None  # 0 for the first attempt, as in the Jobs API
    max_retries: int | None = None  # the task's retry budget (-1: forever)
    repair: int = 0
    threshold_seconds: int | None = None  # for duration warnings


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One delivery to write: a notification for one destination (`email:<address>` or an id)."""

    key: str  # `<notification key>|<destination>`: unique in the outbox
    destination: str
    notification: Notification


@dataclass(frozen=True, slots=True)
class Effects:
    """What a decision adds besides the state: outbox rows and audit entries."""

    outbox: tuple[OutboxItem, ...] = ()
    audit: tuple[AuditEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class DurationWatch:
    """Fire `TimerFired(key)` at `at`: the run or an attempt may then exceed its threshold."""

    key: str
    at: datetime


def side_effects(settings: JobSettings, context: RunContext, old: RunState, new: RunState,
                 changed: Sequence[int], event: Event) -> Effects:
    """Outbox rows and audit entries of one decision (`old` + `event` -> `new`)."""
    found = notifications(settings, context, old, new, changed, event)
    return Effects(outbox=outbox_items(found),
                   audit=tuple(transition_entries(context.actor, context.run_id, context.job_id,
                                                  context.trigger, context.parameters,
                                                  old, new, changed, event)))


def notifications(settings: JobSettings, context: RunContext, old: RunState, new: RunState,
                  changed: Sequence[int], event: Event) -> list[Notification]:
    """Every notification the move from `old` to `new` fires, job level first."""
    if isinstance(event, TimerFired) and event.key.startswith(DURATION_PREFIX):
        return duration_warning(settings, context, new, event.key, event.at)
    found = _job_notifications(settings, context, old, new, event.at)
    for seq in dict.fromkeys(changed):
        task_run = new.task_runs.get(seq)
        if task_run is not None:
            found.extend(_task_notifications(context, old, new, task_run, event.at))
    return found


def outbox_items(found: Sequence[Notification]) -> tuple[OutboxItem, ...]:
    """One outbox row per (notification, destination), e-mail addresses first."""
    items: dict[str, OutboxItem] = {}
    for note in found:
        targets = [EMAIL_PREFIX + email for email in note.emails] + list(note.destinations)
        for target in targets:
            key = f"{note.key}|{target}"
            items.setdefault(key, OutboxItem(key, target, note))
    return tuple(items.values())


def skipped_run_alerts(settings: JobSettings, context: RunContext, state: RunState,
                       at: datetime) -> tuple[OutboxItem, ...]:
    """The alerts of a run that ended at `at` without an engine ever driving it: skipped at
    the job's limit, or after waiting its turn too long. It is `on_failure` for the job's
    recipients unless `no_alert_for_skipped_runs`, as for a run that ends any other way."""
    kind = run_end_event(settings, state)
    note = None if kind is None else _job_note(settings, context, state, kind, at)
    return outbox_items([note] if note is not None else [])


# -- job level ------------------------------------------------------------------------------


def _job_notifications(settings: JobSettings, context: RunContext, old: RunState,
                       new: RunState, at: datetime) -> list[Notification]:
    if new.life_cycle is LifeCycleState.RUNNING and old.life_cycle is not LifeCycleState.RUNNING:
        kind: NotificationEvent | None = NotificationEvent.ON_START
    elif new.is_terminal and not old.is_terminal:
        kind = run_end_event(settings, new)
    else:
        kind = None
    if kind is None:
        return []
    note = _job_note(settings, context, new, kind, at)
    return [] if note is None else [note]


def run_end_event(settings: JobSettings, state: RunState) -> NotificationEvent | None:
    """The job-level event of a run that ended, or None when muted or not alerting."""
    mute = settings.notification_settings
    emails = settings.email_notifications
    if state.result in SUCCEEDED and state.life_cycle is LifeCycleState.TERMINATED:
        return NotificationEvent.ON_SUCCESS
    if state.result is ResultState.CANCELED:
        muted = bool(mute and mute.no_alert_for_canceled_runs)
        return None if muted else NotificationEvent.ON_FAILURE
    if state.life_cycle is LifeCycleState.SKIPPED or state.result in SKIPPED:
        muted = bool(mute and mute.no_alert_for_skipped_runs) or bool(
            emails and emails.no_alert_for_skipped_runs)
        return None if muted else NotificationEvent.ON_FAILURE
    if state.life_cycle is LifeCycleState.INTERNAL_ERROR or state.result in FAILED:
        return NotificationEvent.ON_FAILURE
    return None


def _job_note(settings: JobSettings, context: RunContext, state: RunState,
              kind: NotificationEvent, at: datetime, threshold: int | None = None
              ) -> Notification | None:
    emails, destinations = recipients(settings.email_notifications,
                                      settings.webhook_notifications, kind)
    if not emails and not destinations:
        return None
    repair = len(state.repairs)
    scope = f"run:{context.run_id}" + (f":repair:{repair}" if repair else "")
    return Notification(
        key=f"{scope}:{kind}", event=kind, at=at, run_id=context.run_id,
        job_id=context.job_id, job_name=context.job_name, life_cycle=str(state.life_cycle),
        result=None if state.result is None else str(state.result), reason=state.message,
        emails=emails, destinations=destinations, repair=repair, threshold_seconds=threshold,
    )


# -- task level -----------------------------------------------------------------------------


def task_spec(state: RunState, run: TaskRun) -> Task:
    """The spec a task run runs: an iteration runs its for-each's nested task."""
    if run.parent_seq is None:
        return state.plan.tasks[run.task_key].spec
    nested = state.plan.tasks[state.task_runs[run.parent_seq].task_key].nested
    assert nested is not None
    return nested.spec


def _task_notifications(context: RunContext, old: RunState, new: RunState, run: TaskRun,
                        at: datetime) -> list[Notification]:
    before = old.task_runs.get(run.seq)
    if run.task_key not in new.plan.tasks and run.parent_seq is None:
        return []  # a task removed from the job since (a repair on newer settings)
    spec = task_spec(new, run)
    if spec.condition_task is not None or not (
            spec.email_notifications or spec.webhook_notifications):
        return []  # (nothing to send: spare the look at the other attempts)
    if run.life_cycle is LifeCycleState.RUNNING and (
            before is None or before.life_cycle is not LifeCycleState.RUNNING):
        kind: NotificationEvent | None = _task_start_event(spec, run)
    elif run.is_terminal and (before is None or not before.is_terminal):
        kind = task_end_event(spec, run, retried=is_retried(new, run))
    else:
        kind = None
    if kind is None:
        return []
    note = _task_note(context, new, spec, run, kind, at)
    return [] if note is None else [note]


def _task_start_event(spec: Task, run: TaskRun) -> NotificationEvent | None:
    mute = spec.notification_settings
    last_only = bool(mute and mute.alert_on_last_attempt)
    return None if last_only and run.attempt_number > 0 else NotificationEvent.ON_START


def task_end_event(spec: Task, run: TaskRun, retried: bool) -> NotificationEvent | None:
    """The task-level event of an attempt that ended, or None when muted or not alerting."""
    mute = spec.notification_settings
    if run.result is ResultState.SUCCESS:
        return NotificationEvent.ON_SUCCESS
    if run.result in FAILED:
        last_only = bool(mute and mute.alert_on_last_attempt)
        return None if last_only and retried else NotificationEvent.ON_FAILURE
    if run.result is ResultState.CANCELED:
        muted = bool(mute and mute.no_alert_for_canceled_runs)
        return None if muted else NotificationEvent.ON_FAILURE
    if run.result in SKIPPED:
        emails = spec.email_notifications
        muted = bool(mute and mute.no_alert_for_skipped_runs) or bool(
            emails and emails.no_alert_for_skipped_runs)
        return None if muted else NotificationEvent.ON_FAILURE
    return None  # EXCLUDED, DISABLED: it never ran and nothing went wrong


def is_retried(state: RunState, run: TaskRun) -> bool:
    """True when a later attempt of the same task (or iteration) follows `run`."""
    return any(
        other.original_attempt_seq == run.original_attempt_seq
        and other.attempt_number > run.attempt_number
        for other in state.task_runs.values()
    )


def _task_note(context: RunContext, state: RunState, spec: Task, run: TaskRun,
               kind: NotificationEvent, at: datetime, threshold: int | None = None
               ) -> Notification | None:
    emails, destinations = recipients(spec.email_notifications, spec.webhook_notifications, kind)
    if not emails and not destinations:
        return None
    key = run.task_key if run.iteration is None else f"{run.task_key}[{run.iteration}]"
    return Notification(
        key=f"run:{context.run_id}:seq:{run.seq}:{kind}", event=kind, at=at,
        run_id=context.run_id, job_id=context.job_id, job_name=context.job_name,
        life_cycle=str(run.life_cycle), result=None if run.result is None else str(run.result),
        reason=run.message, emails=emails, destinations=destinations, task_key=key,
        seq=run.seq, attempt=run.attempt_number, max_retries=spec.max_retries or 0,
        repair=run.repair, threshold_seconds=threshold,
    )


def recipients(emails: EmailNotifications | None, webhooks: Webhooks | None,
               kind: NotificationEvent) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The e-mail addresses and destination ids listed for `kind` (each once, in order)."""
    addresses: list[str] = list(getattr(emails, kind.value, None) or [])
    hooks = [hook.id for hook in getattr(webhooks, kind.value, None) or []]
    return tuple(dict.fromkeys(addresses)), tuple(dict.fromkeys(hooks))


# -- duration warnings ----------------------------------------------------------------------


RUN_LIMIT = ""  # the key of the run's own limit in `RunContext.usual_limits`


def duration_threshold(health: Health | None, usual: int | None = None) -> int | None:
    """The smallest RUN_DURATION_SECONDS GREATER_THAN value of a `health`, and the limit its
    history gives (`usual`), or None."""
    rules = health.rules if health is not None else []
    values = [r.value for r in rules if r.metric is HealthMetric.RUN_DURATION_SECONDS]
    values += [] if usual is None else [usual]
    return min(values) if values else None


@dataclass(frozen=True, slots=True)
class UsualDurations:
    """Duration warnings without a threshold to set (headwater.yml `duration_warnings`, off
    by default): a run or an attempt that runs `times_usual` times longer than the 95th
    percentile of the job's last `of_last_runs` ended runs (of the task's attempts in them)
    is warned about, as by a RUN_DURATION_SECONDS rule. Not before `at_least_runs` such
    durations are known, and never under `at_least_seconds` (short tasks vary a lot)."""

    times_usual: float
    of_last_runs: int = 20
    at_least_runs: int = 5
    at_least_seconds: int = 60

    def limit(self, p95_seconds: float | None, samples: int) -> int | None:
        """The limit, in seconds, of a run or task whose last `samples` durations have this
        95th percentile; None while too few are known."""
        if p95_seconds is None or samples < self.at_least_runs:
            return None
        return max(self.at_least_seconds, math.ceil(self.times_usual * p95_seconds))


def duration_watches(settings: JobSettings, state: RunState,
                     seqs: Iterable[int] | None = None,
                     usual: Mapping[str, int] | None = None) -> list[DurationWatch]:
    """The instants at which the run or a running attempt crosses its duration threshold
    (of the attempts `seqs`, or of all), `usual` holding the limits of `UsualDurations`.

    The engine sets a timer for each key it has not armed yet in this loop; on the timer it
    applies `TimerFired(at, key)` like any other, which `decide` ignores and `side_effects`
    turns into the warning. A key arrives again while its subject runs: arm each once.
    """
    watches: list[DurationWatch] = []
    usual = usual or {}
    job_threshold = duration_threshold(settings.health, usual.get(RUN_LIMIT))
    started = state.repairs[-1].start_time if state.repairs else state.start_time
    if job_threshold is not None and state.life_cycle is LifeCycleState.RUNNING and started:
        watches.append(DurationWatch(f"{DURATION_PREFIX}run:{len(state.repairs)}",
                                     started + timedelta(seconds=job_threshold)))
    runs = state.task_runs.values() if seqs is None else \
        [state.task_runs[seq] for seq in seqs if seq in state.task_runs]
    for run in runs:
        if run.life_cycle is not LifeCycleState.RUNNING or run.start_time is None:
            continue
        spec = task_spec(state, run)
        threshold = duration_threshold(spec.health, usual.get(spec.task_key))
        if threshold is not None:
            watches.append(DurationWatch(f"{DURATION_PREFIX}{run.seq}",
                                         run.start_time + timedelta(seconds=threshold)))
    return watches


def duration_warning(settings: JobSettings, context: RunContext, state: RunState, key: str,
                     at: datetime) -> list[Notification]:
    """The warning of a fired `duration:` timer, if its run or attempt still runs."""
    subject = key.removeprefix(DURATION_PREFIX)
    kind = NotificationEvent.ON_DURATION_WARNING
    if subject.startswith("run:"):
        threshold = duration_threshold(settings.health, context.usual_limits.get(RUN_LIMIT))
        current = subject == f"run:{len(state.repairs)}"
        if threshold is None or not current or state.life_cycle is not LifeCycleState.RUNNING:
            return []
        note = _job_note(settings, context, state, kind, at, threshold)
        return [] if note is None else [note]
    run = state.task_runs.get(int(subject)) if subject.isdigit() else None
    if run is None or run.life_cycle is not LifeCycleState.RUNNING:
        return []
    spec = task_spec(state, run)
    threshold = duration_threshold(spec.health, context.usual_limits.get(spec.task_key))
    if threshold is None or spec.condition_task is not None:
        return []
    note = _task_note(context, state, spec, run, kind, at, threshold)
    return [] if note is None else [note]


# -- delivery -------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    """Where an outbox row is in its life."""

    PENDING = "PENDING"  # waiting for its next try (`next_attempt_time`)
    DELIVERED = "DELIVERED"  # accepted by its destination
    FAILED = "FAILED"  # rejected for good (SMTP 5xx, HTTP 4xx): not retried
    DEAD = "DEAD"  # given up: the most tries made or the horizon passed


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row: one notification for one destination, and its tries so far."""

    outbox_id: int
    key: str  # the row's dedupe key
    destination: str
    attempts: int
    created_time: datetime
    notification: Notification
    task_run_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one try of a delivery came to, for the store to record."""

    status: DeliveryStatus
    error: str | None = None
    next_attempt_time: datetime | None = None  # for PENDING: when to try again


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: `base` doubling up to `cap`, at most `max_attempts` tries,
    none after `horizon` from the row's creation."""

    max_attempts: int = 5
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    horizon: timedelta = timedelta(hours=1)


def after_failure(policy: RetryPolicy, delivery: Delivery, now: datetime, error: str,
                  retryable: bool, retry_after: timedelta | None = None) -> DeliveryOutcome:
    """The outcome of a failed try: PENDING with the next instant, FAILED or DEAD."""
    if not retryable:
        return DeliveryOutcome(DeliveryStatus.FAILED, error)
    tries = delivery.attempts + 1
    delay = min(policy.cap, policy.base * (2 ** (tries - 1)))
    if retry_after is not None:  # honoured up to the cap: an answer cannot park the alert
        delay = max(delay, min(retry_after, policy.cap))
    nxt = now + delay
    if tries >= policy.max_attempts or nxt > delivery.created_time + policy.horizon:
        return DeliveryOutcome(DeliveryStatus.DEAD, error)
    return DeliveryOutcome(DeliveryStatus.PENDING, error, nxt)


def notification_to_dict(note: Notification) -> dict[str, object]:
    """A JSON-ready dict of a notification (the outbox row's payload)."""
    body: dict[str, object] = {f: getattr(note, f) for f in Notification.__dataclass_fields__}
    body["event"] = str(note.event)
    body["at"] = note.at.isoformat()
    body["emails"], body["destinations"] = list(note.emails), list(note.destinations)
    return body


def notification_from_dict(body: Mapping[str, Any]) -> Notification:
    """The inverse of `notification_to_dict`."""
    values = {k: v for k, v in body.items() if k in Notification.__dataclass_fields__}
    values["event"] = NotificationEvent(str(values["event"]))
    values["at"] = datetime.fromisoformat(str(values["at"]))
    values["emails"] = tuple(values.get("emails") or ())
    values["destinations"] = tuple(values.get("destinations") or ())
    return Notification(**values)


__all__ = [
    "DURATION_PREFIX",
    "EMAIL_PREFIX",
    "RUN_LIMIT",
    "Delivery",
    "DeliveryOutcome",
    "DeliveryStatus",
    "DurationWatch",
    "Effects",
    "Notification",
    "NotificationEvent",
    "OutboxItem",
    "RetryPolicy",
    "RunContext",
    "UsualDurations",
    "after_failure",
    "duration_threshold",
    "duration_warning",
    "duration_watches",
    "notification_from_dict",
    "notification_to_dict",
    "notifications",
    "outbox_items",
    "run_end_event",
    "side_effects",
    "skipped_run_alerts",
    "task_end_event",
]
