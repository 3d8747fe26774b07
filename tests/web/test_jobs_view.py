"""The jobs list's pause state: the legacy schedule, trigger and continuous settings, or each
entry of the multi-trigger list."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.web.views.jobs_view import paused_of, upstream_states

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
