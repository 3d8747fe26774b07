"""`runs/repair` answers, besides Databricks' `repair_id`, every task the repair reruns and
why (`headwater.rerun`), computed as the engine picks them; what the CLI prints through a
server."""

from __future__ import annotations

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
