"""A Run Job task on a server runs its child job only if the parent run's user may run it
(CAN_MANAGE_RUN), as a user of the Jobs API would have to: a task must not start what its
user could not. A real server, its engine, the child engine process, real tasks."""

from __future__ import annotations

from typing import Any

from tests.servers import Server, wait_for

JOBS = "/api/2.2/jobs"


def _run_to_end(server: Server, token: str, job_id: int) -> dict[str, Any]:
    run_id = server.call("POST", f"{JOBS}/run-now", {"job_id": job_id}, token=token).body[
        "run_id"]

    def ended() -> bool:
        state = server.call("GET", f"{JOBS}/runs/get?run_id={run_id}", token=token).body["state"]
        return bool(state["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"))

    wait_for(ended, what=f"run {run_id} to end", timeout=120)
    document: dict[str, Any] = server.call("GET", f"{JOBS}/runs/get?run_id={run_id}",
                                           token=token).body
    return document


def test_a_run_job_task_needs_its_user_to_be_allowed_to_run_the_child_job(
        server: Server) -> None:
    alice, bob = server.token("alice"), server.token("bob")
    child = server.call("POST", f"{JOBS}/create", {"name": "alice's child", "tasks": [
        {"task_key": "t", "shell_command_task": {"command": "echo child ran"}}]},
        token=alice).body["job_id"]
    parent = server.call("POST", f"{JOBS}/create", {"name": "bob's parent", "tasks": [
        {"task_key": "call", "run_job_task": {"job_id": child}}]}, token=bob).body["job_id"]

    def grant(level: str) -> None:
        server.call("PATCH", f"/api/2.0/permissions/jobs/{child}", {"access_control_list": [
            {"user_name": "bob", "permission_level": level}]}, token=alice)

    unseen = _run_to_end(server, bob, parent)
    grant("CAN_VIEW")
    viewer = _run_to_end(server, bob, parent)
    grant("CAN_MANAGE_RUN")
    allowed = _run_to_end(server, bob, parent)

    assert unseen["state"]["result_state"] == "FAILED"
    assert f"User bob does not have permission to view job {child}" in \
        unseen["tasks"][0]["state"]["state_message"]
    assert f"User bob does not have permission to run job {child}" in \
        viewer["tasks"][0]["state"]["state_message"]
    assert allowed["state"]["result_state"] == "SUCCESS", allowed["state"]
    children = server.call("GET", f"{JOBS}/runs/list?job_id={child}", token=alice).body["runs"]
    assert len(children) == 1 and children[0]["trigger"] == "RUN_JOB_TASK"
