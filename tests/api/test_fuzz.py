"""Every operation of the API, fuzzed from its own OpenAPI document (schemathesis): whatever a
client sends, the answer is never a 5xx, and every refusal is a Databricks error
(`{"error_code", "message"}` with the status the Jobs API gives that code).

A real `headwater server` on loopback over SQLite (`HEADWATER_FUZZ_STORE=postgresql`: over
PostgreSQL). Each operation gets `HEADWATER_FUZZ_EXAMPLES` generated requests (20 by default,
a few seconds an operation; `make fuzz` runs 200 on each store). Ids in the generated requests are pointed, half the time, at a job and
a run that exist, so that the requests reach past "does not exist" into the service.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from tests.servers import Server, database_url, wait_for

from headwater.api.app import create_app
from headwater.api.errors import STATUSES, status_for

EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "20"))
UNAUTHENTICATED_EXAMPLES = 3
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
JOB = {"name": "fuzzed", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}]}
FORM_REFUSALS = re.compile("the request body is not valid JSON|holds a NUL character")
# Answered without a token: the SDK's probe, and the health check of load balancers.
OPEN = ("/.well-known/databricks-config", "/api/health")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without rates that matter: a 429 would only waste generated requests (and
    every request without a token is a failed authentication)."""
    folder = tmp_path_factory.mktemp("fuzzed")
    db_url = database_url(os.environ.get("HEADWATER_FUZZ_STORE", "sqlite"), folder)
    found = Server(folder, db_url, extra_args=("--rate-limit", "100000",
                                               "--failed-auth-limit", "1000000")).start()
    yield found
    found.close()


@pytest.fixture(scope="module")
def known(server: Server, admin: str) -> dict[str, list[int]]:
    """A job and an ended run of it, for the generated requests to aim at."""
    job_id = server.call("POST", "/api/2.2/jobs/create", JOB, token=admin).body["job_id"]
    run_id = server.call("POST", "/api/2.2/jobs/run-now", {"job_id": job_id},
                         token=admin).body["run_id"]
    wait_for(lambda: server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}",
                                 token=admin).body["state"]["life_cycle_state"] == "TERMINATED",
             what="the seed run to end")
    return {"job_id": [job_id], "run_id": [run_id]}


def served_document() -> dict[str, Any]:
    """The OpenAPI document `headwater server` serves at /openapi.json, built here at
    collection time (the routes need no store to describe themselves); a test below holds
    that the server serves this very document."""
    return create_app(None).openapi()  # type: ignore[arg-type]


schema = schemathesis.openapi.from_dict(served_document())


@schemathesis.serializer("application/gzip")
def archive_body(context: Any, value: Any) -> bytes:
    """A deploy's archive of files: whatever bytes (or text) the fuzzer draws, sent as they
    are, so that the server meets what is not an archive at all."""
    return value if isinstance(value, bytes) else str(value).encode()


def test_the_fuzzed_document_is_the_one_the_server_serves(server: Server) -> None:
    assert server.call("GET", "/openapi.json").body == served_document()


def aim(case: Case, known: dict[str, list[int]]) -> None:
    """Point an even generated `job_id` or `run_id` at one that exists (deterministic in the
    drawn value, so that a failure shrinks and replays as it was found)."""
    body = case.body if isinstance(case.body, dict) else None
    for part in (case.query, case.path_parameters, body):
        for name, values in known.items():
            value = part.get(name) if part else None
            if part is not None and isinstance(value, int) and value % 2 == 0:
                part[name] = values[value // 2 % len(values)]


def assert_databricks_answer(status: int, body: Any, text: str, path: str) -> None:
    """Not a server error; a refusal is `{"error_code", "message"}` whose status is the one the
    API gives that code on that path."""
    assert status < 500, f"{status}: {text}"
    if status < 400:
        return
    assert isinstance(body, dict) and set(body) == {"error_code", "message"}, f"{status}: {text}"
    assert isinstance(body["message"], str) and body["message"], text
    assert body["error_code"] in STATUSES, f"{status}: {text}"
    assert status_for(body["error_code"], path) == status, f"{status}: {text}"


def answer(server: Server, case: Case, token: str | None) -> tuple[int, Any, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call(base_url=server.url, headers=headers, timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body, response.text


@schema.parametrize()
@FUZZ
def test_no_input_makes_the_api_fail_or_answer_outside_the_databricks_shape(
        case: Case, server: Server, admin: str, known: dict[str, list[int]]) -> None:
    aim(case, known)
    assert_databricks_answer(*answer(server, case, admin), case.path)


@schema.parametrize()
@settings(FUZZ, max_examples=UNAUTHENTICATED_EXAMPLES)
def test_without_a_token_every_operation_but_the_open_ones_is_refused_401(
        case: Case, server: Server) -> None:
    status, body, text = answer(server, case, None)
    assert_databricks_answer(status, body, text, case.path)
    if case.method.upper() != case.operation.method.upper():  # the fuzzer tries other verbs
        assert (status, body["error_code"]) == (405, "METHOD_NOT_ALLOWED"), text
    elif case.path in OPEN:
        assert status == 200, text
    elif status == 400:  # a request's form (a body that is not JSON, a NUL in its text) is
        # refused as it is read, before the token: it tells nothing about any job or run
        assert FORM_REFUSALS.search(body["message"]), text
    else:  # nothing about any job or run leaks to a caller without a token
        assert (status, body["error_code"]) == (401, "UNAUTHENTICATED"), text
