"""Who a job's access control list names, through the real databricks-sdk against a real
server: a service principal stays one (`service_principal_name`) through every change of the
list and acts as the user of its name; the `admins` group may be granted, and every list shows
the `admins` group's inherited CAN_MANAGE, as Databricks does."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import InvalidParameterValue, PermissionDenied
from databricks.sdk.service import iam, jobs
from tests.servers import Server, wait_for

ROBOT = "6f0e5c1a-robot"  # a service principal's application id
TASKS = [jobs.Task(task_key="t", condition_task=jobs.ConditionTask(
    op=jobs.ConditionTaskOp.EQUAL_TO, left="1", right="1"))]
Level = jobs.JobPermissionLevel


def client(server: Server, token: str, monkeypatch: pytest.MonkeyPatch) -> WorkspaceClient:
    """A WorkspaceClient as a user makes one, with no profile or variable around."""
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(server.workdir / "no.databrickscfg"))
    return WorkspaceClient(config=Config(host=server.url, token=token, retry_timeout_seconds=10))


Entry = tuple[str | None, str | None, str | None, str, bool]


def entries(w: WorkspaceClient, job_id: int) -> set[Entry]:
    """Each entry of the job's list: (user, service principal, group, level, inherited)."""
    found = set()
    for entry in w.jobs.get_permissions(str(job_id)).access_control_list or []:
        permission = (entry.all_permissions or [])[0]
        level = permission.permission_level.value if permission.permission_level else ""
        found.add((entry.user_name, entry.service_principal_name, entry.group_name, level,
                   bool(permission.inherited)))
    return found


INHERITED: Entry = (None, None, "admins", "CAN_MANAGE", True)


def test_a_service_principal_stays_one_and_acts_as_the_user_of_its_name(
        server: Server, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given ann's job, and a token for the service principal (`tokens create --user <id>`)
    ann = client(server, server.token("ann"), monkeypatch)
    robot = client(server, server.token(ROBOT), monkeypatch)
    root = client(server, admin, monkeypatch)
    job_id = ann.jobs.create(name="robot_runs", tasks=TASKS).job_id
    assert job_id is not None

    # When ann lets the service principal run it (PATCH, through the permissions API)
    ann.permissions.update("jobs", str(job_id), access_control_list=[iam.AccessControlRequest(
        service_principal_name=ROBOT, permission_level=iam.PermissionLevel.CAN_MANAGE_RUN)])

    # Then the list gives it back as a service principal, with its display name
    assert entries(ann, job_id) == {("ann", None, None, "IS_OWNER", False),
                                    (None, ROBOT, None, "CAN_MANAGE_RUN", False), INHERITED}
    listed = ann.jobs.get_permissions(str(job_id)).access_control_list or []
    assert [a.display_name for a in listed if a.service_principal_name] == [ROBOT]
    # And its token may do what the level allows, and no more
    run_id = robot.jobs.run_now(job_id).run_id
    wait_for(lambda: robot.jobs.get_run(run_id).state.result_state is not None,  # type: ignore[union-attr]
             what="the run to end")
    with pytest.raises(PermissionDenied, match=f"User {ROBOT} does not have permission"):
        robot.jobs.update(job_id, new_settings=jobs.JobSettings(description="mine now"))

    # When an admin hands the job to the service principal (PUT), then gives it back (PATCH)
    root.jobs.set_permissions(str(job_id), access_control_list=[jobs.JobAccessControlRequest(
        service_principal_name=ROBOT, permission_level=Level.IS_OWNER)])
    owned = entries(root, job_id)
    robot.jobs.update(job_id, new_settings=jobs.JobSettings(description="mine now"))
    root.jobs.update_permissions(str(job_id), access_control_list=[
        jobs.JobAccessControlRequest(user_name="ann", permission_level=Level.IS_OWNER)])

    # Then it is a service principal that owns it, then one that manages it
    assert owned == {(None, ROBOT, None, "IS_OWNER", False), INHERITED}
    assert entries(root, job_id) == {("ann", None, None, "IS_OWNER", False),
                                     (None, ROBOT, None, "CAN_MANAGE", False), INHERITED}


def test_the_admins_group_may_be_granted_and_is_listed_as_databricks_lists_it(
        server: Server, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given bob's job: its list shows the admins' inherited CAN_MANAGE
    bob = client(server, server.token("bob"), monkeypatch)
    carl = client(server, server.token("carl"), monkeypatch)
    job_id = bob.jobs.create(name="for_admins", tasks=TASKS).job_id
    assert job_id is not None
    inherited = server.call("GET", f"/api/2.0/permissions/jobs/{job_id}", token=admin).body
    assert inherited["access_control_list"][-1] == {
        "group_name": "admins", "display_name": "admins", "all_permissions": [
            {"permission_level": "CAN_MANAGE", "inherited": True,
             "inherited_from_object": ["/jobs/"]}]}

    # When bob grants the admins group CAN_MANAGE, as bundles and Terraform often do
    bob.jobs.update_permissions(str(job_id), access_control_list=[jobs.JobAccessControlRequest(
        group_name="admins", permission_level=Level.CAN_MANAGE)])

    # Then it is kept and listed as a direct entry, in place of the inherited one
    assert entries(bob, job_id) == {("bob", None, None, "IS_OWNER", False),
                                    (None, None, "admins", "CAN_MANAGE", False)}
    # And it gives nothing to who is not an admin
    with pytest.raises(PermissionDenied):
        carl.jobs.get(job_id)
    # And a group still cannot own a job
    with pytest.raises(InvalidParameterValue, match="a group cannot own a job"):
        bob.jobs.update_permissions(str(job_id), access_control_list=[
            jobs.JobAccessControlRequest(group_name="admins", permission_level=Level.IS_OWNER)])
