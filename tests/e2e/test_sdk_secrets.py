"""The real databricks-sdk's `w.secrets` against a real `headwater server`: scopes and secrets
made over the Secrets API are what a job's task reads with `dbutils.secrets`; only admins may
touch them; the SDK's exceptions where Databricks raises them."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks.sdk.errors import (
    InvalidParameterValue,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from databricks.sdk.service import jobs

from tests.servers import Server

from .conftest import sdk_client as client

READ = """\
from databricks.sdk.runtime import dbutils
password = dbutils.secrets.get("warehouse", "password")
print("read", password, password == "hunter2", len(dbutils.secrets.getBytes("warehouse", "cert")))
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    found = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}").start()
    yield found
    found.close()


def test_secrets_put_with_the_sdk_are_read_by_a_job_s_task(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = client(server, server.token("root", admin=True), monkeypatch)
    before = int(time.time() * 1000) - 1000

    # Given a scope and two secrets made with the SDK, one text and one bytes
    w.secrets.create_scope("warehouse")
    w.secrets.put_secret("warehouse", "password", string_value="hunter2")
    w.secrets.put_secret("warehouse", "cert",
                         bytes_value=base64.b64encode(b"\x00\x01binary").decode())

    # Then they list and read back as on Databricks (keys and times, base64 values)
    assert [s.name for s in w.secrets.list_scopes()] == ["warehouse"]
    listed = {s.key: s.last_updated_timestamp for s in w.secrets.list_secrets("warehouse")}
    assert sorted(listed) == ["cert", "password"]
    assert all(stamp >= before for stamp in listed.values())
    got = w.secrets.get_secret("warehouse", "password")
    assert (got.key, base64.b64decode(got.value or "")) == ("password", b"hunter2")
    with pytest.raises(ResourceAlreadyExists, match="Scope warehouse already exists"):
        w.secrets.create_scope("warehouse")
    with pytest.raises(ResourceDoesNotExist, match="no secret 'nope' in scope 'warehouse'"):
        w.secrets.get_secret("warehouse", "nope")
    with pytest.raises(InvalidParameterValue, match="exactly one of string_value"):
        w.secrets.put_secret("warehouse", "both", string_value="a", bytes_value="YQ==")

    # When a job's task reads them with dbutils.secrets
    (tmp_path / "read.py").write_text(READ)
    job = w.jobs.create(name="reads", tasks=[jobs.Task(
        task_key="read", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "read.py")))])
    run = w.jobs.run_now_and_wait(job.job_id)

    # Then it read what the SDK put (and printed it redacted)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    task_run = (run.tasks or [])[0].run_id
    assert "read [REDACTED] True 8" in (w.jobs.get_run_output(task_run).logs or "")

    # And deleting takes them away
    w.secrets.delete_secret("warehouse", "cert")
    assert [s.key for s in w.secrets.list_secrets("warehouse")] == ["password"]
    w.secrets.delete_scope("warehouse")
    assert list(w.secrets.list_scopes()) == []
    with pytest.raises(ResourceDoesNotExist):
        w.secrets.list_secrets("warehouse")


def test_only_admins_may_touch_secrets(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ann = client(server, server.token("ann"), monkeypatch)
    with pytest.raises(PermissionDenied, match="Only admins may create secret scopes"):
        ann.secrets.create_scope("mine")
    with pytest.raises(PermissionDenied, match="Only admins may read secrets"):
        ann.secrets.get_secret("any", "key")
    with pytest.raises(PermissionDenied):
        list(ann.secrets.list_scopes())


ENV_READ = """\
import os
print("region", os.environ["REGION"], os.environ["PASSWORD"] == "hunter2")
"""


def test_a_job_made_with_the_sdk_gets_its_environment_variables_and_secret_references(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = client(server, server.token("root", admin=True), monkeypatch)
    w.secrets.create_scope("warehouse")
    w.secrets.put_secret("warehouse", "password", string_value="hunter2")
    (tmp_path / "env_read.py").write_text(ENV_READ)

    # When a job made with the SDK's own types selects environment variables, one a secret
    job = w.jobs.create(
        name="env", environment_variables=[jobs.JobEnvironmentVariables(
            environment_variables_key="e", spec=jobs.JobEnvironmentVariablesSpec(
                variables={"REGION": "eu-west-1",
                           "PASSWORD": "{{secrets/warehouse/password}}"}))],
        tasks=[jobs.Task(task_key="read", environment_variables_key="e",
                         spark_python_task=jobs.SparkPythonTask(
                             python_file=str(tmp_path / "env_read.py")))])
    run = w.jobs.run_now_and_wait(job.job_id)

    # Then the task saw them, and the job keeps the reference, never the value
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    output = w.jobs.get_run_output((run.tasks or [])[0].run_id)
    assert "region eu-west-1 True" in (output.logs or "")
    settings = w.jobs.get(job.job_id).settings
    [entry] = settings.environment_variables or []
    assert entry.spec.variables == {"REGION": "eu-west-1",
                                    "PASSWORD": "{{secrets/warehouse/password}}"}
