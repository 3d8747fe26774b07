"""The notification rules: which decision fires which alert, to whom, with which key.

Runs are driven through the real reducer (`decide`) so the rules see the states it produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.core.events import (
    CancelRequested,
    Event,
    RunStarted,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.machine import decide, initial_state
from headwater.core.notifications import (
    RUN_LIMIT,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationEvent,
    RetryPolicy,
    RunContext,
    UsualDurations,
    after_failure,
    duration_watches,
    notification_from_dict,
    notification_to_dict,
    side_effects,
)
from headwater.core.plan import build_plan
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONTEXT = RunContext(run_id=7, job_id=3, job_name="etl", actor="ann")
EMAILS = {"on_start": ["start@x"], "on_success": ["ok@x"], "on_failure": ["bad@x"],
          "on_duration_warning_threshold_exceeded": ["slow@x"]}
HOOKS = {"on_failure": [{"id": "ops"}], "on_success": [{"id": "ops"}]}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def shell(key: str, *deps: str, **fields: Any) -> dict[str, Any]:
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "shell_command_task": {"command": "true"}, **fields}


@dataclass
class Driver:
    """Feeds events to `decide` and collects the notifications of every decision."""

    settings: JobSettings
    state: RunState
    sent: list[Notification] = field(default_factory=list)
    context: RunContext = CONTEXT

    @classmethod
    def of(cls, *tasks: dict[str, Any], context: RunContext = CONTEXT, **job: Any) -> Driver:
        settings = JobSettings.model_validate({"name": "etl", "tasks": list(tasks), **job})
        return cls(settings, initial_state(build_plan(settings)), context=context)

    def apply(self, event: Event) -> Driver:
        decision = decide(self.state, event)
        effects = side_effects(self.settings, self.context, self.state, decision.state,
                               decision.changed, event)
        self.sent.extend(item.notification for item in effects.outbox)
        self.state = decision.state
        return self

    def seq(self, key: str) -> int:
        return self.state.latest[key]

    def events(self) -> list[tuple[str | None, str, tuple[str, ...], tuple[str, ...]]]:
        unique = {n.key: n for n in self.sent}
        return [(n.task_key, str(n.event), n.emails, n.destinations) for n in unique.values()]


def run_one_task(result: str, **task_fields: Any) -> Driver:
    """A one-task job with job-level e-mails: start it and end its only attempt."""
    d = Driver.of(shell("a", **task_fields), email_notifications=EMAILS,
                  webhook_notifications=HOOKS)
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(1), d.seq("a"), "pid:1"))
    if result == "SUCCESS":
        d.apply(TaskSucceeded(at(2), d.seq("a")))
    elif result == "FAILED":
        d.apply(TaskFailed(at(2), d.seq("a"), "boom", 1))
    else:
        d.apply(CancelRequested(at(2))).apply(TaskFailed(at(3), d.seq("a"), "killed", -15))
    return d


@pytest.mark.parametrize(("result", "job_settings", "expected"), [
    ("SUCCESS", {}, [("on_start", ("start@x",), ()), ("on_success", ("ok@x",), ("ops",))]),
    ("FAILED", {}, [("on_start", ("start@x",), ()), ("on_failure", ("bad@x",), ("ops",))]),
    ("CANCELED", {}, [("on_start", ("start@x",), ()), ("on_failure", ("bad@x",), ("ops",))]),
    ("CANCELED", {"no_alert_for_canceled_runs": True}, [("on_start", ("start@x",), ())]),
    ("FAILED", {"no_alert_for_canceled_runs": True},
     [("on_start", ("start@x",), ()), ("on_failure", ("bad@x",), ("ops",))]),
])
def test_job_level_events(result: str, job_settings: dict[str, Any],
                          expected: list[Any]) -> None:
    d = Driver.of(shell("a"), email_notifications=EMAILS, webhook_notifications=HOOKS,
                  notification_settings=job_settings)
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(1), d.seq("a"), "pid:1"))
    if result == "SUCCESS":
        d.apply(TaskSucceeded(at(2), d.seq("a")))
    elif result == "FAILED":
        d.apply(TaskFailed(at(2), d.seq("a"), "boom", 1))
    else:
        d.apply(CancelRequested(at(2))).apply(TaskFailed(at(3), d.seq("a"), "killed", -15))

    assert [(e, m, h) for _, e, m, h in d.events()] == expected


def test_success_with_failures_is_a_success_for_job_alerts() -> None:
    d = Driver.of(shell("a"), shell("cleanup", "a", run_if="ALL_DONE"),
                  email_notifications=EMAILS)
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(1), d.seq("a"), "pid:1"))
    d.apply(TaskFailed(at(2), d.seq("a"), "boom", 1))
    d.apply(TaskStarted(at(3), d.seq("cleanup"), "pid:2"))
    d.apply(TaskSucceeded(at(4), d.seq("cleanup")))

    assert str(d.state.result) == "SUCCESS_WITH_FAILURES"
    assert [e for _, e, _, _ in d.events()] == ["on_start", "on_success"]


def test_job_alerts_ignore_retried_attempts_and_task_alerts_fire_per_attempt() -> None:
    # Given a task retried once, with task-level alerts, and job-level alerts
    d = Driver.of(shell("a", max_retries=1, email_notifications=EMAILS),
                  email_notifications={"on_failure": ["job@x"]})
    # When its first attempt fails and the second succeeds
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(1), d.seq("a"), "pid:1"))
    first = d.seq("a")
    d.apply(TaskFailed(at(2), first, "boom", 1))
    d.apply(TaskStarted(at(3), d.seq("a"), "pid:2")).apply(TaskSucceeded(at(4), d.seq("a")))

    # Then the task alerts fire per attempt and the job sends no failure
    assert [(k, e) for k, e, _, _ in d.events()] == [
        ("a", "on_start"), ("a", "on_failure"), ("a", "on_start"), ("a", "on_success")]
    assert [n.attempt for n in d.sent] == [0, 0, 1, 1]


def test_alert_on_last_attempt_mutes_retries_and_failures_that_are_retried() -> None:
    d = Driver.of(shell("a", max_retries=2, email_notifications=EMAILS,
                        notification_settings={"alert_on_last_attempt": True}))
    d.apply(RunStarted(at(0)))
    for attempt in range(3):
        d.apply(TaskStarted(at(10 * attempt + 1), d.seq("a"), f"pid:{attempt}"))
        d.apply(TaskFailed(at(10 * attempt + 2), d.seq("a"), f"boom {attempt}", 1))

    assert [(e, n.attempt, n.reason) for n in d.sent for e in [str(n.event)]] == [
        ("on_start", 0, ""), ("on_failure", 2, "boom 2")]
    assert d.sent[-1].max_retries == 2


@pytest.mark.parametrize(("mute", "expected"), [
    ({}, ["on_failure"]),
    ({"no_alert_for_skipped_runs": True}, []),
])
def test_a_task_skipped_by_an_upstream_failure_alerts_unless_muted(
        mute: dict[str, Any], expected: list[str]) -> None:
    d = Driver.of(shell("a"), shell("b", "a", email_notifications={"on_failure": ["b@x"]},
                                    notification_settings=mute))
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(1), d.seq("a"), "pid:1"))
    d.apply(TaskFailed(at(2), d.seq("a"), "boom", 1))

    assert str(d.state.task_runs[d.seq("b")].result) == "UPSTREAM_FAILED"
    assert [e for _, e, _, _ in d.events()] == expected


def test_condition_tasks_send_nothing_and_excluded_tasks_alert_nobody() -> None:
    d = Driver.of(
        {"task_key": "c", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "2"},
         "email_notifications": EMAILS},
        shell("yes", "c", email_notifications=EMAILS),
    )
    d.settings.tasks[1].depends_on[0].outcome = "true"
    d.state = initial_state(build_plan(d.settings))
    d.apply(RunStarted(at(0))).apply(TaskSucceeded(at(1), d.seq("c"), outcome="false"))

    assert d.events() == []


def test_dedupe_keys_are_stable_and_one_row_per_destination() -> None:
    d = run_one_task("FAILED", email_notifications=EMAILS)
    decision = decide(d.state, CancelRequested(at(9)))  # nothing changes: nothing fires

    effects = side_effects(d.settings, CONTEXT, d.state, decision.state, decision.changed,
                           CancelRequested(at(9)))
    keys = {n.key for n in d.sent}

    assert effects.outbox == ()
    assert "run:7:on_failure" in keys and "run:7:seq:1:on_failure" in keys
    assert "run:7:seq:1:on_start" in keys and "run:7:on_start" in keys


def test_duration_watches_and_warning_fire_once_while_running() -> None:
    rule = {"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 30}]}
    d = Driver.of(shell("a", health=rule, email_notifications=EMAILS), health=rule,
                  email_notifications=EMAILS)
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(5), d.seq("a"), "pid:1"))

    watches = {w.key: w.at for w in duration_watches(d.settings, d.state)}
    assert watches == {"duration:run:0": at(30), f"duration:{d.seq('a')}": at(35)}

    d.sent.clear()
    d.apply(TimerFired(at(30), "duration:run:0"))
    d.apply(TimerFired(at(35), f"duration:{d.seq('a')}"))
    d.apply(TaskSucceeded(at(40), d.seq("a")))
    d.apply(TimerFired(at(41), f"duration:{d.seq('a')}"))  # too late: it ended

    warnings = [n for n in d.sent if n.event is NotificationEvent.ON_DURATION_WARNING]
    assert [(n.task_key, n.threshold_seconds, n.emails) for n in warnings] == [
        (None, 30, ("slow@x",)), ("a", 30, ("slow@x",))]
    assert duration_watches(d.settings, d.state) == []


def test_the_usual_duration_gives_a_limit_once_enough_ran_never_under_its_floor() -> None:
    usual = UsualDurations(times_usual=2, of_last_runs=20, at_least_runs=5,
                           at_least_seconds=60)

    assert usual.limit(100.0, 5) == 200
    assert usual.limit(100.2, 5) == 201  # whole seconds, rounded up
    assert usual.limit(10.0, 20) == 60  # never under the floor
    assert usual.limit(100.0, 4) is None  # too few durations known
    assert usual.limit(None, 20) is None


def test_a_limit_from_history_warns_as_a_health_rule_would_the_smaller_counting() -> None:
    rule = {"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 30}]}
    limits = {RUN_LIMIT: 50, "a": 12, "b": 90}
    d = Driver.of(shell("a", email_notifications=EMAILS), shell("b", health=rule),
                  context=RunContext(7, 3, "etl", "ann", usual_limits=limits),
                  health=rule, email_notifications=EMAILS)
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(5), d.seq("a"), "pid:1"))
    d.apply(TaskStarted(at(6), d.seq("b"), "pid:2"))

    watches = {w.key: w.at for w in duration_watches(d.settings, d.state,
                                                     usual=d.context.usual_limits)}
    assert watches == {"duration:run:0": at(30),  # its rule's 30 s, under history's 50
                       f"duration:{d.seq('a')}": at(17),  # no rule: history's 12 s
                       f"duration:{d.seq('b')}": at(36)}  # its rule's 30 s, under 90
    # without history, only the rules count: `a` is not watched
    assert {w.key for w in duration_watches(d.settings, d.state)} == {
        "duration:run:0", f"duration:{d.seq('b')}"}
    d.sent.clear()
    d.apply(TimerFired(at(17), f"duration:{d.seq('a')}"))
    [warning] = d.sent
    assert (warning.task_key, warning.threshold_seconds) == ("a", 12)


def test_no_recipients_means_no_rows() -> None:
    d = Driver.of(shell("a"))
    d.apply(RunStarted(at(0))).apply(TaskStarted(at(1), d.seq("a"), "pid:1"))
    d.apply(TaskSucceeded(at(2), d.seq("a")))

    assert d.sent == []


def test_a_notification_round_trips_through_its_payload() -> None:
    note = run_one_task("FAILED", email_notifications=EMAILS).sent[-1]

    assert notification_from_dict(notification_to_dict(note)) == note


@pytest.mark.parametrize(("tries_before", "retryable", "status", "delay"), [
    (0, True, DeliveryStatus.PENDING, 2),
    (1, True, DeliveryStatus.PENDING, 4),
    (3, True, DeliveryStatus.PENDING, 16),
    (4, True, DeliveryStatus.DEAD, None),
    (0, False, DeliveryStatus.FAILED, None),
])
def test_backoff_doubles_then_gives_up(tries_before: int, retryable: bool,
                                       status: DeliveryStatus, delay: int | None) -> None:
    note = run_one_task("FAILED", email_notifications=EMAILS).sent[-1]
    delivery = Delivery(1, "k", "email:bad@x", tries_before, T0, note)

    outcome = after_failure(RetryPolicy(), delivery, at(100), "refused", retryable)

    assert outcome.status is status
    expected = None if delay is None else at(100 + delay)
    assert outcome.next_attempt_time == expected


def test_the_horizon_ends_retries_and_retry_after_is_honoured() -> None:
    note = run_one_task("FAILED", email_notifications=EMAILS).sent[-1]
    delivery = Delivery(1, "k", "ops", 0, T0, note)
    policy = RetryPolicy(horizon=timedelta(seconds=60))

    assert after_failure(policy, delivery, at(59), "x", True).status is DeliveryStatus.DEAD
    later = after_failure(RetryPolicy(), delivery, at(0), "x", True, timedelta(seconds=30))
    assert later.next_attempt_time == at(30)
