"""The multi-trigger list `triggers` (a Lakeflow preview): one trigger per entry, each with its
own pause status (`trigger_views`), and validation naming each entry's problems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from headwater.core.checks_triggers import check_trigger
from headwater.core.job_update import paused_changes
from headwater.core.spec import JobSettings
from headwater.core.triggers import (
    CONTINUOUS,
    PERIODIC,
    SCHEDULE,
    TABLE_UPDATE,
    TriggerState,
    active_trigger,
    states_from_body,
    states_to_body,
    trigger_views,
    unacted,
)
from headwater.design.words import timing_words

TASKS = [{"task_key": "t", "shell_command_task": {"command": "true"}}]
CRON = {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "Europe/Paris"}


def job(**fields: Any) -> JobSettings:
    return JobSettings.model_validate({"name": "j", "tasks": TASKS, **fields})


def test_each_entry_is_the_job_with_only_that_trigger_paused_as_the_entry_says() -> None:
    settings = job(triggers=[
        {"schedule": CRON},
        {"periodic": {"interval": 2, "unit": "HOURS"}, "pause_status": "PAUSED"},
        {"table_update": {"table_names": ["bronze.orders"]}},
        {"continuous": {}}])

    views = trigger_views(settings)

    assert [active_trigger(view) for view in views] == [
        (SCHEDULE, "0 0 6 * * ?|Europe/Paris"), None,
        (TABLE_UPDATE, '{"table_names":["bronze.orders"]}'), (CONTINUOUS, "")]
    assert all(not view.triggers for view in views)
    assert views[1].trigger is not None and views[1].trigger.periodic is not None
    # a job with the legacy fields is its one view
    legacy = job(schedule=CRON)
    assert trigger_views(legacy) == [legacy]


def test_each_entry_s_state_is_stored_in_one_body_and_read_back() -> None:
    state = TriggerState(PERIODIC, "x", datetime(2026, 12, 1, tzinfo=UTC), fires=3)

    body = states_to_body([None, state], multi=True)

    assert states_from_body(body, 2) == [None, state]
    assert states_from_body(body, 3) == [None, state, None]  # an entry added since
    assert states_from_body(states_to_body([state], multi=False), 2) == [state, None]
    assert states_from_body(None, 2) == [None, None]


def test_validation_names_each_entry_s_problem_at_its_path() -> None:
    found = list(check_trigger(job(
        schedule=CRON,
        triggers=[
            {"schedule": {"quartz_cron_expression": "0 0 25 * * ?", "timezone_id": "UTC"}},
            {"periodic": {"interval": 1, "unit": "HOURS"}, "continuous": {}},
            {"pause_status": "PAUSED"},
            {"job_completion": {"jobs": [{"job_id": "x1"}]}},
        ])))

    paths = [path for path, _ in found]
    assert paths == ["triggers", "triggers[0].schedule.quartz_cron_expression", "triggers[1]",
                     "triggers[2]", "triggers[3].job_completion.jobs[0].job_id"]
    messages = dict(found)
    assert messages["triggers"].startswith("triggers cannot be set with schedule: move it into "
                                           "an entry of triggers")
    assert "sets periodic and continuous" in messages["triggers[1]"]
    assert "sets none: give exactly one of schedule, periodic" in messages["triggers[2]"]
    assert list(check_trigger(job(triggers=[{"schedule": CRON}, {"continuous": {}}]))) == []


def test_pausing_the_job_pauses_every_entry() -> None:
    body = job(triggers=[{"schedule": CRON}, {"continuous": {}, "pause_status": "UNPAUSED"}]
               ).model_dump(mode="json", exclude_none=True)

    changes = paused_changes(1, body, paused=True)

    assert [entry["pause_status"] for entry in changes["triggers"]] == ["PAUSED", "PAUSED"]


def test_model_triggers_and_sql_conditions_are_kept_and_named_as_never_acted_on() -> None:
    condition = {"sql_query_id": "q1", "warehouse_id": "w1", "trigger_mode": "QUERY_RETURNS_ROWS"}
    model = {"condition": "MODEL_VERSION_READY", "securable_name": "main.ml.churn"}
    legacy = job(schedule={**CRON, "sql_condition": condition}, trigger={"model": model})
    multi = job(triggers=[{"model": model},
                          {"periodic": {"interval": 1, "unit": "HOURS"},
                           "sql_condition": condition}])

    # A model entry is one kind of trigger: valid, and kept as given (the legacy job is not:
    # its schedule and trigger exclude each other)
    assert list(check_trigger(multi)) == []
    assert [path for path, _ in check_trigger(legacy)] == ["trigger"]
    assert multi.model_dump(mode="json", exclude_none=True)["triggers"][0] == {"model": model}
    # but it never fires, and a SQL condition is not checked: validation says so, by path
    assert active_trigger(trigger_views(multi)[0]) is None
    assert [path for path, _ in unacted(legacy)] == ["schedule.sql_condition", "trigger.model"]
    notes = dict(unacted(multi))
    assert list(notes) == ["triggers[0].model", "triggers[1].sql_condition"]
    assert notes["triggers[0].model"].endswith("it never fires")
    assert notes["triggers[1].sql_condition"].endswith("runs start without it")
    assert unacted(job(schedule=CRON)) == []
    # and `describe` (the job page too) says when the job runs as it is
    assert timing_words(multi) == (
        "on a Unity Catalog model's versions (model trigger: never fires here) (unpaused) or "
        "every hour (periodic trigger), its SQL condition not checked (no saved queries) "
        "(unpaused)")
    assert timing_words(legacy).startswith(
        "every day at 06:00 Europe/Paris, its SQL condition not checked (no saved queries) "
        "(unpaused); "
        "on a Unity Catalog model's versions")
    # A model trigger with another kind is two kinds, as any two are
    [(path, message)] = check_trigger(job(trigger={"model": model, "periodic": {
        "interval": 1, "unit": "HOURS"}}))
    assert (path, "sets periodic and model" in message) == ("trigger.model", True)


def test_schedule_trigger_and_continuous_exclude_each_other() -> None:
    both = list(check_trigger(job(schedule=CRON, continuous={"pause_status": "PAUSED"})))
    all_three = dict(check_trigger(job(schedule=CRON, continuous={},
                                       trigger={"periodic": {"interval": 1, "unit": "HOURS"}})))

    assert both == [("continuous", "schedule and continuous cannot be set together: a job has "
                     "one of schedule, trigger and continuous; remove the others, or give each "
                     "its own entry of triggers")]
    assert all_three["trigger"].startswith("schedule and trigger and continuous cannot be set")


def test_a_trigger_without_its_kind_is_refused_naming_the_kinds() -> None:
    # A paused trigger of no kind would fire nothing, and the Jobs API refuses it
    assert list(check_trigger(job(trigger={"pause_status": "PAUSED"}))) == [
        ("trigger", "a trigger needs its kind: give one of periodic, file_arrival, "
                    "table_update, job_completion (a cron schedule goes under `schedule:`), or "
                    "remove trigger")]
    assert list(check_trigger(job(trigger={"pause_status": "PAUSED", "periodic": {
        "interval": 1, "unit": "HOURS"}}))) == []
