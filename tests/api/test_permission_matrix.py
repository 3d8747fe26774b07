"""Every endpoint by every kind of caller gives the status Databricks' job permissions give:
no token and a bad token 401, no permission 403, and from CAN_VIEW up to admin, what each
level allows (core/permissions.py has the table). One server; each case one request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tests.servers import Server, wait_for

CALLERS = ("no token", "bad token", "no permission", "CAN_VIEW", "CAN_MANAGE_RUN",
           "CAN_MANAGE", "owner", "admin")
USERS = {"no permission": "nora", "CAN_VIEW": "vic", "CAN_MANAGE_RUN": "rita",
         "CAN_MANAGE": "manny", "owner": "olivia"}
GRANTS = [{"user_name": USERS[level], "permission_level": level}
          for level in ("CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE")] + [
    {"user_name": "olivia", "permission_level": "IS_OWNER"}]
NOTEBOOK = "# Databricks notebook source\ndbutils.notebook.exit('done')\n"

# The least level each kind of request needs on the job; None: any user with a token.
EVERYONE, VIEW, RUN, MANAGE = None, "CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE"
ORDER = ["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "owner", "admin"]


@dataclass
class World:
    """A job the callers hold levels on, an ended run of it, and the tokens."""

    server: Server
    admin: str
    tokens: dict[str, str]
    job_id: int
    run_id: int
    task_run_id: int
    settings: dict[str, Any]

    def as_admin(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.server.call(method, path, body, token=self.admin)
        assert reply.status == 200, reply.text
        return reply.body

    def fresh_job(self) -> int:
        return int(self.as_admin("POST", "/api/2.2/jobs/create", {
            **self.settings, "access_control_list": GRANTS})["job_id"])

    def ended_run(self) -> int:
        """A run of a fresh job of one quick task, once it has ended."""
        job_id = self.as_admin("POST", "/api/2.2/jobs/create", {
            "name": "quick", "tasks": [{"task_key": "t", "shell_command_task": {
                "command": "true"}}], "access_control_list": GRANTS})["job_id"]
        run_id = int(self.as_admin("POST", "/api/2.2/jobs/run-now", {"job_id": job_id})["run_id"])
        wait_for(lambda: self.as_admin("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}")[
            "state"]["life_cycle_state"] == "TERMINATED", what=f"run {run_id} to end")
        return run_id

    def skipped_run(self) -> int:
        """An ended run of a fresh job (skipped: the job allows no run), at once."""
        job_id = self.as_admin("POST", "/api/2.2/jobs/create", {
            **self.settings, "max_concurrent_runs": 0, "access_control_list": GRANTS})["job_id"]
        return int(self.as_admin("POST", "/api/2.2/jobs/run-now", {"job_id": job_id})["run_id"])


@pytest.fixture(scope="module")
def world(server: Server, admin: str) -> World:
    notebook = server.workdir / "done.py"
    notebook.write_text(NOTEBOOK)
    settings = {"name": "guarded", "max_concurrent_runs": 10, "tasks": [
        {"task_key": "t", "notebook_task": {"notebook_path": str(notebook)}}]}
    tokens = {kind: server.token(user) for kind, user in USERS.items()}
    tokens["admin"] = admin
    tokens["bad token"] = "dapi0000000000000000000000000000000"
    created = World(server, admin, tokens, 0, 0, 0, settings)
    created.job_id = created.fresh_job()
    created.run_id = int(created.as_admin("POST", "/api/2.2/jobs/run-now",
                                          {"job_id": created.job_id})["run_id"])

    def ended() -> Any:
        run = created.as_admin("GET", f"/api/2.2/jobs/runs/get?run_id={created.run_id}")
        return run if run["state"]["life_cycle_state"] == "TERMINATED" else None

    created.task_run_id = wait_for(ended, what="the run to end")["tasks"][0]["run_id"]
    return created


Request = Callable[[World], tuple[str, str, Any]]


def _case(need: str | None, method: str, path: str,
          body: Callable[[World], Any] | None = None) -> tuple[str | None, Request]:
    def request(w: World) -> tuple[str, str, Any]:
        ids = {"job": w.job_id, "run": w.run_id, "task_run": w.task_run_id}
        return method, path.format(**ids), body(w) if body else None
    return need, request


ENDPOINTS: dict[str, tuple[str | None, Request]] = {
    "jobs/create": _case(EVERYONE, "POST", "/api/2.2/jobs/create", lambda w: w.settings),
    "jobs/list": _case(EVERYONE, "GET", "/api/2.2/jobs/list"),
    "jobs/get": _case(VIEW, "GET", "/api/2.2/jobs/get?job_id={job}"),
    "jobs/reset": _case(MANAGE, "POST", "/api/2.2/jobs/reset",
                        lambda w: {"job_id": w.job_id, "new_settings": w.settings}),
    "jobs/update": _case(MANAGE, "POST", "/api/2.1/jobs/update",
                         lambda w: {"job_id": w.job_id, "new_settings": {"tags": {"a": "b"}}}),
    "jobs/delete": _case(MANAGE, "POST", "/api/2.2/jobs/delete",
                         lambda w: {"job_id": w.fresh_job()}),
    "jobs/run-now": _case(RUN, "POST", "/api/2.2/jobs/run-now", lambda w: {"job_id": w.job_id}),
    "runs/submit": _case(EVERYONE, "POST", "/api/2.2/jobs/runs/submit",
                         lambda w: {"tasks": w.settings["tasks"]}),
    "runs/get": _case(VIEW, "GET", "/api/2.2/jobs/runs/get?run_id={run}"),
    "runs/get of a task run": _case(VIEW, "GET", "/api/2.1/jobs/runs/get?run_id={task_run}"),
    "runs/get-output": _case(VIEW, "GET", "/api/2.2/jobs/runs/get-output?run_id={task_run}"),
    "runs/list": _case(EVERYONE, "GET", "/api/2.2/jobs/runs/list"),
    "runs/export": _case(RUN, "GET", "/api/2.2/jobs/runs/export?run_id={task_run}"),
    "runs/cancel": _case(RUN, "POST", "/api/2.2/jobs/runs/cancel",
                         lambda w: {"run_id": w.run_id}),
    "runs/cancel-all": _case(RUN, "POST", "/api/2.2/jobs/runs/cancel-all",
                             lambda w: {"job_id": w.job_id}),
    "runs/repair": _case(RUN, "POST", "/api/2.2/jobs/runs/repair",
                         lambda w: {"run_id": w.ended_run(), "rerun_tasks": ["t"]}),
    "runs/delete": _case(MANAGE, "POST", "/api/2.2/jobs/runs/delete",
                         lambda w: {"run_id": w.skipped_run()}),
    "permissions GET": _case(VIEW, "GET", "/api/2.0/permissions/jobs/{job}"),
    "permissions PUT": _case(MANAGE, "PUT", "/api/2.0/permissions/jobs/{job}",
                             lambda w: {"access_control_list": GRANTS}),
    "permissions PATCH": _case(MANAGE, "PATCH", "/api/2.0/permissions/jobs/{job}",
                               lambda w: {"access_control_list": GRANTS[:1]}),
    "permission levels": _case(VIEW, "GET", "/api/2.0/permissions/jobs/{job}/permissionLevels"),
    "scim Me": _case(EVERYONE, "GET", "/api/2.0/preview/scim/v2/Me"),
}


def expected(need: str | None, caller: str) -> int:
    if caller in ("no token", "bad token"):
        return 401
    if need is None:
        return 200
    if caller == "no permission":
        return 403
    return 200 if ORDER.index(caller) >= ORDER.index(need) else 403


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_caller_gets_what_its_level_allows(world: World, endpoint: str,
                                                 caller: str) -> None:
    need, request = ENDPOINTS[endpoint]
    method, path, body = request(world)

    reply = world.server.call(method, path, body, token=world.tokens.get(caller))

    assert reply.status == expected(need, caller), reply.text
    if reply.status != 200:
        assert set(reply.body) == {"error_code", "message"}
        assert reply.body["error_code"] == {401: "UNAUTHENTICATED",
                                            403: "PERMISSION_DENIED"}[reply.status]


def test_the_probe_needs_no_token(server: Server) -> None:
    reply = server.call("GET", "/.well-known/databricks-config")

    assert (reply.status, reply.body) == (200, {})


def test_lists_show_only_what_the_caller_may_view(world: World) -> None:
    nora = world.tokens["no permission"]
    own = world.server.call("POST", "/api/2.2/jobs/create", world.settings, token=nora).body
    world.server.call("POST", "/api/2.2/jobs/run-now", own, token=nora)

    jobs = world.server.call("GET", "/api/2.2/jobs/list?limit=100", token=nora).body["jobs"]
    runs = world.server.call("GET", "/api/2.2/jobs/runs/list", token=nora).body["runs"]
    everything = world.server.call("GET", "/api/2.2/jobs/runs/list", token=world.admin).body

    assert own["job_id"] in [job["job_id"] for job in jobs]
    assert {job["creator_user_name"] for job in jobs} == {"nora"}
    assert {run["creator_user_name"] for run in runs} == {"nora"}
    assert {run["creator_user_name"] for run in everything["runs"]} > {"nora"}
