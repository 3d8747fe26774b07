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
