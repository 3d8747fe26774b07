"""Jobs through the service: ids, deployment keys, updates, pages, errors with codes."""

from __future__ import annotations

import pytest
from service_builders import settings

from headwater.core.audit import AuditAction
from headwater.core.spec import JobSettings
from headwater.errors import (
    Conflict,
    InvalidRequest,
    InvalidState,
    NotFound,
    PlanError,
    SpecError,
)
from headwater.service import Service


def test_create_gives_a_new_id_each_time_and_deploy_updates_by_key(service: Service) -> None:
    first = service.create_job(settings())
    second = service.create_job(settings())
    deployed = service.deploy_job(settings(), "a.yml", "bundle/lab/dev/jobs/etl")
    again = service.deploy_job(settings(tasks=3), "a.yml", "bundle/lab/dev/jobs/etl")

    assert len({first.job_id, second.job_id, deployed.job_id}) == 3
    assert (again.job_id, again.version) == (deployed.job_id, 2)
    with pytest.raises(Conflict) as raised:
        service.create_job(settings(), "a.yml", "bundle/lab/dev/jobs/etl")
    assert raised.value.error_code == "RESOURCE_CONFLICT"


def test_update_merges_and_validates_naming_the_json_path(service: Service) -> None:
    job = service.create_job(settings(tasks=2, timeout_seconds=60))

    updated = service.update_job(job.job_id, {"tasks": [
        {"task_key": "t1", "max_retries": 2, "shell_command_task": {"command": "true"}}]},
        ["timeout_seconds"])

    assert updated.version == 2 and "timeout_seconds" not in updated.settings
    assert [t.get("max_retries") for t in updated.settings["tasks"]] == [None, 2]
    with pytest.raises(SpecError) as raised:
        service.update_job(job.job_id, {"tasks": [{"task_key": "t9", "max_retries": "x",
                                                   "shell_command_task": {"command": "1"}}]})
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    # named where it was sent, not where it merged (the job's third task)
    assert [problem.where for problem in raised.value.problems] == [
        "$.new_settings.tasks[0].max_retries"]


def test_a_job_that_cannot_plan_is_refused_before_it_is_stored(service: Service) -> None:
    cyclic = settings(tasks=0).model_copy(update={"tasks": []})
    body = cyclic.model_dump(mode="json", exclude_none=True)
    body["tasks"] = [
        {"task_key": "a", "depends_on": [{"task_key": "b"}], "shell_command_task": {"command": "x"}},
        {"task_key": "b", "depends_on": [{"task_key": "a"}], "shell_command_task": {"command": "x"}},
    ]
    with pytest.raises((PlanError, SpecError)):
        service.create_job(JobSettings.model_validate(body))
    assert service.list_jobs().items == []


def test_jobs_are_listed_a_page_at_a_time_and_found_by_unique_name(service: Service) -> None:
    made = [service.create_job(settings(name=f"job{i}")) for i in range(5)]
    service.create_job(settings(name="job0"))

    first = service.list_jobs(limit=2)
    second = service.list_jobs(limit=2, page_token=first.next_page_token)
    last = service.list_jobs(limit=2, page_token=second.next_page_token)

    assert [j.job_id for j in [*first.items, *second.items, *last.items]][:5] == \
        [j.job_id for j in made]
    assert last.next_page_token is None  # never an empty token
    assert service.find_job(name="job3") == made[3]
    with pytest.raises(InvalidRequest, match="2 jobs are named 'job0'"):
        service.find_job(name="job0")
    with pytest.raises(NotFound, match="did you mean 'job3'"):
        service.find_job(name="jbo3")
    with pytest.raises(InvalidRequest, match="not a token this server gave"):
        service.list_jobs(page_token="bogus")


def test_a_deleted_job_is_not_found_with_the_sdk_s_message(service: Service) -> None:
    job = service.create_job(settings())
    service.delete_job(job.job_id)

    with pytest.raises(NotFound, match=rf"^Job {job.job_id} does not exist\.$") as raised:
        service.get_job(job.job_id)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_pausing_changes_every_timing_setting_and_jobs_get_shows_the_next_fire(
        service: Service) -> None:
    job = service.create_job(settings(schedule={"quartz_cron_expression": "0 0 3 * * ?",
                                                "timezone_id": "UTC"}))

    document = service.job_document(job.job_id)
    paused = service.set_paused(job.job_id, True)

    assert document["headwater"]["next_fire_time"] == 1767236400000  # 2026-01-01T03:00Z
    assert paused.version == 2 and paused.settings["schedule"]["pause_status"] == "PAUSED"
    assert "next_fire_time" not in service.job_document(job.job_id)["headwater"]
    with pytest.raises(InvalidState, match="no schedule, trigger or continuous"):
        service.set_paused(service.create_job(settings()).job_id, True)


def test_deploying_applies_the_permissions_the_settings_declare(service: Service) -> None:
    key = "bundle/lab/dev/jobs/etl"
    bob_views = settings(permissions=[{"level": "CAN_VIEW", "user_name": "bob"}])
    carl_runs = settings(permissions=[{"level": "CAN_MANAGE_RUN", "user_name": "carl"}])

    job = service.deploy_job(bob_views, "a.yml", key)
    service.deploy_job(bob_views, "a.yml", key)  # unchanged: not audited again
    after_bob = service.job_permissions(job.job_id)
    service.deploy_job(carl_runs, "a.yml", key)
    after_carl = service.job_permissions(job.job_id)
    service.deploy_job(settings(), "a.yml", key)  # declares none: the list stays
    kept = service.job_permissions(job.job_id)

    assert {(g.name, g.level.name) for g in after_bob} == {("ann", "IS_OWNER"),
                                                          ("bob", "CAN_VIEW")}
    assert {(g.name, g.level.name) for g in after_carl} == {("ann", "IS_OWNER"),
                                                           ("carl", "CAN_MANAGE_RUN")}
    assert kept == after_carl
    changes = [e.entry.details for e in service.audit_entries(job_id=job.job_id)
               if e.entry.action is AuditAction.PERMISSIONS_CHANGED]
    # Only the change to carl: bob's grant came with the job, the repeats changed nothing.
    assert [c["access_control_list"] for c in changes] == [[
        {"user_name": "carl", "permission_level": "CAN_MANAGE_RUN"},
        {"user_name": "ann", "permission_level": "IS_OWNER"}]]


def test_a_job_file_s_permissions_are_its_grants_when_created(service: Service) -> None:
    job = service.create_job(settings(permissions=[{"level": "CAN_VIEW", "group_name": "users"}]))

    grants = service.job_permissions(job.job_id)
    document = service.job_document(job.job_id)

    assert {(g.name, g.level.name, g.group) for g in grants} == {
        ("ann", "IS_OWNER", False), ("users", "CAN_VIEW", True)}
    assert "permissions" not in document["settings"]  # the permissions API says who may
