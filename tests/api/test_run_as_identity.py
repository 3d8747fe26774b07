"""Who a job runs as is guarded as in Lakeflow: a non-admin may name only themselves as its
`run_as` or its owner (who runs it when `run_as` is unset); an admin may name anyone, and
what a job has already stays through later edits by its managers."""

from __future__ import annotations

from typing import Any

import pytest
from tests.servers import Server, wait_for

TASKS = [{"task_key": "t", "shell_command_task": {"command": "true"}}]


def call(server: Server, token: str, method: str, path: str, body: Any = None) -> Any:
    return server.call(method, f"/api/2.2/jobs/{path}" if not path.startswith("/") else path,
                       body, token=token)


def refused(reply: Any, *words: str) -> None:
    assert reply.status == 403, reply.text
    assert reply.body["error_code"] == "PERMISSION_DENIED"
    assert all(word in reply.body["message"] for word in words), reply.body["message"]


@pytest.fixture(scope="module")
def ann(server: Server) -> str:
    for known in ("bob", "carl"):  # users the permissions API may name: they have tokens
        server.token(known)
    return server.token("ann")


def test_a_non_admin_may_make_a_job_run_only_as_themselves(server: Server, ann: str) -> None:
    as_bob = call(server, ann, "POST", "create", {
        "name": "as_bob", "tasks": TASKS, "run_as": {"user_name": "bob"}})
    refused(as_bob, "run_as: only an admin may make a job run as another user (bob)",
            "name yourself (ann)")
    owned_by_bob = call(server, ann, "POST", "create", {
        "name": "owned_by_bob", "tasks": TASKS,
        "access_control_list": [{"user_name": "bob", "permission_level": "IS_OWNER"}]})
    refused(owned_by_bob, "another user (bob) the owner", "grant bob CAN_MANAGE instead")
    submitted = call(server, ann, "POST", "runs/submit", {
        "tasks": TASKS, "access_control_list": [
            {"user_name": "bob", "permission_level": "IS_OWNER"}]})
    refused(submitted, "another user (bob) the owner")

    own = call(server, ann, "POST", "create", {
        "name": "as_ann", "tasks": TASKS, "run_as": {"user_name": "ann"}})
    assert own.status == 200
    assert call(server, ann, "GET", f"get?job_id={own.body['job_id']}").body[
        "run_as_user_name"] == "ann"
    listed = {job["settings"]["name"] for job in call(server, ann, "GET", "list").body["jobs"]}
    assert "as_ann" in listed and not listed & {"as_bob", "owned_by_bob"}  # none stored


def test_what_an_admin_set_stays_through_a_manager_s_edits_and_no_further(
        server: Server, admin: str, ann: str) -> None:
    job_id = call(server, admin, "POST", "create", {
        "name": "nightly", "tasks": TASKS, "run_as": {"user_name": "bob"},
        "access_control_list": [{"user_name": "ann", "permission_level": "CAN_MANAGE"}],
    }).body["job_id"]

    assert call(server, ann, "POST", "update", {
        "job_id": job_id, "new_settings": {"description": "nightly load"}}).status == 200
    assert call(server, ann, "POST", "reset", {"job_id": job_id, "new_settings": {
        "name": "nightly", "tasks": TASKS, "run_as": {"user_name": "bob"}}}).status == 200
    assert call(server, ann, "POST", "reset", {"job_id": job_id, "new_settings": {
        "name": "nightly", "tasks": TASKS}}).status == 200  # reset keeps run_as
    refused(call(server, ann, "POST", "update", {
        "job_id": job_id, "new_settings": {"run_as": {"user_name": "carl"}}}), "(carl)")
    refused(call(server, ann, "POST", "reset", {"job_id": job_id, "new_settings": {
        "name": "nightly", "tasks": TASKS, "run_as": {"service_principal_name": "etl-sp"}}}),
        "(etl-sp)")
    assert call(server, ann, "GET", f"get?job_id={job_id}").body["run_as_user_name"] == "bob"


def test_only_an_admin_may_hand_a_job_to_another_owner_who_then_runs_it(
        server: Server, admin: str, ann: str) -> None:
    job_id = call(server, ann, "POST", "create", {"name": "handed", "tasks": TASKS}).body[
        "job_id"]
    permissions = f"/api/2.0/permissions/jobs/{job_id}"
    to_bob = {"access_control_list": [{"user_name": "bob", "permission_level": "IS_OWNER"}]}

    refused(call(server, ann, "PUT", permissions, to_bob), "another user (bob) the owner")
    refused(call(server, ann, "PATCH", permissions, to_bob), "another user (bob) the owner")
    kept = call(server, ann, "PUT", permissions, {"access_control_list": [
        {"user_name": "carl", "permission_level": "CAN_VIEW"}]})
    assert kept.status == 200  # the owner stays ann: nothing to guard

    assert call(server, admin, "PUT", permissions, to_bob).status == 200
    assert call(server, admin, "GET", f"get?job_id={job_id}").body["run_as_user_name"] == "bob"
    listed = call(server, admin, "GET", "list?name=handed").body["jobs"]
    assert [job["run_as_user_name"] for job in listed] == ["bob"]  # as jobs/get says
    run_id = call(server, admin, "POST", "run-now", {"job_id": job_id}).body["run_id"]
    wait_for(lambda: "result_state" in call(server, admin, "GET", f"runs/get?run_id={run_id}")
             .body["state"], what="the run to end")
    assert call(server, admin, "GET", f"runs/get?run_id={run_id}").body["headwater"][
        "run_as"] == "bob"


def test_the_permissions_api_refuses_two_owners_and_unknown_users(
        server: Server, admin: str, ann: str) -> None:
    job_id = call(server, ann, "POST", "create", {"name": "one_owner", "tasks": TASKS}).body[
        "job_id"]
    permissions = f"/api/2.0/permissions/jobs/{job_id}"
    before = call(server, admin, "GET", permissions).body
    two_owners = {"access_control_list": [
        {"user_name": "bob", "permission_level": "IS_OWNER"},
        {"user_name": "carl", "permission_level": "CAN_VIEW"},
        {"user_name": "ann", "permission_level": "IS_OWNER"}]}
    unknown = {"access_control_list": [
        {"user_name": "bob", "permission_level": "CAN_VIEW"},
        {"user_name": "nobody@nowhere", "permission_level": "IS_OWNER"},
        {"service_principal_name": "1234-abcd", "permission_level": "CAN_VIEW"}]}

    for method in ("PUT", "PATCH"):
        owners = call(server, admin, method, permissions, two_owners)
        strangers = call(server, admin, method, permissions, unknown)

        assert owners.status == 400 and owners.body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert ("a job has exactly one owner, but 2 entries are IS_OWNER "
                "(access_control_list[0], access_control_list[2])") in owners.body["message"]
        assert strangers.status == 400, strangers.text
        assert "access_control_list[1]: unknown user or service principal 'nobody@nowhere'" \
            in strangers.body["message"]
        assert "access_control_list[2]: unknown user or service principal '1234-abcd'" \
            in strangers.body["message"]
        assert "access_control_list[0]" not in strangers.body["message"]  # bob has a token
    assert call(server, admin, "GET", permissions).body == before
