"""The real databricks-sdk's `w.secrets` against a real `headwater server`: scopes and secrets
made over the Secrets API are what a job's task reads with `dbutils.secrets`; scope ACLs
(`put_acl`, `get_acl`, `list_acls`, `delete_acl`) decide who may read, write and manage a
scope, through the API and from a run's tasks; the SDK's exceptions where Databricks raises
them."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks.sdk.errors import (
    InvalidParameterValue,
    InvalidState,
    OperationFailed,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import AclPermission

from headwater.bootstrap import application
from headwater.runtime.secret_store import SecretStore
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


def test_scope_acls_decide_who_may_do_what_with_a_scope(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ann = client(server, server.token("ann"), monkeypatch)
    bob = client(server, server.token("bob"), monkeypatch)
    root = client(server, server.token("root", admin=True), monkeypatch)

    # Given a scope a non-admin made: she manages it, and everyone sees its name
    ann.secrets.create_scope("anns")
    ann.secrets.put_secret("anns", "token", string_value="hers")
    assert [(a.principal, a.permission) for a in ann.secrets.list_acls("anns")] == [
        ("ann", AclPermission.MANAGE)]
    assert [s.name for s in bob.secrets.list_scopes()] == ["anns"]

    # Then another user may neither read, write nor manage it, and is told whom to ask
    with pytest.raises(PermissionDenied, match=re.escape(
            "User bob does not have READ permission on secret scope 'anns'; a user with "
            "MANAGE on it (ann) or an admin can grant it: "
            "`headwater secrets put-acl anns bob READ` (`databricks secrets put-acl` against "
            "a server).")):
        bob.secrets.get_secret("anns", "token")
    with pytest.raises(PermissionDenied, match="does not have READ permission"):
        bob.secrets.list_secrets("anns")
    with pytest.raises(PermissionDenied, match="does not have WRITE permission"):
        bob.secrets.put_secret("anns", "mine", string_value="x")
    with pytest.raises(PermissionDenied, match="does not have MANAGE permission"):
        bob.secrets.list_acls("anns")
    with pytest.raises(PermissionDenied, match="does not have MANAGE permission"):
        bob.secrets.put_acl("anns", "bob", AclPermission.MANAGE)

    # When she grants him READ, he reads, but still may not write
    ann.secrets.put_acl("anns", "bob", AclPermission.READ)
    assert base64.b64decode(bob.secrets.get_secret("anns", "token").value or "") == b"hers"
    assert [s.key for s in bob.secrets.list_secrets("anns")] == ["token"]
    with pytest.raises(PermissionDenied, match="does not have WRITE permission"):
        bob.secrets.delete_secret("anns", "token")
    got = ann.secrets.get_acl("anns", "bob")
    assert (got.principal, got.permission) == ("bob", AclPermission.READ)
    # And WRITE replaces READ: he writes too, as MANAGE includes WRITE includes READ
    ann.secrets.put_acl("anns", "bob", AclPermission.WRITE)
    bob.secrets.put_secret("anns", "his", string_value="x")
    assert [(a.principal, a.permission) for a in root.secrets.list_acls("anns")] == [
        ("ann", AclPermission.MANAGE), ("bob", AclPermission.WRITE)]

    # When she takes it back, he is refused again; a missing ACL or scope is not found
    ann.secrets.delete_acl("anns", "bob")
    with pytest.raises(PermissionDenied):
        bob.secrets.get_secret("anns", "token")
    with pytest.raises(ResourceDoesNotExist, match="Principal bob has no ACL"):
        ann.secrets.delete_acl("anns", "bob")
    with pytest.raises(ResourceDoesNotExist, match="Principal eve has no ACL"):
        ann.secrets.get_acl("anns", "eve")
    with pytest.raises(ResourceDoesNotExist, match="no secret scope 'nope'"):
        ann.secrets.put_acl("nope", "bob", AclPermission.READ)
    with pytest.raises(ResourceDoesNotExist, match="no secret scope 'nope'"):
        list(ann.secrets.list_acls("nope"))
    # And the last entry stays (without any, a scope is open to everyone)
    with pytest.raises(InvalidState, match="last ACL of secret scope 'anns'"):
        ann.secrets.delete_acl("anns", "ann")

    # And a scope made for `users` is everyone's to manage; no other principal may be asked
    bob.secrets.create_scope("team", initial_manage_principal="users")
    ann.secrets.put_secret("team", "shared", string_value="ours")
    assert [(a.principal, a.permission) for a in ann.secrets.list_acls("team")] == [
        ("users", AclPermission.MANAGE)]
    with pytest.raises(InvalidParameterValue, match="the only principal allowed is 'users'"):
        bob.secrets.create_scope("other", initial_manage_principal="ann")

    # And only a manager (or an admin) deletes a scope
    with pytest.raises(PermissionDenied, match="does not have MANAGE permission"):
        bob.secrets.delete_scope("anns")
    root.secrets.put_acl("anns", "users", AclPermission.READ)
    ann.secrets.delete_scope("anns")
    assert [s.name for s in root.secrets.list_scopes()] == ["team"]

    # And the audit log says who changed which ACL
    with application(server.settings()) as app:
        changes = [(e.entry.actor, e.entry.action, dict(e.entry.details))
                   for e in app.store.audit_entries(limit=None)
                   if e.entry.action.startswith("secret.acl")]
    assert changes == [
        ("ann", "secret.acl_put", {"scope": "anns", "principal": "bob", "permission": "READ"}),
        ("ann", "secret.acl_put", {"scope": "anns", "principal": "bob", "permission": "WRITE"}),
        ("ann", "secret.acl_deleted", {"scope": "anns", "principal": "bob"}),
        ("root", "secret.acl_put", {"scope": "anns", "principal": "users",
                                    "permission": "READ"})]


READS = """\
import sys
from databricks.sdk.runtime import dbutils
if sys.argv[1] == "list":
    print("scopes", [s.name for s in dbutils.secrets.listScopes()])
