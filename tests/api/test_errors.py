"""Errors on the wire: `{"error_code", "message"}` with Databricks' statuses; a client's
mistake is a 4xx whose message says where (a JSON path) and what; never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.servers import Server

JOB = {"name": "e", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}]}


@pytest.fixture(scope="module")
def job_id(server: Server, admin: str) -> int:
    return int(server.call("POST", "/api/2.2/jobs/create", JOB, token=admin).body["job_id"])


def check(reply: Any, status: int, code: str, *phrases: str) -> None:
    assert (reply.status, set(reply.body)) == (status, {"error_code", "message"}), reply.text
    assert reply.body["error_code"] == code
    for phrase in phrases:
        assert phrase in reply.body["message"], reply.body["message"]
    assert "Traceback" not in reply.text and "Unexpected error" not in reply.text


CASES = [
    ("bad JSON", "POST", "/api/2.2/jobs/run-now", b'{"job_id": 1', 400,
     "INVALID_PARAMETER_VALUE", ["$: the request body is not valid JSON"]),
    ("a body that is not UTF-8", "POST", "/api/2.2/jobs/runs/cancel-all", b'{"job_id": "\xff"}',
     400, "INVALID_PARAMETER_VALUE", ["$: the request body is not valid JSON ('utf-8' codec "
                                      "can't decode byte 0xff in position 12"]),
    ("a body that is not an object", "POST", "/api/2.2/jobs/run-now", b"[1, 2]", 400,
     "INVALID_PARAMETER_VALUE", ["$:"]),
    ("an unknown field", "POST", "/api/2.2/jobs/run-now", b'{"job_id": 1, "jobid": 2}', 400,
     "INVALID_PARAMETER_VALUE", ["$.jobid: unknown field"]),
    ("a legacy parameter map of the wrong type in a repair", "POST", "/api/2.2/jobs/runs/repair",
     b'{"run_id": 1, "rerun_all_failed_tasks": true, "notebook_params": ["a"]}', 400,
     "INVALID_PARAMETER_VALUE", ["$.notebook_params: Input should be a valid dictionary"]),
    ("a field of the wrong type", "POST", "/api/2.2/jobs/runs/cancel", b'{"run_id": "x"}', 400,
     "INVALID_PARAMETER_VALUE", ["$.run_id: Input should be a valid integer"]),
    ("a missing field", "POST", "/api/2.2/jobs/runs/cancel", b"{}", 400,
     "INVALID_PARAMETER_VALUE", ["$.run_id: required field missing"]),
    ("a missing query parameter", "GET", "/api/2.2/jobs/get", None, 400,
     "INVALID_PARAMETER_VALUE", ["query parameter job_id: required field missing"]),
    ("job settings with a mistake", "POST", "/api/2.2/jobs/create",
     b'{"name": "x", "tasks": [{"task_key": "a", "shell_command_task": {"comand": "x"}}]}',
     400, "INVALID_PARAMETER_VALUE", ["$.tasks[0].shell_command_task.comand: unknown field"]),
    ("new settings with a mistake", "POST", "/api/2.2/jobs/reset",
     b'{"job_id": 1, "new_settings": {"name": "x", "tasks": [], "max_concurrent_runs": -1}}',
     400, "INVALID_PARAMETER_VALUE", ["$.new_settings.max_concurrent_runs"]),
    ("an access control list with a mistake", "POST", "/api/2.2/jobs/create",
     b'{"name": "x", "tasks": [], "access_control_list": [{"user": "bob"}]}', 400,
     "INVALID_PARAMETER_VALUE", ["$.access_control_list[0].user: unknown field",
                                 "$.access_control_list[0].permission_level"]),
    ("an unknown job", "GET", "/api/2.2/jobs/get?job_id=424242", None, 400,
     "INVALID_PARAMETER_VALUE", ["Job 424242 does not exist."]),
    ("run-now of an unknown job", "POST", "/api/2.1/jobs/run-now", b'{"job_id": 424242}', 400,
     "INVALID_PARAMETER_VALUE", ["Job 424242 does not exist."]),
    ("an unknown run", "GET", "/api/2.2/jobs/runs/get?run_id=424242", None, 400,
     "INVALID_PARAMETER_VALUE", ["Run 424242 does not exist."]),
    ("permissions of an unknown job", "GET", "/api/2.0/permissions/jobs/424242", None, 404,
     "RESOURCE_DOES_NOT_EXIST", ["Job 424242 does not exist."]),
    ("a page token never given", "GET", "/api/2.2/jobs/list?page_token=bm9wZQ==", None, 400,
     "INVALID_PARAMETER_VALUE", ["page_token 'bm9wZQ==' is not a token this server gave"]),
    ("a runs/list limit over 24", "GET", "/api/2.2/jobs/runs/list?limit=25", None, 400,
     "INVALID_PARAMETER_VALUE", ["limit must be between 1 and 24 (0: 24), got 25"]),
    ("a negative runs/list limit", "GET", "/api/2.2/jobs/runs/list?limit=-1", None, 400,
     "INVALID_PARAMETER_VALUE", ["limit must be between 1 and 24 (0: 24), got -1"]),
    ("a runs/list limit not a number", "GET", "/api/2.2/jobs/runs/list?limit=x", None, 400,
     "INVALID_PARAMETER_VALUE", ["query parameter limit"]),
    ("a bad run type", "GET", "/api/2.2/jobs/runs/list?run_type=NIGHTLY", None, 400,
     "INVALID_PARAMETER_VALUE", ["query parameter run_type"]),
    ("a schedule with continuous", "POST", "/api/2.2/jobs/create",
     b'{"name": "both", "continuous": {"pause_status": "PAUSED"}, "schedule": '
     b'{"quartz_cron_expression": "0 0 5 * * ?", "timezone_id": "UTC"}}', 400,
     "INVALID_PARAMETER_VALUE", ["$.continuous: schedule and continuous cannot be set together"]),
    ("a schedule with a trigger", "POST", "/api/2.2/jobs/create",
     b'{"name": "both", "trigger": {"periodic": {"interval": 1, "unit": "HOURS"}}, '
     b'"schedule": {"quartz_cron_expression": "0 0 5 * * ?", "timezone_id": "UTC"}}', 400,
     "INVALID_PARAMETER_VALUE", ["$.trigger: schedule and trigger cannot be set together"]),
    # Found by the fuzzer (tests/api/test_fuzz.py): each was a 500 from the store or int().
    ("a job id past 64 bits", "GET", "/api/2.2/jobs/get?job_id=9223372036854775808", None, 400,
     "INVALID_PARAMETER_VALUE", ["query parameter job_id: Input should be less than or equal "
                                 "to 9223372036854775807"]),  # Databricks' ids are int64
    ("a run id past 64 bits in a body", "POST", "/api/2.2/jobs/runs/repair",
     b'{"run_id": 50484796312347402240, "rerun_all_failed_tasks": true}', 400,
     "INVALID_PARAMETER_VALUE", ["$.run_id: Input should be less than or equal"]),
    ("a job id past 64 bits in a path", "GET",
     "/api/2.0/permissions/jobs/-686176433237914058565353472/permissionLevels", None, 400,
     "INVALID_PARAMETER_VALUE", ["path parameter job_id: Input should be greater than"]),
    ("a start time before 1970", "GET", "/api/2.1/jobs/runs/list?start_time_from=-2305843009213693951",
     None, 400, "INVALID_PARAMETER_VALUE", ["query parameter start_time_from"]),
    ("a start time past year 9999", "GET", "/api/2.2/jobs/runs/list?start_time_to=99999999999999999",
     None, 400, "INVALID_PARAMETER_VALUE", ["query parameter start_time_to"]),
    ("an offset past 64 bits", "GET", "/api/2.2/jobs/runs/list?offset=9223372036854775808", None,
     400, "INVALID_PARAMETER_VALUE", ["query parameter offset"]),
    ("a page token with a non-ASCII digit", "GET", "/api/2.2/jobs/list?page_token=aHcxOsKy", None,
     400, "INVALID_PARAMETER_VALUE", ["is not a token this server gave"]),
    ("a page token past 32 bits", "GET",  # hw1:2147483648
     "/api/2.2/jobs/list?page_token=aHcxOjIxNDc0ODM2NDg=", None, 400,
     "INVALID_PARAMETER_VALUE", ["is not a token this server gave"]),
    ("a timeout past 32 bits", "POST", "/api/2.2/jobs/create",
     b'{"name": "x", "timeout_seconds": 99999999999999999999999, "tasks": []}', 400,
     "INVALID_PARAMETER_VALUE", ["$.timeout_seconds"]),
    ("a task's retries past 32 bits", "POST", "/api/2.2/jobs/create",
     b'{"name": "x", "tasks": [{"task_key": "a", "max_retries": 99999999999999999999, '
     b'"shell_command_task": {"command": "true"}}]}', 400,
     "INVALID_PARAMETER_VALUE", ["$.tasks[0].max_retries"]),
    ("a submit's run_name not a string", "POST", "/api/2.2/jobs/runs/submit",
     b'{"run_name": 5, "tasks": [{"task_key": "a", "shell_command_task": {"command": "true"}}]}',
     400, "INVALID_PARAMETER_VALUE", ["$.run_name: must be a string (got 5)"]),
    ("an unknown path", "GET", "/api/2.2/jobs/nothing", None, 404, "ENDPOINT_NOT_FOUND",
     ["No API found for 'GET /api/2.2/jobs/nothing'"]),
    ("a method a path does not take", "GET", "/api/2.2/jobs/create", None, 405,
     "METHOD_NOT_ALLOWED", ["does not take GET"]),
]


@pytest.mark.parametrize(("method", "path", "raw", "status", "code", "phrases"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_client_mistake_is_a_located_4xx(server: Server, admin: str, method: str, path: str,
                                           raw: bytes | None, status: int, code: str,
                                           phrases: list[str]) -> None:
    reply = server.call(method, path, raw=raw, token=admin)

    check(reply, status, code, *phrases)


def test_a_made_up_page_token_of_a_job_is_refused(server: Server, admin: str,
                                                  job_id: int) -> None:
    reply = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}&page_token=aHdwYWdlMTrCsg==",
                        token=admin)  # "hwpage1:²": int() took the superscript as a digit

    check(reply, 400, "INVALID_PARAMETER_VALUE", "is not a token this server gave")


def test_repairing_a_run_in_progress_is_invalid_state(server: Server, admin: str,
                                                      tmp_path_factory: Any) -> None:
    gate = tmp_path_factory.mktemp("gate") / "go"
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "slow", "tasks": [
        {"task_key": "t", "shell_command_task": {
            "command": f"while [ ! -e {gate} ]; do sleep 0.1; done"}}]}, token=admin).body
    run = server.call("POST", "/api/2.2/jobs/run-now", job, token=admin).body

    reply = server.call("POST", "/api/2.2/jobs/runs/repair",
                        {"run_id": run["run_id"], "rerun_all_failed_tasks": True}, token=admin)
    gate.touch()

    check(reply, 400, "INVALID_STATE", "still in progress")


def test_every_answer_names_its_request(server: Server, admin: str, job_id: int) -> None:
    first = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}", token=admin)
    second = server.call("GET", "/api/2.2/jobs/get?job_id=424242", token=admin)

    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert len(first.headers["x-request-id"]) == 16


def test_the_openapi_document_names_every_endpoint(server: Server) -> None:
    paths = server.call("GET", "/openapi.json").body["paths"]

    for version in ("2.1", "2.2"):
        for name in ("create", "get", "list", "reset", "update", "delete", "run-now",
                     "runs/submit", "runs/get", "runs/get-output", "runs/list", "runs/cancel",
                     "runs/cancel-all", "runs/repair", "runs/delete", "runs/export"):
            assert f"/api/{version}/jobs/{name}" in paths
    assert "/api/2.0/permissions/jobs/{job_id}/permissionLevels" in paths


def test_a_webhook_destination_the_server_lacks_is_refused_where_it_is_named(
        tmp_path: Path) -> None:
    # Given a server whose headwater.yml defines one destination
    (tmp_path / "headwater.yml").write_text(
        "destinations:\n  ops-hook: {type: webhook, url: 'http://127.0.0.1:9/hook'}\n")
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}").start()
    try:
        token = server.token("ann")
        job = {"name": "j", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}]}
        misspelt = {**job, "webhook_notifications": {"on_failure": [{"id": "ops-hok"}]}}

        refused = server.call("POST", "/api/2.2/jobs/create", misspelt, token=token)
        submitted = server.call("POST", "/api/2.2/jobs/runs/submit",
                                {**misspelt, "run_name": "r"}, token=token)
        made = server.call("POST", "/api/2.2/jobs/create", job, token=token).body
        updated = server.call("POST", "/api/2.2/jobs/update", {
            "job_id": made["job_id"], "new_settings": {
                "webhook_notifications": misspelt["webhook_notifications"]}}, token=token)
        named = {**job, "webhook_notifications": {"on_failure": [{"id": "ops-hook"}]}}
        accepted = server.call("POST", "/api/2.2/jobs/create", named, token=token)
    finally:
        server.close()

    assert refused.status == 400 and refused.body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "$.webhook_notifications.on_failure[0].id" in refused.body["message"]
    assert "did you mean 'ops-hook'" in refused.body["message"]
    assert submitted.status == 400 and "ops-hok" in submitted.body["message"]
    assert updated.status == 400
    assert "$.new_settings.webhook_notifications.on_failure[0].id" in updated.body["message"]
    assert accepted.status == 200
