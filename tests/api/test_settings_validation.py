"""Job settings the Jobs API refuses are refused over HTTP too (audit s37 A, S8 and S9): each a
400 `INVALID_PARAMETER_VALUE` naming the JSON path the caller sent, with every other problem of
the request in the same answer."""

from __future__ import annotations

from typing import Any

import pytest
from tests.servers import Server

SHELL = {"shell_command_task": {"command": "true"}}
JOB = {"name": "v", "tasks": [{"task_key": "t", **SHELL}]}


@pytest.fixture(scope="module")
def job_id(server: Server, admin: str) -> int:
    return int(server.call("POST", "/api/2.2/jobs/create", JOB, token=admin).body["job_id"])


def refused(reply: Any, *paths: str) -> list[str]:
    """The lines of a refusal's message, after checking that each of `paths` starts one."""
    assert (reply.status, reply.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), \
        reply.text
    lines = reply.body["message"].splitlines()[1:]
    for path in paths:
        assert any(line.startswith(f"{path}: ") for line in lines), reply.body["message"]
    return lines


# Numbers for strings, and one more mistake that the validation of job files finds
UNTYPED = {
    "tags": {"team": 5},
    "max_concurrent_runs": "2",
    "tasks": [
        {"task_key": "n", "notebook_task": {"notebook_path": "n.py", "base_parameters": {"a": 1}}},
        {"task_key": "p", "spark_python_task": {"python_file": "p.py", "parameters": [1, 2]}},
    ],
}
UNTYPED_PATHS = ("tags.team", "max_concurrent_runs", "tasks[0].notebook_task.base_parameters.a",
                 "tasks[1].spark_python_task.parameters[0]",
                 "tasks[1].spark_python_task.parameters[1]")


def test_numbers_for_strings_are_refused_in_every_body_with_the_other_problems(
        server: Server, admin: str, job_id: int) -> None:
    created = server.call("POST", "/api/2.2/jobs/create", UNTYPED, token=admin)
    reset = server.call("POST", "/api/2.2/jobs/reset",
                        {"job_id": job_id, "new_settings": UNTYPED}, token=admin)
    updated = server.call("POST", "/api/2.2/jobs/update",
                          {"job_id": job_id, "new_settings": UNTYPED}, token=admin)
    submitted = server.call("POST", "/api/2.2/jobs/runs/submit", UNTYPED, token=admin)

    lines = refused(created, *(f"$.{path}" for path in UNTYPED_PATHS))
    assert "$.tags.team: must be a string (got 5); put it in quotes" in lines
    refused(reset, *(f"$.new_settings.{path}" for path in UNTYPED_PATHS))
    refused(updated, *(f"$.new_settings.{path}" for path in UNTYPED_PATHS))
    refused(submitted, *(f"$.{path}" for path in UNTYPED_PATHS))
    job = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}", token=admin).body
    assert (job["settings"]["name"], job["settings"]["tags"]) == ("v", {})  # nothing saved


def test_an_update_with_only_a_number_for_a_string_is_not_saved(
        server: Server, admin: str, job_id: int) -> None:
    reply = server.call("POST", "/api/2.2/jobs/update",
                        {"job_id": job_id, "new_settings": {"tags": {"team": True}}}, token=admin)

    assert refused(reply) == ["$.new_settings.tags.team: must be a string (got true); put it in "
                              "quotes"]
    job = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}", token=admin).body
    assert job["settings"]["tags"] == {}


def test_a_job_cluster_without_new_cluster_and_run_as_with_two_principals_are_refused(
        server: Server, admin: str) -> None:
    body = {**JOB, "job_clusters": [{"job_cluster_key": "small"}],
            "run_as": {"user_name": "root", "service_principal_name": "robot"}}

    lines = refused(server.call("POST", "/api/2.2/jobs/create", body, token=admin),
                    "$.job_clusters[0]", "$.run_as")

    assert ("$.run_as: name exactly one of user_name, service_principal_name, group_name (got "
            "user_name and service_principal_name); keep only the one the job runs as") in lines


def test_inline_for_each_inputs_are_at_most_10000_characters(server: Server,
                                                             admin: str) -> None:
    def loop(inputs: str) -> dict[str, Any]:
        return {"name": "loop", "tasks": [{"task_key": "each", "for_each_task": {
            "inputs": inputs, "task": {"task_key": "one", **SHELL}}}]}

    longest = server.call("POST", "/api/2.2/jobs/create", loop('["' + "a" * 9996 + '"]'),
                          token=admin)
    too_long = server.call("POST", "/api/2.2/jobs/create", loop('["' + "a" * 9997 + '"]'),
                           token=admin)

    assert longest.status == 200, longest.text
    refused(too_long, "$.tasks[0].for_each_task.inputs")


