"""The `Job` document of `jobs/get`: the settings as Lakeflow's GET returns them."""

from __future__ import annotations

from headwater.api.documents import as_returned


def test_get_writes_out_the_defaults_and_sorts_each_task_s_dependencies() -> None:
    stored = {"name": "etl", "tasks": [
        {"task_key": "load", "depends_on": [{"task_key": "b"}, {"task_key": "a"}]},
        {"task_key": "a", "run_if": "ALL_DONE", "timeout_seconds": 60}]}

    returned = as_returned(stored)

    assert (returned["max_concurrent_runs"], returned["timeout_seconds"]) == (1, 0)
    load, first = returned["tasks"]
    assert (load["run_if"], load["timeout_seconds"]) == ("ALL_SUCCESS", 0)
    assert load["depends_on"] == [{"task_key": "a"}, {"task_key": "b"}]
    assert (first["run_if"], first["timeout_seconds"]) == ("ALL_DONE", 60)  # as set
    assert as_returned({**stored, "max_concurrent_runs": 0})["max_concurrent_runs"] == 0
    assert stored["tasks"][0]["depends_on"][0] == {"task_key": "b"}  # the stored ones untouched


def test_get_writes_out_the_pause_status_each_schedule_and_trigger_has_by_default() -> None:
    cron = {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"}
    stored = {"name": "etl", "schedule": cron, "continuous": {"pause_status": "PAUSED"},
              "trigger": {"periodic": {"interval": 1, "unit": "HOURS"}},
              "triggers": [{"schedule": cron}, {"schedule": cron, "pause_status": "PAUSED"}]}

    returned = as_returned(stored)

    assert returned["schedule"] == {**cron, "pause_status": "UNPAUSED"}  # Lakeflow's default
    assert returned["continuous"] == {"pause_status": "PAUSED"}  # as set
    assert returned["trigger"]["pause_status"] == "UNPAUSED"
    assert [entry["pause_status"] for entry in returned["triggers"]] == ["UNPAUSED", "PAUSED"]
    assert "pause_status" not in stored["schedule"]  # the stored settings keep what was given
    assert not {"schedule", "trigger", "continuous"} & as_returned({"name": "etl"}).keys()
