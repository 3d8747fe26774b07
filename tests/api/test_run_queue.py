"""run-now's `queue`: a run may wait for a slot when its job does not queue, or be skipped when
its job does, without changing the job."""

from __future__ import annotations

from typing import Any

from tests.servers import Server

STARTED = ("PENDING", "RUNNING")  # an engine may have taken it already
SLEEPY = [{"task_key": "t", "shell_command_task": {"command": "sleep 30"}}]


def states(server: Server, token: str, job_id: int) -> dict[int, str]:
    runs = server.call("GET", f"/api/2.2/jobs/runs/list?job_id={job_id}", token=token).body
    return {run["run_id"]: run["state"]["life_cycle_state"] for run in runs["runs"]}


def run_now(server: Server, token: str, job: dict[str, Any], **extra: Any) -> int:
    return int(server.call("POST", "/api/2.2/jobs/run-now", {**job, **extra},
                           token=token).body["run_id"])


def test_a_run_may_queue_when_its_job_skips_and_skip_when_its_job_queues(server: Server
                                                                          ) -> None:
    token = server.token("queuer")
    skipping = server.call("POST", "/api/2.2/jobs/create", {
        "name": "skips", "tasks": SLEEPY, "queue": {"enabled": False}}, token=token).body
    queueing = server.call("POST", "/api/2.2/jobs/create", {
        "name": "queues", "tasks": SLEEPY}, token=token).body

    busy = run_now(server, token, skipping)
    skipped = run_now(server, token, skipping)
    waiting = run_now(server, token, skipping, queue={"enabled": True})
    busy_too = run_now(server, token, queueing)
    not_waiting = run_now(server, token, queueing, queue={"enabled": False})

    first, second = states(server, token, skipping["job_id"]), states(
        server, token, queueing["job_id"])
    assert first.pop(busy) in STARTED and second.pop(busy_too) in STARTED
    assert first == {skipped: "SKIPPED", waiting: "QUEUED"}
    assert second == {not_waiting: "SKIPPED"}
    settings = server.call("GET", f"/api/2.2/jobs/get?job_id={skipping['job_id']}",
                           token=token).body["settings"]
    assert settings["queue"] == {"enabled": False}
    for run_id in (busy, busy_too, waiting):
        server.call("POST", "/api/2.2/jobs/runs/cancel", {"run_id": run_id}, token=token)


def test_a_performance_target_is_checked_and_has_no_effect_without_serverless(
        server: Server) -> None:
    token = server.token("fast")
    job = server.call("POST", "/api/2.2/jobs/create", {
        "name": "quick", "tasks": [{"task_key": "t", "shell_command_task": {
            "command": "true"}}]}, token=token).body

    accepted = server.call("POST", "/api/2.2/jobs/run-now",
                           {**job, "performance_target": "PERFORMANCE_OPTIMIZED"}, token=token)
    wrong = server.call("POST", "/api/2.2/jobs/run-now",
                        {**job, "performance_target": "FASTEST"}, token=token)

    assert accepted.status == 200 and accepted.body["run_id"] > 0
    assert wrong.status == 400
    assert wrong.body["message"].startswith("$.performance_target: Input should be "
                                            "'PERFORMANCE_OPTIMIZED' or 'STANDARD'")
