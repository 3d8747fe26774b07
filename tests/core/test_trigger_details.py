"""What `jobs/get` tells of a job's triggers: `trigger_state` of its one trigger, and each
entry's state and history in `trigger_details` for the multi-trigger list."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from headwater.core.trigger_details import (
    LastFire,
    per_trigger_state,
    trigger_history,
    trigger_state,
)
from headwater.core.triggers import (
    LastRun,
    TriggerState,
    changes_due,
    fresh_state,
    next_fire_time,
    trigger_views,
)

from .test_triggers import T0, at, job

TABLES = {"table_names": ["main.bronze.orders", "bronze.items"]}


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def test_a_job_s_one_trigger_shows_its_pause_status_and_what_it_saw() -> None:
    files = job(trigger={"file_arrival": {"url": "/in/"}})
    assert trigger_state(files, None, T0) == {
        "pause_status": "UNPAUSED", "file_arrival": {"using_file_events": False}}
    paused = job(trigger={"periodic": {"interval": 1, "unit": "HOURS"},
                          "pause_status": "PAUSED"})
    assert trigger_state(paused, None, T0) == {"pause_status": "PAUSED"}
    assert trigger_state(job(schedule={"quartz_cron_expression": "0 0 * * * ?",
                                       "timezone_id": "UTC"}), None, T0) is None
    assert trigger_state(job(), None, T0) is None


def test_a_table_trigger_shows_which_tables_were_updated_since_its_last_run() -> None:
    # Given a table trigger that looked once, then saw a commit to one of its two tables
    tables = job(trigger={"table_update": {**TABLES, "wait_after_last_change_seconds": 60}})
    state = fresh_state(tables, None, T0)
    assert state is not None
    state, _ = changes_due(tables, state, {"bronze.orders": 1, "bronze.items": 1}, at(1))
    state, fire = changes_due(tables, state, {"bronze.orders": 2, "bronze.items": 1}, at(2))
    assert fire is None  # it waits for the commits to settle
    # Then the table is shown updated, by the name the trigger was given
    assert trigger_state(tables, state, at(3)) == {"pause_status": "UNPAUSED", "table": {
        "last_seen_table_states": [
            {"table_name": "main.bronze.orders", "has_seen_updates": True},
            {"table_name": "bronze.items", "has_seen_updates": False}],
        "using_scalable_monitoring": False}}


def test_each_entry_of_triggers_shows_the_variant_of_its_kind_and_its_pause_status() -> None:
    settings = job(triggers=[
        {"schedule": {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"},
         "pause_status": "PAUSED"},
        {"periodic": {"interval": 1, "unit": "HOURS"}},
        {"file_arrival": {"url": "/in/"}},
        {"table_update": TABLES},
        {"model": {"condition": "MODEL_CREATED"}},
        {"continuous": {}}])
    views = trigger_views(settings)

    states = [per_trigger_state(view, None, T0) for view in views]

    assert states == [
        {"pause_status": "PAUSED", "schedule": {}},
        {"pause_status": "UNPAUSED",
         "periodic": {"next_run_time": ms(next_fire_time(views[1], None, T0) or T0)}},
        {"pause_status": "UNPAUSED", "file_arrival": {"using_file_events": False}},
        {"pause_status": "UNPAUSED", "table_update": {
            "last_seen_table_states": [
                {"table_name": "main.bronze.orders", "has_seen_updates": False},
                {"table_name": "bronze.items", "has_seen_updates": False}],
            "using_scalable_monitoring": False}},
        {"pause_status": "UNPAUSED", "model": {}},
        {"pause_status": "UNPAUSED",
         "continuous": {"consecutive_failures": 0, "is_backing_off": False}},
    ]
    assert states[1]["periodic"]["next_run_time"] == ms(at(3600))


def test_a_paused_periodic_entry_has_no_next_run_time() -> None:
    [view] = trigger_views(job(triggers=[{"periodic": {"interval": 1, "unit": "HOURS"},
                                          "pause_status": "PAUSED"}]))
    assert per_trigger_state(view, None, T0) == {"pause_status": "PAUSED", "periodic": {}}


def test_a_continuous_entry_shows_its_failures_in_a_row_and_when_it_tries_again() -> None:
    [view] = trigger_views(job(triggers=[{"continuous": {}}]))
    state = TriggerState("continuous", "", since=T0, fires=3, failures=1, counted=7)
    # Given a second failed run in a row that ended at second 100, not yet counted
    failed = LastRun(8, "FAILED", at(100))
    # Then it backs off 20 s from that end (10 s, doubled for the second failure)
    assert per_trigger_state(view, state, at(110), failed)["continuous"] == {
        "consecutive_failures": 2, "is_backing_off": True, "next_attempt_ms": ms(at(120))}
    assert per_trigger_state(view, state, at(121), failed)["continuous"] == {
        "consecutive_failures": 2, "is_backing_off": False}
    # And a success resets the count
    succeeded = LastRun(9, "SUCCESS", at(130))
    assert per_trigger_state(view, replace(state, failures=2, counted=8), at(131),
                             succeeded)["continuous"] == {
        "consecutive_failures": 0, "is_backing_off": False}


def test_an_entry_s_history_is_the_run_it_last_started() -> None:
    schedule, files = trigger_views(job(triggers=[
        {"schedule": {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"}},
        {"file_arrival": {"url": "/in/"}}]))
    assert trigger_history(schedule, None) == {}
    assert trigger_history(files, LastFire(42, at(5))) == {"last_triggered": {
        "timestamp": ms(at(5)), "run_id": 42, "description": "new files arrived and settled"}}
    assert trigger_history(schedule, LastFire(7, T0))["last_triggered"]["description"] == \
        "the schedule's fire time came"
