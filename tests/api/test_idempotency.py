"""`idempotency_token` (at most 64 characters) on run-now and runs/submit: a retried request
gives back the run the first one made."""

from __future__ import annotations

from tests.servers import Server

TASKS = [{"task_key": "t", "shell_command_task": {"command": "true"}}]


def test_run_now_with_the_same_token_gives_the_same_run(server: Server) -> None:
    token = server.token("idem")
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "idem", "tasks": TASKS,
                                                       "max_concurrent_runs": 5},
                      token=token).body
    ask = {**job, "idempotency_token": "nightly-2026-11-30"}

    first = server.call("POST", "/api/2.2/jobs/run-now", ask, token=token).body
    again = server.call("POST", "/api/2.2/jobs/run-now", ask, token=token).body
    other = server.call("POST", "/api/2.2/jobs/run-now", job, token=token).body
    runs = server.call("GET", f"/api/2.2/jobs/runs/list?job_id={job['job_id']}",
                       token=token).body["runs"]

    assert first == again and other["run_id"] != first["run_id"]
    assert sorted(run["run_id"] for run in runs) == sorted([first["run_id"], other["run_id"]])


def test_submit_with_the_same_token_gives_the_same_run(server: Server) -> None:
    token = server.token("submitter")
    body = {"run_name": "once", "tasks": TASKS, "idempotency_token": "deploy-42"}

    first = server.call("POST", "/api/2.2/jobs/runs/submit", body, token=token).body
    again = server.call("POST", "/api/2.2/jobs/runs/submit", body, token=token).body

    assert first == again and set(first) == {"run_id"}


def test_a_token_over_64_characters_is_refused(server: Server) -> None:
    token = server.token("long")
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "long", "tasks": TASKS},
                      token=token).body

    reply = server.call("POST", "/api/2.2/jobs/run-now",
                        {**job, "idempotency_token": "x" * 65}, token=token)
    submitted = server.call("POST", "/api/2.2/jobs/runs/submit",
                            {"tasks": TASKS, "idempotency_token": "x" * 65}, token=token)

    assert reply.status == 400 and "$.idempotency_token" in reply.body["message"]
    assert submitted.status == 400 and "at most 64" in submitted.body["message"]
