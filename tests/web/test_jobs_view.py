"""The jobs list's pause state: the legacy schedule, trigger and continuous settings, or each
entry of the multi-trigger list."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.spec import JobSettings
from headwater.web.views.jobs_view import paused_of, trigger_entries, upstream_states

CRON = {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"}


@pytest.mark.parametrize(("settings", "paused"), [
    ({}, None),
    ({"schedule": {**CRON, "pause_status": "PAUSED"}}, True),
    ({"schedule": CRON, "continuous": {"pause_status": "PAUSED"}}, False),
    ({"triggers": [{"schedule": CRON, "pause_status": "PAUSED"},
                   {"continuous": {}, "pause_status": "PAUSED"}]}, True),
    ({"triggers": [{"schedule": CRON, "pause_status": "PAUSED"}, {"continuous": {}}]}, False),
])
def test_a_job_is_paused_when_every_trigger_it_has_is(settings: dict[str, Any],
                                                       paused: bool | None) -> None:
    assert paused_of(settings) is paused


def test_the_job_page_lists_what_every_job_completion_trigger_saw() -> None:
    seen = [{"job_id": "4", "has_seen_completion": True}, {"job_id": "5"}]
    completion = {"job_completion": {"monitored_job_states": seen[:1]}}
    assert upstream_states({"trigger_state": completion}) == seen[:1]
    assert upstream_states({"trigger_details": [
        {"state": {"schedule": {}}}, {"state": completion},
        {"state": {"job_completion": {"monitored_job_states": seen[1:]}}}]}) == seen
    assert upstream_states({"trigger_state": {"file_arrival": {}}}) == []


def test_the_job_page_lists_each_trigger_with_the_run_it_last_started() -> None:
    settings = JobSettings.model_validate({
        "name": "j", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}],
        "triggers": [{"schedule": CRON, "pause_status": "PAUSED"},
                     {"file_arrival": {"url": "/in/"}}]})
    document = {"trigger_details": [
        {"history": {}},
        {"history": {"last_triggered": {"run_id": 42, "timestamp": 1_796_190_000_000}}}]}

    entries = trigger_entries(settings, document)

    assert [(e.last_run_id, e.last_fired) for e in entries] == [(None, None),
                                                                (42, 1_796_190_000_000)]
    assert "(paused)" in entries[0].words and "/in/" in entries[1].words
    assert trigger_entries(settings.model_copy(update={"triggers": []}), document) == []
