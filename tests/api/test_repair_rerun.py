"""`runs/repair` answers, besides Databricks' `repair_id`, every task the repair reruns and
why (`headwater.rerun`), computed as the engine picks them; what the CLI prints through a
server. A repaired run's `repair_history` is read from `runs/get`, never from `runs/list`."""

from __future__ import annotations

from typing import Any

from tests.servers import Server, wait_for


def test_a_repair_names_the_tasks_it_reruns_and_why(server: Server, admin: str) -> None:
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "reruns", "tasks": [
        {"task_key": "load", "shell_command_task": {"command": "exit 1"}},
        {"task_key": "report", "depends_on": [{"task_key": "load"}],
         "shell_command_task": {"command": "true"}},
        {"task_key": "side", "shell_command_task": {"command": "true"}}]}, token=admin).body
    run = server.call("POST", "/api/2.2/jobs/run-now", job, token=admin).body
    wait_for(lambda: server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run['run_id']}",
                                 token=admin).body["state"].get("result_state"),
             what="the run to end")

    repaired = server.call("POST", "/api/2.2/jobs/runs/repair",
                           {"run_id": run["run_id"], "rerun_tasks": ["load"]}, token=admin)

    assert repaired.status == 200, repaired.text
    assert repaired.body["headwater"]["rerun"] == {
        "asked": ["load"], "downstream": ["report"], "added": []}


def test_runs_list_entries_leave_the_repair_history_to_runs_get(server: Server,
                                                                admin: str) -> None:
    # Given a run repaired once, that has ended again
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "listed", "tasks": [
        {"task_key": "load", "shell_command_task": {"command": "exit 1"}}]}, token=admin).body
    run_id = server.call("POST", "/api/2.2/jobs/run-now", job, token=admin).body["run_id"]
    get = f"/api/2.2/jobs/runs/get?run_id={run_id}&include_history=true"
    wait_for(lambda: server.call("GET", get, token=admin).body["state"].get("result_state"),
             what="the run to end")
    server.call("POST", "/api/2.2/jobs/runs/repair",
                {"run_id": run_id, "rerun_tasks": ["load"]}, token=admin)

    def history_once_repaired() -> list[dict[str, Any]]:
        body = server.call("GET", get, token=admin).body
        ended = body["state"].get("result_state") is not None
        return body["repair_history"] if ended and len(body["repair_history"]) == 2 else []

    history = wait_for(history_once_repaired, what="the repair to end")

    # When its job's runs are listed, in both API versions, with and without their tasks
    entries = [server.call("GET", f"/api/{version}/jobs/runs/list?job_id={job['job_id']}"
                           f"&expand_tasks={expand}", token=admin).body["runs"][0]
               for version in ("2.1", "2.2") for expand in ("false", "true")]

    # Then no entry carries the history, which runs/get gives when asked
    assert [entry["run_id"] for entry in entries] == [run_id] * 4
    assert not [entry for entry in entries if "repair_history" in entry]
    assert [entry["type"] for entry in history] == ["ORIGINAL", "REPAIR"]
