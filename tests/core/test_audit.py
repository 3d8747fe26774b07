"""The audit chain: hashing, verification naming the first bad entry, entries of a decision,
and the parsing of a task's metrics file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from headwater.core.audit import (
    GENESIS,
    Anchor,
    AuditAction,
    AuditEntry,
    TaskMetric,
    UnreadableEntry,
    chain,
    parse_metrics,
    transition_entries,
    verify_chain,
)
from headwater.core.events import CancelRequested, RunStarted, TaskFailed, TaskStarted
from headwater.core.machine import decide, initial_state
from headwater.core.plan import build_plan
from headwater.core.spec import JobSettings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entries(count: int) -> list[AuditEntry]:
    return [AuditEntry(at=T0 + timedelta(seconds=i), actor="ann", action=AuditAction.RUN_STARTED,
                       run_id=i, details={"n": i}) for i in range(count)]


def test_an_untouched_chain_verifies() -> None:
    stored = chain(entries(5), 0, GENESIS)

    report = verify_chain(stored, (5, stored[-1].hash))

    assert (report.ok, report.checked) == (True, 5)
    assert [s.entry_id for s in stored] == [1, 2, 3, 4, 5]


def test_chaining_continues_from_the_head() -> None:
    first = chain(entries(2), 0, GENESIS)
    more = chain(entries(2), 2, first[-1].hash)

    assert verify_chain([*first, *more]).ok
    assert more[0].prev_hash == first[-1].hash


@pytest.mark.parametrize(("tamper", "bad"), [
    (lambda s: [*s[:2], replace(s[2], entry=replace(s[2].entry, actor="mallory")), *s[3:]], 3),
    (lambda s: s[:1] + s[2:], 3),  # entry 2 removed
    (lambda s: [*s[:3], replace(s[3], prev_hash="f" * 64), *s[4:]], 4),
    (lambda s: [s[1], s[0], *s[2:]], 2),  # reordered
])
def test_tampering_names_the_first_bad_entry(tamper: object, bad: int) -> None:
    stored = chain(entries(5), 0, GENESIS)

    report = verify_chain(tamper(stored))  # type: ignore[operator]

    assert (report.ok, report.first_bad) == (False, bad)
    assert str(bad) in report.problem


def test_a_log_cut_at_its_end_does_not_match_the_head() -> None:
    stored = chain(entries(5), 0, GENESIS)

    report = verify_chain(stored[:4], (5, stored[-1].hash))

    assert (report.ok, report.first_bad) == (False, 5)


def test_an_anchor_catches_a_log_cut_and_re_headed() -> None:
    stored = chain(entries(5), 0, GENESIS)
    anchors = [Anchor(3, stored[2].hash, "t3"), Anchor(5, stored[4].hash, "t5")]

    cut = verify_chain(stored[:3], (3, stored[2].hash), anchors)  # head moved back too

    assert verify_chain(stored, (5, stored[-1].hash), anchors).ok
    assert (cut.ok, cut.first_bad) == (False, 4)
    assert "the anchor saw entry 5 at t5" in cut.problem


def test_an_anchor_catches_a_log_rewritten_with_every_hash_recomputed() -> None:
    stored = chain(entries(5), 0, GENESIS)
    forged = chain([*entries(2), replace(entries(5)[2], actor="mallory"), *entries(5)[3:]],
                   0, GENESIS)  # a consistent chain: only the anchor tells
    anchors = [Anchor(4, stored[3].hash, "t4")]

    report = verify_chain(forged, (5, forged[-1].hash), anchors)

    assert verify_chain(forged, (5, forged[-1].hash)).ok
    assert (report.ok, report.first_bad) == (False, 4)
    assert "rewritten" in report.problem


def test_an_unreadable_entry_is_a_verdict() -> None:
    stored = chain(entries(3), 0, GENESIS)

    report = verify_chain([stored[0], UnreadableEntry(2, "JSONDecodeError: bad"), stored[2]])

    assert (report.ok, report.first_bad, report.checked) == (False, 2, 1)
    assert report.problem == "entry 2 cannot be read: JSONDecodeError: bad"


def test_a_decision_yields_run_attempt_and_cancel_entries() -> None:
    settings = JobSettings.model_validate(
        {"name": "etl", "tasks": [{"task_key": "a", "shell_command_task": {"command": "x"}}]})
    state = initial_state(build_plan(settings))
    found: list[tuple[str, str | None, object]] = []
    events = [RunStarted(T0), TaskStarted(T0, 1, "pid:1"), CancelRequested(T0),
              TaskFailed(T0, 1, "killed", -15)]
    for event in events:
        decision = decide(state, event)
        for e in transition_entries("ann", 7, 3, "ONE_TIME", {"p": "1"}, state, decision.state,
                                    decision.changed, event):
            found.append((str(e.action), e.task_key, e.details.get("result")))
        state = decision.state

    assert found == [
        ("run.started", None, None),
        ("task.attempt_started", "a", None),
        ("run.cancel_requested", None, None),
        ("task.attempt_ended", "a", "CANCELED"),
        ("run.ended", None, "CANCELED"),
    ]


def test_metrics_lines_parse_and_bad_lines_are_skipped() -> None:
    text = '{"name": "rows", "value": 10}\nnot json\n{"name": "rows", "value": 12.5}\n' \
           '{"name": "x", "value": "7"}\n{"name": "ok", "value": true}\n[1]\n' \
           '{"name": "nan", "value": NaN}\n{"name": "mb", "value": 3}\n'

    assert parse_metrics(4, text) == [TaskMetric(4, "rows", 12.5), TaskMetric(4, "mb", 3.0)]
