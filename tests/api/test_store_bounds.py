"""What the store cannot hold is a located 400, on SQLite and on PostgreSQL: a NUL character
(U+0000) in any text of a request, an id past 64 bits. Each of these was a 500 on PostgreSQL,
found by fuzzing. Every route takes int64 ids, as Databricks gives them: one past 32 bits
(PostgreSQL's INTEGER) names nothing, answered as any unknown id, and the store is not
asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.servers import Server, database_url

from headwater.api.nul import nul_in, nul_in_query

JOB = {"name": "ok", "tasks": [{"task_key": "a", "shell_command_task": {"command": "true"}}]}
CASES = [
    ("POST", "/api/2.2/jobs/create", {**JOB, "name": "a\x00b"}, "$.name"),
    ("POST", "/api/2.2/jobs/run-now", {"job_id": 1, "idempotency_token": "\x00"},
     "$.idempotency_token"),
    ("POST", "/api/2.2/jobs/runs/submit",
     {"run_name": "r", "tasks": [{"task_key": "a\x00", "shell_command_task": {"command": "true"}}]},
     "$.tasks[0].task_key"),
    ("PUT", "/api/2.0/permissions/jobs/1",
     {"access_control_list": [{"user_name": "b\x00", "permission_level": "CAN_VIEW"}]},
     "$.access_control_list[0].user_name"),
    ("POST", "/api/2.2/jobs/run-now", {"job_id": 1, "job_parameters": {"k\x00": "v"}},
     "$.job_parameters.k\\u0000"),
    ("GET", "/api/2.2/jobs/list?name=a%00", None, "query parameter name"),
    ("GET", "/api/2.2/headwater/deploy?deployment_key=%00", None,
     "query parameter deployment_key"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_server(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(request.param)
    found = Server(folder, database_url(request.param, folder)).start()
    yield found
    found.close()


@pytest.mark.parametrize(("method", "path", "body", "where"), CASES,
                         ids=[case[3] for case in CASES])
def test_a_nul_in_a_request_is_a_located_400(store_server: Server, method: str, path: str,
                                             body: object, where: str) -> None:
    token = store_server.token("root", admin=True)
    store_server.call("POST", "/api/2.2/jobs/create", JOB, token=token)  # job 1 exists

    reply = store_server.call(method, path, body, token=token)

    assert (reply.status, reply.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), \
        reply.text
    assert reply.body["message"].startswith(f"{where}: holds a NUL character"), reply.text


INT64_MAX = 2**63 - 1
BACKFILL = {"start": "2026-01-01", "end": "2026-01-03"}
ID_CASES = [  # past what an id can be: 64 bits, on every route
    ("GET", f"/api/2.2/jobs/get?job_id={INT64_MAX + 1}", None, "query parameter job_id"),
    ("GET", "/api/2.2/jobs/runs/list?job_id=99999999999999999999999", None,
     "query parameter job_id"),
    ("POST", "/api/2.2/jobs/runs/cancel", {"run_id": 2**70}, "$.run_id"),
    ("POST", "/api/2.2/jobs/runs/cancel", {"run_id": -INT64_MAX - 2}, "$.run_id"),
    ("GET", "/api/2.2/jobs/list?offset=99999999999999999999999", None, "query parameter offset"),
    ("GET", f"/api/2.0/permissions/jobs/{INT64_MAX + 1}", None, "path parameter job_id"),
    ("GET", f"/api/2.2/headwater/runs/logs?run_id={INT64_MAX + 1}", None,
     "query parameter run_id"),
    ("POST", "/api/2.2/headwater/backfill", {**BACKFILL, "job_id": INT64_MAX + 1}, "$.job_id"),
    ("POST", "/api/2.2/headwater/backfill/cancel", {"backfill_id": INT64_MAX + 1},
     "$.backfill_id"),
    ("DELETE", f"/api/2.0/git-credentials/{INT64_MAX + 1}", None,
     "path parameter credential_id"),
]


@pytest.mark.parametrize(("method", "path", "body", "where"), ID_CASES,
                         ids=[f"{case[1]} {case[3]}" for case in ID_CASES])
def test_an_id_past_what_it_can_be_is_a_located_400(store_server: Server, method: str,
                                                    path: str, body: object, where: str) -> None:
    token = store_server.token("root", admin=True)

    reply = store_server.call(method, path, body, token=token)

    assert (reply.status, reply.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), \
        reply.text
    assert reply.body["message"].startswith(f"{where}: Input should be"), reply.text


def test_the_largest_id_is_asked_for_and_does_not_exist(store_server: Server) -> None:
    token = store_server.token("root", admin=True)

    reply = store_server.call("GET", "/api/2.2/jobs/get?job_id=2147483647", token=token)

    assert (reply.status, reply.body["message"]) == (400, "Job 2147483647 does not exist.")


UNKNOWN_ID_CASES = [  # an int64 id past the store's 32 bits, as a Databricks id may be
    ("GET", f"/api/2.2/jobs/get?job_id={INT64_MAX}", None, f"Job {INT64_MAX} does not exist."),
    ("POST", "/api/2.2/jobs/delete", {"job_id": 2**31}, "Job 2147483648 does not exist."),
    ("POST", "/api/2.2/jobs/reset", {"job_id": 2**31, "new_settings": JOB},
     "Job 2147483648 does not exist."),
    ("POST", "/api/2.2/jobs/update", {"job_id": 2**31, "new_settings": {"name": "n"}},
     "Job 2147483648 does not exist."),
    ("POST", "/api/2.2/jobs/run-now", {"job_id": 2**40}, "Job 1099511627776 does not exist."),
    ("POST", "/api/2.2/jobs/runs/cancel-all", {"job_id": 2**31}, "Job 2147483648 does not exist."),
    ("GET", "/api/2.2/jobs/runs/get?run_id=99999999999", None, "Run 99999999999 does not exist."),
    ("GET", "/api/2.2/jobs/runs/get-output?run_id=2147483648", None,
     "Run 2147483648 does not exist."),
    ("GET", "/api/2.2/jobs/runs/export?run_id=2147483648", None, "Run 2147483648 does not exist."),
    ("POST", "/api/2.2/jobs/runs/cancel", {"run_id": INT64_MAX},
     f"Run {INT64_MAX} does not exist."),
    ("POST", "/api/2.2/jobs/runs/cancel", {"run_id": -INT64_MAX - 1},
     f"Run {-INT64_MAX - 1} does not exist."),
    ("POST", "/api/2.2/jobs/runs/delete", {"run_id": 2**31}, "Run 2147483648 does not exist."),
    ("POST", "/api/2.2/jobs/runs/repair", {"run_id": 2**31, "rerun_all_failed_tasks": True},
     "Run 2147483648 does not exist."),
]


def _not_found_outside_the_jobs_api(number: int) -> list[tuple[str, str, object, str]]:
    """A request for `number` to each route outside the Jobs API that takes an id, and its
    answer for an unknown id."""
    job, run = f"Job {number} does not exist.", f"Run {number} does not exist."
    credential = f"Git credential {number} does not exist."
    return [
        ("GET", f"/api/2.0/permissions/jobs/{number}", None, job),
        ("GET", f"/api/2.0/permissions/jobs/{number}/permissionLevels", None, job),
        ("PUT", f"/api/2.0/permissions/jobs/{number}", {"access_control_list": []}, job),
        ("PATCH", f"/api/2.0/permissions/jobs/{number}", {"access_control_list": []}, job),
        ("POST", "/api/2.2/headwater/backfill", {**BACKFILL, "job_id": number}, job),
        ("POST", "/api/2.2/headwater/backfill", {**BACKFILL, "job_id": number, "dry_run": True},
         job),
        ("POST", "/api/2.2/headwater/backfill/cancel", {"backfill_id": number},
         f"Backfill {number} does not exist."),
        ("GET", f"/api/2.0/git-credentials/{number}", None, credential),
        ("PATCH", f"/api/2.0/git-credentials/{number}", {"git_provider": "gitHub"}, credential),
        ("DELETE", f"/api/2.0/git-credentials/{number}", None, credential),
        ("GET", f"/api/2.2/headwater/runs/logs?run_id={number}", None, run),
    ]


# Each request for an id past the store, and its route's answer for an unknown id: the Jobs
# API's 400 `INVALID_PARAMETER_VALUE`, the other routes' 404 `RESOURCE_DOES_NOT_EXIST`.
ANSWERED_CASES = [
    *((*case, 400, "INVALID_PARAMETER_VALUE") for case in UNKNOWN_ID_CASES),
    *((*case, 404, "RESOURCE_DOES_NOT_EXIST") for number in (2**40, INT64_MAX, -INT64_MAX - 1)
      for case in _not_found_outside_the_jobs_api(number)),
]


@pytest.mark.parametrize(("method", "path", "body", "message", "status", "code"),
                         ANSWERED_CASES,
                         ids=[f"{case[0]} {case[1]} {case[2]}" for case in ANSWERED_CASES])
def test_an_int64_id_past_the_store_names_nothing_as_any_unknown_id(
        store_server: Server, method: str, path: str, body: object, message: str,
        status: int, code: str) -> None:
    token = store_server.token("root", admin=True)

    reply = store_server.call(method, path, body, token=token)

    assert (reply.status, reply.body) == (
        status, {"error_code": code, "message": message}), reply.text


@pytest.mark.parametrize("path", [
    "/api/2.2/jobs/list?offset=99999999999",
    f"/api/2.2/jobs/list?offset={INT64_MAX}",
    f"/api/2.2/jobs/runs/list?offset={INT64_MAX}",
    f"/api/2.2/jobs/runs/list?job_id={INT64_MAX}",
])
def test_a_list_past_32_bits_is_an_empty_page(store_server: Server, path: str) -> None:
    token = store_server.token("root", admin=True)
    store_server.call("POST", "/api/2.2/jobs/create", JOB, token=token)  # a job to skip

    reply = store_server.call("GET", path, token=token)

    assert (reply.status, reply.body) == (200, {"has_more": False}), reply.text


def test_a_request_without_nul_goes_through_with_its_body(store_server: Server) -> None:
    token = store_server.token("root", admin=True)

    reply = store_server.call("POST", "/api/2.2/jobs/create", {**JOB, "name": "n\\u0000"},
                              token=token)  # an escaped backslash: the text \u0000, no NUL

    assert reply.status == 200, reply.text
    job = store_server.call("GET", f"/api/2.2/jobs/get?job_id={reply.body['job_id']}",
                            token=token).body
    assert job["settings"]["name"] == "n\\u0000"


def test_nul_is_found_anywhere_and_named_by_its_path() -> None:
    assert nul_in({"a": [{"b": "x"}, {"c": ["y", "z\x00"]}]}) == "$.a[1].c[1]"
    assert nul_in({"k\x00": 1}) == "$.k\\u0000"
    assert nul_in({"a": ["\\u0000", 0, None, True]}) is None
    assert nul_in_query(b"limit=5&name=a%00b") == "query parameter name"
    assert nul_in_query(b"name=%5Cu0000") is None
