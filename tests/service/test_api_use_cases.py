"""What the service gained for the REST API: list filters and offsets, run_as, the Jobs API's
insistence on `latest_repair_id`, runs that never started, reset keeping `run_as`, exports,
and requests audited under the user who made them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from service_builders import settings

from headwater.api.documents import repair_pending
from headwater.core.permissions import Principal
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest, InvalidState
from headwater.service import Service


def test_list_runs_filters_by_type_and_start_and_skips_an_offset(service: Service) -> None:
    job = service.create_job(settings(max_concurrent_runs=5))
    runs = [service.run_now(job.job_id).run_id for _ in range(3)]
    submitted = service.submit_run({"tasks": [{"task_key": "t", "shell_command_task": {
        "command": "true"}}]}).run_id
    now = service.clock.now()

    def ids(**filters: object) -> list[int]:
        return [r.run_id for r in service.list_runs(**filters).items]  # type: ignore[arg-type]

    assert ids() == [submitted, *reversed(runs)]
    assert ids(run_type="SUBMIT_RUN") == [submitted]
    assert ids(run_type="JOB_RUN", offset=1) == [runs[1], runs[0]]
    assert ids(started=(now - timedelta(days=1), now)) == []  # no engine started them
    with pytest.raises(InvalidRequest, match="run_type 'NIGHTLY' is not one of"):
        ids(run_type="NIGHTLY")
    with pytest.raises(InvalidRequest, match="offset must be 0 or more"):
        ids(offset=-1)


def test_list_jobs_skips_an_offset_and_pages_on(service: Service) -> None:
    jobs = [service.create_job(settings(name=f"j{i}")).job_id for i in range(4)]

    page = service.list_jobs(limit=2, offset=1)

    assert [j.job_id for j in page.items] == jobs[1:3]
    rest = service.list_jobs(limit=2, page_token=page.next_page_token)
    assert [j.job_id for j in rest.items] == jobs[3:]


def test_a_run_records_who_it_runs_as(service: Service) -> None:
    named = service.create_job(settings(run_as={"user_name": "robot"}))
    plain = service.create_job(settings())

    assert service.get_run(service.run_now(named.job_id).run_id).run_as == "robot"
    assert service.get_run(service.run_now(plain.job_id).run_id).run_as == "ann"


def test_reset_keeps_run_as_when_the_new_settings_omit_it(service: Service) -> None:
    job = service.create_job(settings(run_as={"user_name": "robot"}))

    service.reset_job(job.job_id, settings(description="new"))

    assert service.get_job(job.job_id).settings["run_as"] == {"user_name": "robot"}


def test_a_run_that_never_started_cannot_be_repaired(service: Service) -> None:
    job = service.create_job(settings(max_concurrent_runs=0))
    skipped = service.run_now(job.job_id)

    with pytest.raises(InvalidState, match="never started"):
        service.repair(skipped.run_id, [], all_failed=True)


def test_a_repair_waiting_for_an_engine_reads_as_pending() -> None:
    ended = {"run_id": 1, "state": {"life_cycle_state": "INTERNAL_ERROR",
                                    "result_state": "FAILED"}, "end_time": 5}

    document = repair_pending(ended, 77)

    assert document["state"] == {"life_cycle_state": "PENDING", "state_message":
                                 "Repair 77 waits for an engine to rerun its tasks."}
    assert (document["status"]["state"], document["end_time"]) == ("PENDING", 0)


def test_export_gives_a_notebook_run_its_code_and_refuses_other_tasks(
        service: Service, tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nprint('<b>')\n")
    notebook = service.create_job(_notebook_settings(tmp_path / "nb"))
    shell = service.create_job(settings(tasks=1))
    run = service.run_now(notebook.job_id).run_id

    views = service.export_run(run)

    assert [(v["name"], v["type"]) for v in views] == [(str(tmp_path / "nb"), "NOTEBOOK")]
    assert "print(&#x27;&lt;b&gt;&#x27;)" in views[0]["content"]
    assert service.export_run(run, "DASHBOARDS") == []
    with pytest.raises(InvalidRequest, match="only notebook task runs can be exported"):
        service.export_run(service.run_now(shell.job_id).run_id)


def _notebook_settings(path: Path) -> JobSettings:
    return JobSettings.model_validate({"name": "nb", "tasks": [
        {"task_key": "nb", "notebook_task": {"notebook_path": str(path)}}]})


def test_requests_are_audited_under_the_user_who_made_them(service: Service) -> None:
    job = service.create_job(settings(max_concurrent_runs=3))
    bob = service.acting_as(Principal("bob", admin=True))

    run = bob.run_now(job.job_id).run_id
    bob.cancel(run)

    entries = [(e.entry.actor, str(e.entry.action)) for e in service.audit_entries(run_id=run)]
    assert entries == [("bob", "run.requested"), ("bob", "run.cancel_asked")]
