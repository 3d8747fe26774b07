"""A bundle's Run Job task names its child by `${resources.jobs.<key>.id}`: after a deploy to a
server, the real databricks-sdk reads the child's id in `jobs/get` and `runs/get`, as on
Databricks, and no empty legacy parameter (audit s37 C, s2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Server

from .conftest import Cli, sdk_client
from .test_client import client_env

BUNDLE = """\
bundle:
  name: family
resources:
  jobs:
    parent:
      name: parent
      tasks:
        - task_key: call_child
          run_job_task:
            job_id: ${resources.jobs.childjob.id}
            job_parameters: {day: "2026-12-01"}
    childjob:
      name: child
      parameters: [{name: day, default: none}]
      tasks:
        - task_key: work
          shell_command_task: {command: "true"}
targets:
  dev: {default: true}
"""


def _run_job_task(document: dict[str, Any]) -> Any:
    return document["tasks"][0]["run_job_task"]


def test_a_deployed_run_job_task_names_its_child_by_id(
        hw: Cli, tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bundle whose parent job runs its child job by reference, deployed to a server
    token = server.token("alice")
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    hw("deploy", check=True, extra_env=client_env(server, token))
    w = sdk_client(server, token, monkeypatch)
    ids = {job.settings.name: int(job.job_id) for job in w.jobs.list()
           if job.settings and job.job_id}

    # When the parent job is read and run
    job = w.jobs.get(ids["parent"])
    raw_job = w.api_client.do("GET", "/api/2.2/jobs/get", query={"job_id": ids["parent"]})
    run = w.jobs.run_now_and_wait(ids["parent"], timeout=timedelta(minutes=2))
    raw_run = w.api_client.do("GET", "/api/2.2/jobs/runs/get", query={"run_id": run.run_id})

    # Then both name the child by its id, with only the parameters the task gives
    assert job.settings is not None and job.settings.tasks is not None
    run_job = job.settings.tasks[0].run_job_task
    assert run_job is not None and run_job.job_id == ids["child"]
    assert run.tasks is not None and run.tasks[0].run_job_task is not None
    assert run.tasks[0].run_job_task.job_id == ids["child"]
    given = {"job_id": ids["child"], "job_parameters": {"day": "2026-12-01"}}
    assert isinstance(raw_job, dict) and isinstance(raw_run, dict)
    assert raw_job["settings"]["tasks"][0]["run_job_task"] == given
    assert _run_job_task(raw_run) == given
    assert run.state is not None and run.state.result_state is not None
    assert run.state.result_state.value == "SUCCESS"


def test_a_child_no_job_has_the_name_of_yet_keeps_its_name(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a job whose Run Job task names a job by a name no job has yet
    w = sdk_client(server, server.token("alice"), monkeypatch)
    created = w.api_client.do("POST", "/api/2.2/jobs/create", body={
        "name": "early", "tasks": [{"task_key": "later", "run_job_task": {"job_name": "late"}}]})
    assert isinstance(created, dict)

    # When it is read, then once a job of that name exists
    before = w.api_client.do("GET", "/api/2.2/jobs/get", query={"job_id": created["job_id"]})
    late = w.api_client.do("POST", "/api/2.2/jobs/create", body={
        "name": "late", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}]})
    after = w.jobs.get(created["job_id"])

    # Then the task keeps the name alone (there is no id to give), then gives the job's id
    assert isinstance(before, dict) and isinstance(late, dict)
    assert before["settings"]["tasks"][0]["run_job_task"] == {"job_name": "late"}
    assert after.settings is not None and after.settings.tasks is not None
    assert after.settings.tasks[0].run_job_task is not None
    assert after.settings.tasks[0].run_job_task.job_id == late["job_id"]
