"""A change of a job's `timeout_seconds` reaches its active runs, as in Lakeflow (no other
setting does): a run under way past the new timeout ends TIMEDOUT at once."""

from __future__ import annotations

from typing import Any

from tests.servers import Server, wait_for

NAP = [{"task_key": "nap", "shell_command_task": {"command": "sleep 120"}}]


def test_a_lowered_job_timeout_ends_a_run_under_way_that_ran_past_it(server: Server) -> None:
    token = server.token("tim")

    def call(path: str, body: Any = None) -> Any:
        reply = server.call("POST" if body is not None else "GET", f"/api/2.2/jobs/{path}",
                            body, token=token)
        assert reply.status == 200, reply.text
        return reply.body

    job_id = call("create", {"name": "napping", "tasks": NAP})["job_id"]
    run_id = call("run-now", {"job_id": job_id})["run_id"]
    wait_for(lambda: [t["state"]["life_cycle_state"] for t in call(
        f"runs/get?run_id={run_id}")["tasks"]] == ["RUNNING"], what="the nap to start")
    call("update", {"job_id": job_id, "new_settings": {"description": "naps"}})
    assert call(f"runs/get?run_id={run_id}")["state"]["life_cycle_state"] == "RUNNING"

    call("update", {"job_id": job_id, "new_settings": {"timeout_seconds": 1}})

    wait_for(lambda: "result_state" in call(f"runs/get?run_id={run_id}")["state"],
             what="the run to time out")
    run = call(f"runs/get?run_id={run_id}")
    assert (run["state"]["result_state"], run["tasks"][0]["state"]["result_state"]) == (
        "TIMEDOUT", "TIMEDOUT")
    assert run["state"]["state_message"] == "The job run timed out after 1 seconds."
    assert run["headwater"]["job_version"] == 1  # the run kept its version: only the timeout
