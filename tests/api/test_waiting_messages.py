"""`runs/get` on a real server says why a task waits."""

from __future__ import annotations

from typing import Any

from tests.servers import Server, wait_for


def test_a_blocked_task_says_which_upstream_task_it_waits_for(server: Server) -> None:
    token = server.token("ann")
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "waits", "tasks": [
        {"task_key": "slow", "shell_command_task": {"command": "sleep 60"}},
        {"task_key": "after", "depends_on": [{"task_key": "slow"}],
         "shell_command_task": {"command": "true"}}]}, token=token).body
    run = server.call("POST", "/api/2.2/jobs/run-now", job, token=token).body
    path = f"/api/2.2/jobs/runs/get?run_id={run['run_id']}"

    def tasks() -> dict[str, Any] | None:
        found = {t["task_key"]: t["state"] for t in server.call("GET", path, token=token)
                 .body.get("tasks", [])}
        return found if found.get("slow", {}).get("life_cycle_state") == "RUNNING" else None

    states = wait_for(tasks, what="the slow task to run")
    server.call("POST", "/api/2.2/jobs/runs/cancel", {"run_id": run["run_id"]}, token=token)

    assert states["after"] == {"life_cycle_state": "BLOCKED",
                               "state_message": "Waiting for upstream task slow."}
    assert states["slow"]["state_message"] == ""
