"""When triggers fire: periodic, file arrival, table update, continuous; pauses and state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.core.spec import JobSettings
from headwater.core.triggers import (
    CONTINUOUS,
    FILE_ARRIVAL,
    PERIODIC,
    TABLE_UPDATE,
    LastRun,
    active_trigger,
    changes_due,
    clock_due,
    continuous_due,
    fresh_state,
    next_fire_time,
    normal_table,
    state_from_dict,
    state_to_dict,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TASKS = [{"task_key": "t", "shell_command_task": {"command": "true"}}]


def job(**fields: Any) -> JobSettings:
    return JobSettings.model_validate({"name": "j", "tasks": TASKS, **fields})


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_unpaused_trigger_is_the_one_that_fires() -> None:
    assert active_trigger(job()) is None
    assert active_trigger(job(trigger={"periodic": {"interval": 2, "unit": "HOURS"}}))[0] == \
        PERIODIC  # type: ignore[index]
    assert active_trigger(job(trigger={"periodic": {"interval": 2, "unit": "HOURS"},
                                       "pause_status": "PAUSED"})) is None
    assert active_trigger(job(continuous={}))[0] == CONTINUOUS  # type: ignore[index]


def test_a_state_made_for_other_settings_starts_afresh() -> None:
    hourly = job(trigger={"periodic": {"interval": 1, "unit": "HOURS"}})
    state = fresh_state(hourly, None, T0)
    assert state is not None and state.since == T0
    assert fresh_state(hourly, state, at(99)) is state
    daily = job(trigger={"periodic": {"interval": 1, "unit": "DAYS"}})
    assert fresh_state(daily, state, at(99)).since == at(99)  # type: ignore[union-attr]


def test_periodic_fires_every_interval_from_its_start_and_once_after_downtime() -> None:
    settings = job(trigger={"periodic": {"interval": 1, "unit": "HOURS"}})
    state = fresh_state(settings, None, T0)
    assert state is not None
    assert clock_due(settings, state, at(3599)) == (state, None)

    state, fire = clock_due(settings, state, at(3600))
    assert fire is not None and fire.logical_time == at(3600)
    assert (fire.key, fire.trigger) == (f"periodic:{at(3600).isoformat()}", "PERIODIC")
    # Down from 1:00 to 4:30: one run, for 4:00, not three
    state, fire = clock_due(settings, state, at(4.5 * 3600))
    assert fire is not None and fire.logical_time == at(4 * 3600)
    assert clock_due(settings, state, at(4.6 * 3600))[1] is None
    assert next_fire_time(settings, state, at(4.6 * 3600)) == at(5 * 3600)


def arrivals(**timing: Any) -> JobSettings:
    return job(trigger={"file_arrival": {"url": "/landing", **timing}})


def test_files_there_when_watching_starts_do_not_count() -> None:
    settings = arrivals()
    state = fresh_state(settings, None, T0)
    assert state is not None and state.kind == FILE_ARRIVAL

    state, fire = changes_due(settings, state, {"old.csv": 10}, T0)
    assert fire is None
    state, fire = changes_due(settings, state, {"old.csv": 20}, at(10))  # an overwrite
    assert fire is None and state.changed == ()


def test_new_files_fire_one_run_once_they_settle() -> None:
    settings = arrivals(wait_after_last_change_seconds=60, min_time_between_triggers_seconds=300)
    state = fresh_state(settings, None, T0)
    assert state is not None
    state, _ = changes_due(settings, state, {}, T0)
    # Ten files arrive over 30 s
    for i in range(10):
        state, fire = changes_due(settings, state, {f"f{j}": 1 for j in range(i + 1)}, at(i * 3))
        assert fire is None
    all_ten = {f"f{j}": 1 for j in range(10)}
    state, fire = changes_due(settings, state, all_ten, at(27 + 59))
    assert fire is None  # not quiet for 60 s yet
    state, fire = changes_due(settings, state, all_ten, at(27 + 60))
    assert fire is not None and fire.key == "file_arrival:1"
    assert fire.info == {"file_arrival": {"location": "/landing",
                                          "files": sorted(all_ten)}}
    # A new file soon after waits for min_time_between_triggers_seconds
    more = {**all_ten, "g": 1}
    state, fire = changes_due(settings, state, more, at(100))
    state, fire = changes_due(settings, state, more, at(200))
    assert fire is None
    state, fire = changes_due(settings, state, more, at(87 + 300))
    assert fire is not None and fire.key == "file_arrival:2"


def test_a_quiet_floor_keeps_files_dropped_together_in_one_run() -> None:
    settings = arrivals()
    state = fresh_state(settings, None, T0)
    assert state is not None
    state, _ = changes_due(settings, state, {}, T0)
    state, fire = changes_due(settings, state, {"a": 1}, at(1), quiet=timedelta(seconds=1))
    assert fire is None
    state, fire = changes_due(settings, state, {"a": 1, "b": 1}, at(1.5),
                              quiet=timedelta(seconds=1))
    assert fire is None
    state, fire = changes_due(settings, state, {"a": 1, "b": 1}, at(2.6),
                              quiet=timedelta(seconds=1))
    assert fire is not None and fire.info["file_arrival"]["files"] == ["a", "b"]


@pytest.mark.parametrize(("condition", "fires_after_one"), [("ANY_UPDATED", True),
                                                            ("ALL_UPDATED", False)])
def test_table_updates_fire_on_any_or_all_tables(condition: str,
                                                 fires_after_one: bool) -> None:
    settings = job(trigger={"table_update": {"table_names": ["cat.bronze.orders", "Customers"],
                                             "condition": condition}})
    state = fresh_state(settings, None, T0)
    assert state is not None and state.kind == TABLE_UPDATE
    state, _ = changes_due(settings, state, {"bronze.orders": 3, "main.customers": 0}, T0)

    state, fire = changes_due(settings, state, {"bronze.orders": 4, "main.customers": 0}, at(5))
    assert (fire is not None) == fires_after_one
    if not fires_after_one:
        state, fire = changes_due(settings, state, {"bronze.orders": 4, "main.customers": 1},
                                  at(6))
        assert fire is not None
    assert fire.info["table_update"]["updated_tables"][0] == "bronze.orders"


def test_table_names_are_compared_as_schema_and_table() -> None:
    assert normal_table('main."Orders"') == "main.orders"
    assert normal_table("catalog.bronze.orders") == "bronze.orders"
    assert normal_table("orders") == "main.orders"


def test_continuous_starts_a_run_when_none_is_active_and_backs_off_after_failures() -> None:
    settings = job(continuous={})
    state = fresh_state(settings, None, T0)
    assert state is not None
    state, fire = continuous_due(state, 0, None, T0)
    assert fire is not None and fire.key == "continuous:1"
    assert continuous_due(state, 1, None, at(1))[1] is None  # one is active

    failed = LastRun(7, "FAILED", at(5))
    state, fire = continuous_due(state, 0, failed, at(6))
    assert fire is None and state.failures == 1  # waits 10 s after one failure
    state, fire = continuous_due(state, 0, failed, at(15))
    assert fire is not None and state.failures == 1
    twice = LastRun(8, "FAILED", at(20))
    state, fire = continuous_due(state, 0, twice, at(35))
    assert fire is None and state.failures == 2  # 20 s after two
    state, fire = continuous_due(state, 0, twice, at(40))
    assert fire is not None
    state, fire = continuous_due(state, 0, LastRun(9, "SUCCESS", at(41)), at(41))
    assert fire is not None and state.failures == 0  # a success resets it


def test_a_state_round_trips_through_json() -> None:
    settings = arrivals()
    state = fresh_state(settings, None, T0)
    assert state is not None
    state = replace(state, seen={"a": 1}, changed=("a",), last_change=at(3), observed=True,
                    fires=2, last_fire=at(1), failures=1, counted=5)

    assert state_from_dict(state_to_dict(state)) == state


def test_a_cron_schedule_fires_at_its_times_and_once_after_downtime() -> None:
    settings = job(schedule={"quartz_cron_expression": "0 0 * * * ?",
                             "timezone_id": "Europe/Amsterdam"})
    state = fresh_state(settings, None, at(60))  # 12:01 UTC
    assert state is not None
    assert next_fire_time(settings, state, at(60)) == at(3600)  # 13:00 UTC is 14:00 there

    state, fire = clock_due(settings, state, at(3600))
    assert fire is not None and fire.key == f"schedule:{at(3600).isoformat()}"
    assert fire.info == {"scheduled_time": at(3600).isoformat(), "schedule": {
        "quartz_cron_expression": "0 0 * * * ?", "timezone_id": "Europe/Amsterdam"}}
    # Down from 13:00 to 18:30: one run, for 18:00
    state, fire = clock_due(settings, state, at(6.5 * 3600))
    assert fire is not None and fire.logical_time == at(6 * 3600)
    assert clock_due(settings, state, at(6.6 * 3600))[1] is None


def test_a_paused_schedule_fires_nothing() -> None:
    settings = job(schedule={"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC",
                             "pause_status": "PAUSED"})

    assert fresh_state(settings, None, T0) is None
    assert next_fire_time(settings, None, T0) is None
