"""Pages: API 2.2 gives 100 elements of each long array of `jobs/get` and `runs/get` a call,
every paged array on every page and `next_page_token` only while another page follows;
lists page with tokens (and the deprecated `offset`). The SDK joins the pages itself."""

from __future__ import annotations

from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from tests.servers import Server, wait_for

from headwater.api.pages import job_page, page_token, run_page
from headwater.errors import InvalidRequest


def conditions(count: int) -> list[dict[str, Any]]:
    """Tasks the engine decides without a process: a run of them ends at once."""
    return [{"task_key": f"c{i:03d}", "condition_task": {"op": "EQUAL_TO", "left": "1",
                                                         "right": "1"}} for i in range(count)]


def test_a_run_page_cuts_each_array_and_keeps_it_present() -> None:
    document = {"run_id": 1, "tasks": list(range(5)), "job_parameters": [1, 2, 3],
                "job_clusters": [], "repair_history": []}

    first = run_page(document, None, size=2)
    last = run_page(document, page_token(2), size=2)

    assert (first["tasks"], first["job_parameters"]) == ([0, 1], [1, 2])
    assert (last["tasks"], last["job_parameters"], last["repair_history"]) == ([4], [], [])
    assert "next_page_token" in first and "next_page_token" not in last


def test_a_for_each_task_run_pages_its_iterations() -> None:
    document = {"run_id": 9, "task_key": "loop", "iterations": list(range(3))}

    first = run_page(document, None, size=2)

    assert first["iterations"] == [0, 1] and first["job_parameters"] == []
    assert run_page(document, first["next_page_token"], size=2)["iterations"] == [2]


def test_a_job_page_cuts_its_settings_arrays() -> None:
    document = {"job_id": 1, "settings": {"name": "x", "tasks": [1, 2, 3]}}

    first = job_page(document, None, size=2)

    assert first["settings"] == {"name": "x", "tasks": [1, 2], "job_clusters": [],
                                 "parameters": [], "environments": []}
    assert job_page(document, first["next_page_token"], size=2)["settings"]["tasks"] == [3]


def test_a_token_never_given_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="not a token this server gave"):
        run_page({"run_id": 1}, "aGVsbG8=")


def test_jobs_get_pages_250_tasks_in_2_2_and_not_in_2_1(server: Server, admin: str) -> None:
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "wide", "tasks": conditions(250)},
                      token=admin).body
    path = f"/api/2.2/jobs/get?job_id={job['job_id']}"

    pages = [server.call("GET", path, token=admin).body]
    while "next_page_token" in pages[-1]:
        pages.append(server.call("GET", f"{path}&page_token={pages[-1]['next_page_token']}",
                                 token=admin).body)

    assert [len(p["settings"]["tasks"]) for p in pages] == [100, 100, 50]
    assert all(p["settings"]["job_clusters"] == [] for p in pages)
    whole = server.call("GET", f"/api/2.1/jobs/get?job_id={job['job_id']}", token=admin).body
    assert len(whole["settings"]["tasks"]) == 250 and "next_page_token" not in whole
    sdk = WorkspaceClient(config=Config(host=server.url, token=admin, retry_timeout_seconds=10))
    assert len(sdk.jobs.get(job["job_id"]).settings.tasks) == 250


def test_runs_get_pages_120_task_runs_and_runs_list_shows_the_first_100(
        server: Server, admin: str) -> None:
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "many", "tasks": conditions(120)},
                      token=admin).body
    run_id = server.call("POST", "/api/2.2/jobs/run-now", job, token=admin).body["run_id"]
    path = f"/api/2.2/jobs/runs/get?run_id={run_id}"
    wait_for(lambda: server.call("GET", path, token=admin).body["state"]["life_cycle_state"]
             == "TERMINATED", what="the run to end")

    first = server.call("GET", path, token=admin).body
    second = server.call("GET", f"{path}&page_token={first['next_page_token']}",
                         token=admin).body
    listed = server.call("GET", f"/api/2.2/jobs/runs/list?job_id={job['job_id']}&expand_tasks="
                         "true", token=admin).body["runs"][0]

    assert (len(first["tasks"]), len(second["tasks"])) == (100, 20)
    assert "next_page_token" not in second
    assert {"job_clusters", "job_parameters", "repair_history"} <= set(second)
    assert (len(listed["tasks"]), listed["has_more"]) == (100, True)
    sdk = WorkspaceClient(config=Config(host=server.url, token=admin, retry_timeout_seconds=10))
    assert len(sdk.jobs.get_run(run_id).tasks) == 120


def test_jobs_list_pages_by_token_and_by_offset(server: Server) -> None:
    token = server.token("lister")
    ids = [server.call("POST", "/api/2.2/jobs/create", {"name": f"l{i}", "tasks": []},
                       token=token).body["job_id"] for i in range(5)]

    seen, path = [], "/api/2.2/jobs/list?limit=2"
    while True:
        page = server.call("GET", path, token=token).body
        seen.append([job["job_id"] for job in page["jobs"]])
        if "next_page_token" not in page:
            break
        assert page["has_more"] is True
        path = f"/api/2.2/jobs/list?limit=2&page_token={page['next_page_token']}"
    skipped = server.call("GET", "/api/2.2/jobs/list?limit=2&offset=3", token=token).body

    assert seen == [ids[0:2], ids[2:4], ids[4:]]
    assert [job["job_id"] for job in skipped["jobs"]] == ids[3:]
    assert skipped["has_more"] is False and "next_page_token" not in skipped


def test_runs_list_start_time_to_includes_a_run_that_started_at_it(server: Server) -> None:
    token = server.token("timed")
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "timed", "tasks": conditions(1)},
                      token=token).body
    run_id = server.call("POST", "/api/2.2/jobs/run-now", job, token=token).body["run_id"]
    started = wait_for(lambda: server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}",
                                           token=token).body["start_time"], what="a start")

    def listed(query: str) -> list[int]:
        body = server.call("GET", f"/api/2.2/jobs/runs/list?job_id={job['job_id']}&{query}",
                           token=token).body
        return [run["run_id"] for run in body.get("runs", [])]

    assert listed(f"start_time_to={started}") == [run_id]  # "at or before this value"
    assert listed(f"start_time_from={started}&start_time_to={started}") == [run_id]
    assert listed(f"start_time_to={started - 1}") == []