def test_run_now_takes_only_true_or_false_to_queue(server: Server, admin: str,
                                                   job_id: int) -> None:
    reply = server.call("POST", "/api/2.2/jobs/run-now",
                        {"job_id": job_id, "queue": {"enabled": "yes"}}, token=admin)

    assert (reply.status, reply.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert reply.body["message"].startswith("$.queue.enabled: "), reply.text


@pytest.mark.parametrize("body", [{}, {"run_name": "empty", "tasks": []}])
def test_a_one_time_run_needs_a_task_a_job_does_not(server: Server, admin: str,
                                                    body: dict[str, Any]) -> None:
    reply = server.call("POST", "/api/2.2/jobs/runs/submit", body, token=admin)
    created = server.call("POST", "/api/2.2/jobs/create", {"name": "later", "tasks": []},
                          token=admin)

    assert refused(reply) == ["$.tasks: a one-time run needs at least one task; list what it "
                              "runs under tasks"]
    runs = server.call("GET", "/api/2.2/jobs/runs/list?run_type=SUBMIT_RUN", token=admin).body
    assert "runs" not in runs
    assert created.status == 200, created.text


def test_a_submit_s_run_name_is_named_as_sent_with_the_other_problems(
        server: Server, admin: str) -> None:
    body = {"run_name": 5, "tasks": [{"task_key": "t", "shell_command_task": {"command": 1}}]}

    lines = refused(server.call("POST", "/api/2.2/jobs/runs/submit", body, token=admin),
                    "$.run_name", "$.tasks[0].shell_command_task.command")

    assert "$.run_name: must be a string (got 5); put it in quotes" in lines
    assert not any(line.startswith("$.name") for line in lines)


def test_an_update_holds_to_typed_json_only_what_it_sends(server: Server, admin: str) -> None:
    # Given a job deployed from files (not held to the Jobs API's limit on a for-each's inline
    # inputs) whose second task loops over inputs past it
    loop = {"task_key": "each", "for_each_task": {"inputs": '["' + "a" * 9997 + '"]',
                                                  "task": {"task_key": "one", **SHELL}}}
    deployed = server.call("POST", "/api/2.2/headwater/deploy", {
        "deployment_key": "bundle/typed/dev/loop", "source": "/srv/typed/databricks.yml",
        "settings": {"name": "loop", "tasks": [{"task_key": "first", **SHELL}, loop]}},
        token=admin)
    assert deployed.status == 200, deployed.text
    job_id = deployed.body["job_id"]

    def update(new_settings: dict[str, Any]) -> Any:
        return server.call("POST", "/api/2.2/jobs/update",
                           {"job_id": job_id, "new_settings": new_settings}, token=admin)

    # When updates send other settings, a new task with a number for a string, the loop again
    described = update({"description": "loops"})
    added = update({"tasks": [{"task_key": "later", "shell_command_task": {
        "command": "true", "env": {"N": 1}}}]})
    resent = update({"tasks": [loop]})

    # Then the job's own inputs are no problem: only what each update sent is, named where
    # it was sent (the tasks it sends are the job's third and second)
    assert described.status == 200, described.text
    assert refused(added) == ["$.new_settings.tasks[0].shell_command_task.env.N: must be a "
                              "string (got 1); put it in quotes"]
    (line,) = refused(resent)
    assert line.startswith("$.new_settings.tasks[0].for_each_task.inputs: inputs is 10,001 "
                           "characters long"), line
    job = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}", token=admin).body
    assert [task["task_key"] for task in job["settings"]["tasks"]] == ["first", "each"]


def test_an_update_names_each_problem_where_it_was_sent_or_as_the_job_s_own(
        server: Server, admin: str) -> None:
    # Given a job of three tasks, the third after the second
    tasks = [{"task_key": "a", **SHELL}, {"task_key": "b", **SHELL},
             {"task_key": "c", "depends_on": [{"task_key": "b"}], **SHELL}]
    job_id = server.call("POST", "/api/2.2/jobs/create", {"name": "three", "tasks": tasks},
                         token=admin).body["job_id"]

    # When an update sends the first task with a bad retry count and a new task after an unknown
    # one, and removes the second task, on which the job's third depends
    reply = server.call("POST", "/api/2.2/jobs/update", {
        "job_id": job_id, "fields_to_remove": ["tasks/b"],
        "new_settings": {"tasks": [
            {"task_key": "a", "max_retries": "x", **SHELL},
            {"task_key": "d", "depends_on": [{"task_key": "nope"}], **SHELL}]}}, token=admin)

    # Then what it sent is named where it was sent (not as the merged job's second and third
    # task), and the dependency it broke as the job's own task
    lines = refused(reply, "$.new_settings.tasks[0].max_retries",
                    "$.new_settings.tasks[1].depends_on[0].task_key",
                    "the job's $.tasks[1].depends_on[0].task_key")
    assert not any(line.startswith(("$.new_settings.tasks[2]", "$.new_settings.tasks[3]"))
                   for line in lines), lines
    job = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}", token=admin).body
    assert [task["task_key"] for task in job["settings"]["tasks"]] == ["a", "b", "c"]


def test_a_job_reset_to_no_settings_is_untitled_as_on_databricks(
        server: Server, admin: str) -> None:
    """`name` defaults to "Untitled" in the Jobs API: a job that names itself nothing reads
    so in `jobs/get` and `jobs/list`, not with no name at all."""
    made = server.call("POST", "/api/2.2/jobs/create", JOB, token=admin).body["job_id"]

    reset = server.call("POST", "/api/2.2/jobs/reset", {"job_id": made, "new_settings": {}},
                        token=admin)

    assert reset.status == 200, reset.text
    got = server.call("GET", f"/api/2.2/jobs/get?job_id={made}", token=admin).body
    assert got["settings"]["name"] == "Untitled"
    listed = server.call("GET", "/api/2.2/jobs/list?limit=100", token=admin).body["jobs"]
    assert [j["settings"]["name"] for j in listed if j["job_id"] == made] == ["Untitled"]
