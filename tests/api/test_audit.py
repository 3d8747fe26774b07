"""Every action through the API is audited under the user of the request's token, with the
run's `run_as`."""

from __future__ import annotations

from tests.servers import Server, wait_for

from headwater.bootstrap import application

TASKS = [{"task_key": "t", "shell_command_task": {"command": "true"}}]


def test_each_action_is_audited_under_the_token_user(server: Server) -> None:
    token = server.token("auditee", admin=True)  # only an admin may name another run_as
    job = server.call("POST", "/api/2.2/jobs/create", {
        "name": "audited", "tasks": TASKS, "run_as": {"user_name": "robot"}}, token=token).body
    run = server.call("POST", "/api/2.2/jobs/run-now", job, token=token).body
    path = f"/api/2.2/jobs/runs/get?run_id={run['run_id']}"
    wait_for(lambda: server.call("GET", path, token=token).body["state"]["life_cycle_state"]
             == "TERMINATED", what="the run to end")
    server.call("POST", "/api/2.2/jobs/runs/repair", {"run_id": run["run_id"],
                                                      "rerun_tasks": ["t"]}, token=token)
    sleepy = server.call("POST", "/api/2.2/jobs/create", {"name": "sleepy", "tasks": [
        {"task_key": "nap", "shell_command_task": {"command": "sleep 30"}}]}, token=token).body
    napping = server.call("POST", "/api/2.2/jobs/run-now", sleepy, token=token).body
    server.call("POST", "/api/2.2/jobs/runs/cancel", {"run_id": napping["run_id"]}, token=token)
    server.call("PATCH", f"/api/2.0/permissions/jobs/{job['job_id']}", {
        "access_control_list": [{"group_name": "users", "permission_level": "CAN_VIEW"}]},
        token=token)
    server.call("POST", "/api/2.2/jobs/runs/submit", {"tasks": TASKS}, token=token)
    server.call("POST", "/api/2.2/jobs/delete", job, token=token)

    with application(server.settings()) as app:
        entries = app.service.audit_entries(actor="auditee", limit=None)
    actions = [entry.entry.action for entry in entries]

    assert {"job.created", "run.requested", "run.repair_requested", "run.cancel_asked",
            "job.permissions_changed", "job.deleted"} <= set(actions)
    requested = next(e.entry for e in entries if e.entry.run_id == run["run_id"]
                     and e.entry.action == "run.requested")
    assert requested.details["run_as"] == "robot"
    assert server.call("GET", path, token=token).body["headwater"]["run_as"] == "robot"
