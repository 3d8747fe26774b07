"""`idempotency_token` (at most 64 characters) on run-now and runs/submit: a retried request
gives back the run the first one made."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.servers import Server, database_url, wait_for

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


def _ended_and_deleted(server: Server, run_id: int, token: str) -> None:
    server.call("POST", "/api/2.2/jobs/runs/cancel", {"run_id": run_id}, token=token)
    wait_for(lambda: server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}", token=token)
             .body["state"]["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"),
             what=f"run {run_id} to end")
    deleted = server.call("POST", "/api/2.2/jobs/runs/delete", {"run_id": run_id}, token=token)
    assert deleted.status == 200, deleted.body


def test_the_token_of_a_deleted_run_is_refused(server: Server) -> None:
    token = server.token("deleter")
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "gone", "tasks": TASKS},
                      token=token).body
    ask = {**job, "idempotency_token": "run-then-delete"}
    submit = {"tasks": TASKS, "idempotency_token": "submit-then-delete"}
    ran = server.call("POST", "/api/2.2/jobs/run-now", ask, token=token).body["run_id"]
    submitted = server.call("POST", "/api/2.2/jobs/runs/submit", submit,
                            token=token).body["run_id"]
    _ended_and_deleted(server, ran, token)
    _ended_and_deleted(server, submitted, token)

    again = server.call("POST", "/api/2.2/jobs/run-now", ask, token=token)
    resubmitted = server.call("POST", "/api/2.2/jobs/runs/submit", submit, token=token)

    for reply, run_id in ((again, ran), (resubmitted, submitted)):
        assert reply.status == 400 and reply.body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert f"$.idempotency_token: run {run_id}" in reply.body["message"]
        assert "was deleted" in reply.body["message"]


@pytest.fixture(params=["sqlite", "postgresql"])
def raced_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, on each kind of store: their writers wait for each other by
    different means."""
    found = Server(tmp_path, database_url(request.param, tmp_path)).start()
    yield found
    found.close()


def test_concurrent_submits_with_one_token_make_one_run(raced_server: Server) -> None:
    server = raced_server
    token = server.token("racer")
    body = {"run_name": "raced", "tasks": TASKS, "idempotency_token": "submit-race"}

    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(
            lambda _: server.call("POST", "/api/2.2/jobs/runs/submit", body, token=token),
            range(12)))

    assert {reply.status for reply in replies} == {200}
    assert len({reply.body["run_id"] for reply in replies}) == 1
    runs = server.call("GET", "/api/2.2/jobs/runs/list?run_type=SUBMIT_RUN",
                       token=token).body.get("runs", [])
    assert [run["run_name"] for run in runs].count("raced") == 1