else:
    print("read", len(dbutils.secrets.get(sys.argv[1], "key")))
"""


def test_a_run_reads_only_the_scopes_its_user_may_read(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ann = client(server, server.token("ann"), monkeypatch)
    bob = client(server, server.token("bob"), monkeypatch)
    # Given ann's scope, bob's, one the local command line made (the admins manage it), and
    # one made before scopes had ACLs (its files only, no entry at all)
    for user, scope in ((ann, "anns"), (bob, "bobs")):
        user.secrets.create_scope(scope)
        user.secrets.put_secret(scope, "key", string_value=scope)
    with application(server.settings()) as app:
        app.service.create_secret_scope("admins")
        app.service.put_secret("admins", "key", b"admins")
    old = SecretStore(server.settings().secrets_dir)
    old.create_scope("old")
    old.put("old", "key", b"old")
    (tmp_path / "reads.py").write_text(READS)

    def reading(*scopes: str) -> list[jobs.Task]:
        return [jobs.Task(task_key=scope, spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "reads.py"), parameters=[scope])) for scope in scopes]

    # When a job of ann's and a job of bob's read bob's scope
    anns = ann.jobs.create(name="ann reads", tasks=reading("bobs", "old", "admins", "list"))
    bobs = bob.jobs.create(name="bob reads", tasks=reading("bobs"))
    waiting = ann.jobs.run_now(anns.job_id)
    with pytest.raises(OperationFailed, match="Task bobs failed"):
        waiting.result()
    ann_run = ann.jobs.get_run(waiting.run_id)
    bob_run = bob.jobs.run_now_and_wait(bobs.job_id)

    # Then ann's task fails, saying why and whom to ask; bob's reads it
    results = {t.task_key: (t.state.result_state, t.run_id) for t in ann_run.tasks or []}
    assert results["bobs"][0] == jobs.RunResultState.FAILED
    output = ann.jobs.get_run_output(results["bobs"][1])
    assert ("user ann, whom this run runs as, may not read secret scope 'bobs': a task reads "
            "only the scopes its run's user has READ on; ask a user with MANAGE on 'bobs' (or "
            "an admin) to grant it: `headwater secrets put-acl bobs ann READ`"
            ) in f"{output.error} {output.logs}"
    assert [t.state.result_state for t in bob_run.tasks or []] == [
        jobs.RunResultState.SUCCESS]
    # And the scope without ACL stays readable by every run, the local command line's is not;
    # ann lists only what she may read
    assert results["old"][0] == jobs.RunResultState.SUCCESS
    assert results["admins"][0] == jobs.RunResultState.FAILED
    assert "may not read secret scope 'admins'" in str(
        ann.jobs.get_run_output(results["admins"][1]).error)
    listed = ann.jobs.get_run_output(results["list"][1]).logs or ""
    assert "scopes ['anns', 'old']" in listed

    # When bob grants ann READ, and an admin grants her READ on the local scope, her next run
    # reads both
    bob.secrets.put_acl("bobs", "ann", AclPermission.READ)
    with application(server.settings()) as app:
        app.service.put_secret_acl("admins", "ann", "READ")
    again = ann.jobs.run_now_and_wait(anns.job_id)
    assert again.state.result_state == jobs.RunResultState.SUCCESS


def test_a_run_job_task_s_child_reads_what_its_own_user_may_read(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ann = client(server, server.token("ann"), monkeypatch)
    bob = client(server, server.token("bob"), monkeypatch)
    bob.secrets.create_scope("bobs")
    bob.secrets.put_secret("bobs", "key", string_value="his")
    (tmp_path / "reads.py").write_text(READS)

    # Given a job of bob's that reads his scope, which ann may run
    child = bob.jobs.create(name="child", tasks=[jobs.Task(
        task_key="read", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "reads.py"), parameters=["bobs"]))],
        access_control_list=[jobs.JobAccessControlRequest(
            user_name="ann", permission_level=jobs.JobPermissionLevel.CAN_MANAGE_RUN)])
    # And a job of ann's that reads it too, and runs bob's with a Run Job task
    parent = ann.jobs.create(name="parent", tasks=[
        jobs.Task(task_key="read", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "reads.py"), parameters=["bobs"])),
        jobs.Task(task_key="child", run_job_task=jobs.RunJobTask(job_id=child.job_id))])

    # When ann's job runs
    waiting = ann.jobs.run_now(parent.job_id)
    with pytest.raises(OperationFailed, match="Task read failed"):
        waiting.result()

    # Then her task is refused bob's scope, and bob's job, run as bob (its task's own engine
    # drives it), reads it
    tasks = {t.task_key: t for t in ann.jobs.get_run(waiting.run_id).tasks or []}
    assert tasks["read"].state.result_state == jobs.RunResultState.FAILED
    assert tasks["child"].state.result_state == jobs.RunResultState.SUCCESS
    [child_run] = list(bob.jobs.list_runs(job_id=child.job_id))
    [task] = bob.jobs.get_run(child_run.run_id).tasks or []
    assert "read 3" in (bob.jobs.get_run_output(task.run_id).logs or "")


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
