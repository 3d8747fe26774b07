"""`jobs/update`: top-level fields replaced, keyed arrays merged, fields removed."""

from __future__ import annotations

import pytest

from headwater.core.job_update import apply_update, updated
from headwater.errors import InvalidRequest

SETTINGS = {
    "name": "etl", "timeout_seconds": 60, "schedule": {"quartz_cron_expression": "0 0 * * * ?"},
    "tasks": [{"task_key": "a", "max_retries": 1}, {"task_key": "b"}],
    "job_clusters": [{"job_cluster_key": "small"}],
}


def test_top_level_fields_are_replaced_and_task_entries_merged_by_key() -> None:
    updated = apply_update(SETTINGS, {
        "timeout_seconds": 120,
        "tasks": [{"task_key": "a", "max_retries": 3}, {"task_key": "c"}],
    })

    assert updated["timeout_seconds"] == 120
    assert updated["tasks"] == [{"task_key": "a", "max_retries": 3}, {"task_key": "b"},
                                {"task_key": "c"}]
    assert updated["schedule"] == SETTINGS["schedule"]
    assert SETTINGS["tasks"][0] == {"task_key": "a", "max_retries": 1}  # input untouched


def test_fields_and_array_entries_are_removed_before_the_merge() -> None:
    updated = apply_update(SETTINGS, {"tasks": [{"task_key": "b", "disabled": True}]},
                           ["schedule", "tasks/a", "job_clusters/small"])

    assert "schedule" not in updated
    assert updated["tasks"] == [{"task_key": "b", "disabled": True}]
    assert updated["job_clusters"] == []


def test_removing_what_is_not_there_names_every_mistake() -> None:
    with pytest.raises(InvalidRequest) as raised:
        apply_update(SETTINGS, {}, ["trigger", "tasks/nope", "schedule/timezone_id"])

    message = str(raised.value)
    assert "fields_to_remove[0]: the job has no field 'trigger' to remove" in message
    assert "fields_to_remove[1]: the job has no tasks entry 'nope' (it has: a, b)" in message
    assert "fields_to_remove[2]: 'schedule/timezone_id' removes a nested field" in message


def test_updated_says_where_each_merged_value_was_sent() -> None:
    settings, sent_at = updated(SETTINGS, {
        "tasks": [{"task_key": "new"}, {"task_key": "b", "disabled": True}],
        "name": "renamed",
    })

    keys = [task["task_key"] for task in settings["tasks"]]
    assert sent_at(("tasks", keys.index("b"), "disabled")) == ("tasks", 1, "disabled")
    assert sent_at(("tasks", keys.index("new"))) == ("tasks", 0)
    assert sent_at(("tasks", keys.index("a"), "task_key")) is None  # the job's own
    assert sent_at(("name",)) == ("name",)
    assert sent_at(("schedule", "quartz_cron_expression")) is None
