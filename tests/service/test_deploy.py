"""Removing what a bundle deployed: the jobs its files left out (a deploy) or all of them (a
destroy), only of its bundle and target, and only when the caller may manage every one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from service_builders import settings

from headwater.core.deployment import bundle_key
from headwater.core.permissions import Grant, Level, Principal
from headwater.errors import PermissionDenied
from headwater.service import Service
from headwater.service.deploy import RemovedJob


def deployed(service: Service, key: str) -> int:
    return service.deploy_job(settings(key), "databricks.yml", key).job_id


def test_the_jobs_the_files_left_out_are_deleted_once_and_others_are_kept(
        service: Service) -> None:
    orders, report = (deployed(service, f"bundle/shop/dev/jobs/{key}")
                      for key in ("orders", "report"))
    prod = deployed(service, "bundle/shop/prod/jobs/report")
    plain = deployed(service, "file//srv/report.json/jobs/report")

    previewed = service.remove_left_out("shop", "dev", ["orders"], dry_run=True)
    removed = service.remove_left_out("shop", "dev", ["orders"])
    again = service.remove_left_out("shop", "dev", ["orders"])

    assert previewed == removed == [RemovedJob("report", report, "bundle/shop/dev/jobs/report")]
    assert again == []
    assert [job.job_id for job in service.list_jobs().items] == [orders, prod, plain]


def test_a_job_the_caller_may_not_manage_stops_the_removal_before_any_is_deleted(
        service: Service) -> None:
    # Given ann's jobs, one of which bob may manage
    mine = service.deploy_job(settings("mine", access_control_list=[
        {"user_name": "bob", "permission_level": "CAN_MANAGE"}]), "d.yml",
        "bundle/shop/dev/jobs/mine").job_id
    theirs = deployed(service, "bundle/shop/dev/jobs/theirs")
    bob = replace(service, user="bob", admin=False)

    # When bob destroys the bundle's deployment
    with pytest.raises(PermissionDenied) as raised:
        bob.remove_left_out("shop", "dev", [])

    # Then the message names the job he may not manage, and nothing is deleted
    assert str(raised.value) == (
        f"User bob does not have permission to delete job {theirs} ('bundle/shop/dev/jobs/"
        "theirs', resource theirs) of bundle shop (target dev), which this deployment removes "
        "(it takes CAN_MANAGE); nothing was changed. Ask the job's owner for CAN_MANAGE, or to "
        "delete it.")
    assert raised.value.error_code == "PERMISSION_DENIED"
    assert [job.job_id for job in service.list_jobs().items] == [mine, theirs]


ANN_ROOT = "/Workspace/Users/ann/.bundle/shop/dev"
BOB_ROOT = "/Workspace/Users/bob/.bundle/shop/dev"


def test_deployments_at_two_root_paths_are_two_and_each_prunes_only_its_own(
        service: Service) -> None:
    ann, bob = replace(service, user="ann", admin=False), replace(service, user="bob",
                                                                   admin=False)
    ann_job, _ = ann.deploy(settings("[dev ann] etl"), "d.yml",
                            bundle_key("shop", "dev", "etl", ANN_ROOT))
    bob_job, _ = bob.deploy(settings("[dev bob] etl"), "d.yml",
                            bundle_key("shop", "dev", "etl", BOB_ROOT))

    bob_destroyed = bob.remove_left_out("shop", "dev", [], root_path=BOB_ROOT)

    assert ann_job.job_id != bob_job.job_id
    assert bob_destroyed == [RemovedJob("etl", bob_job.job_id, "[dev bob] etl")]
    assert [job.job_id for job in service.list_jobs().items] == [ann_job.job_id]


def test_a_server_deployment_keyed_before_root_paths_is_taken_over_by_its_creator_only(
        service: Service) -> None:
    # Given jobs ann deployed to a server before keys held the root path
    ann, bob = replace(service, user="ann", admin=False), replace(service, user="bob",
                                                                   admin=False)
    etl = ann.deploy_job(settings("etl"), "d.yml", "bundle/shop/dev/jobs/etl").job_id
    old = ann.deploy_job(settings("old"), "d.yml", "bundle/shop/dev/jobs/old").job_id

    # When bob deploys the bundle to his root, then ann to hers, keeping etl only
    bobs, bob_status = bob.deploy(settings("etl"), "d.yml",
                                  bundle_key("shop", "dev", "etl", BOB_ROOT))
    previewed = ann.remove_left_out("shop", "dev", ["etl"], dry_run=True, root_path=ANN_ROOT)
    anns, ann_status = ann.deploy(settings("etl"), "d.yml",
                                  bundle_key("shop", "dev", "etl", ANN_ROOT))
    removed = ann.remove_left_out("shop", "dev", ["etl"], root_path=ANN_ROOT)

    # Then bob got a job of his own, ann kept hers (same id) and her left-out job went
    assert (bob_status, bobs.job_id != etl) == ("created", True)
    assert (ann_status, anns.job_id) == ("unchanged", etl)
    assert previewed == removed == [RemovedJob("old", old, "old")]
    assert service.store.job_by_deployment(bundle_key("shop", "dev", "etl", ANN_ROOT)) \
        is not None
    assert service.store.job_by_deployment("bundle/shop/dev/jobs/etl") is None


def test_the_deployer_named_in_the_bundle_s_permissions_stays_the_owner(
        service: Service) -> None:
    # Given a bundle whose permissions name its deployer, as the bundle templates' do
    declared = settings("etl", permissions=[
        {"level": "CAN_MANAGE", "user_name": "ann"}, {"level": "CAN_VIEW", "user_name": "bob"},
        {"level": "CAN_VIEW", "group_name": "users"}])

    # When ann deploys it, and deploys it again
    first = service.deploy_job(declared, "d.yml", "bundle/shop/dev/jobs/etl")
    again = service.deploy_job(declared, "d.yml", "bundle/shop/dev/jobs/etl")

    # Then ann owns the job, and her own entry was dropped, as the Databricks CLI drops it
    assert again.job_id == first.job_id
    assert set(service.job_permissions(first.job_id)) == {
        Grant("ann", Level.IS_OWNER), Grant("bob", Level.CAN_VIEW),
        Grant("users", Level.CAN_VIEW, group=True)}


def test_a_bundle_s_service_principal_and_admins_group_are_kept_as_declared(
        service: Service) -> None:
    # Given a bundle that lets a service principal run its job, and the admins manage it
    declared = settings("etl", permissions=[
        {"level": "CAN_MANAGE_RUN", "service_principal_name": "6f0e5c1a-robot"},
        {"level": "CAN_MANAGE", "group_name": "admins"}])

    # When ann deploys it
    deployed_job = service.deploy_job(declared, "d.yml", "bundle/shop/dev/jobs/etl")

    # Then the service principal stays one, and the admins group is granted
    assert set(service.job_permissions(deployed_job.job_id)) == {
        Grant("ann", Level.IS_OWNER),
        Grant("6f0e5c1a-robot", Level.CAN_MANAGE_RUN, service_principal=True),
        Grant("admins", Level.CAN_MANAGE, group=True)}


def test_a_redeploy_keeps_a_service_principal_owner_a_service_principal(
        service: Service) -> None:
    # Given a deployed job an admin handed to a service principal
    key = "bundle/shop/dev/jobs/etl"
    job_id = service.deploy_job(settings("etl"), "d.yml", key).job_id
    admin = service.acting_as(Principal("ops", admin=True))
    admin.create_token("robot")  # headwater's users are its tokens' users
    admin.set_job_permissions(job_id, [Grant("robot", Level.IS_OWNER, service_principal=True)])

    # When the bundle, which lets bob view the job but names no owner, is deployed again
    service.deploy_job(settings("etl", permissions=[{"level": "CAN_VIEW", "user_name": "bob"}]),
                       "d.yml", key)

    # Then the owner is still the service principal
    assert set(service.job_permissions(job_id)) == {
        Grant("robot", Level.IS_OWNER, service_principal=True), Grant("bob", Level.CAN_VIEW)}
