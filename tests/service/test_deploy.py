"""Removing what a bundle deployed: the jobs its files left out (a deploy) or all of them (a
destroy), only of its bundle and target, and only when the caller may manage every one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from service_builders import settings

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
