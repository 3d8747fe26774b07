"""`headwater jobs`: jobs keyed by id through the real CLI, deployment keys, run-now."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli, shell, write_job
from .test_run import run_document, run_id_of

BUNDLE = """\
bundle:
  name: demo
resources:
  jobs:
    nightly:
      name: nightly_demo
      tasks:
        - task_key: extract
          shell_command_task: {command: "echo extracting"}
"""


def test_jobs_are_created_by_id_and_the_same_files_are_one_job(hw: Cli, tmp_path: Path) -> None:
    bundle = tmp_path / "databricks.yml"
    bundle.write_text(BUNDLE)

    created = hw("jobs", "create", str(bundle), check=True)
    again = hw("jobs", "create", str(bundle))
    other = write_job(tmp_path / "other.json", [shell("a", "true")], name="nightly_demo")
    second = hw("jobs", "create", str(other), check=True)

    assert created.stdout.strip() == "1" and second.stdout.strip() == "2"
    assert again.returncode == 1
    assert "was deployed from these files already" in again.stderr
    listed = json.loads(hw("jobs", "list", "--json", check=True).stdout)
    assert [j["job_id"] for j in listed["jobs"]] == [1, 2]  # same name, two jobs
    assert listed["has_more"] is False


def test_reset_and_run_update_the_job_of_the_files(hw: Cli, tmp_path: Path) -> None:
    bundle = tmp_path / "databricks.yml"
    bundle.write_text(BUNDLE)
    hw("jobs", "create", str(bundle), check=True)
    bundle.write_text(BUNDLE.replace("echo extracting", "echo extracting v2"))

    reset = hw("jobs", "reset", str(bundle), check=True)
    ran = hw("run", str(bundle), check=True)

    assert reset.stdout.strip() == "1"
    assert "(job 1, version 2)" in ran.stdout  # the same job, not a new one
    job = json.loads(hw("jobs", "get", "1", check=True).stdout)
    assert job["settings"]["tasks"][0]["shell_command_task"]["command"] == "echo extracting v2"
    assert job["headwater"]["deployment_key"] == "bundle/demo/default/jobs/nightly"


def test_run_now_prints_the_run_id_at_once_and_wait_follows_it(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("a", "echo hi")], max_concurrent_runs=5)
    job_id = hw("jobs", "create", str(job), check=True).stdout.strip()

    queued = hw("jobs", "run-now", job_id, check=True)
    waited = hw("jobs", "run-now", job_id, "--wait", check=True)

    run_id = int(queued.stdout)
    assert run_document(hw, run_id)["state"]["life_cycle_state"] == "PENDING"  # no engine yet
    assert f"note: no engine is running on this store, so run {run_id} waits: start " \
        f"`headwater engine`, or `headwater runs resume {run_id}`" in queued.stderr
    assert "ended SUCCESS" in waited.stdout
    assert run_document(hw, run_id_of(waited.stdout))["state"]["result_state"] == "SUCCESS"


def test_a_deleted_job_is_gone_but_its_runs_stay(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("a", "true")])
    ran = hw("run", str(job), check=True)

    hw("jobs", "delete", "1", check=True)

    missing = hw("jobs", "get", "1")
    assert missing.returncode == 1 and "Job 1 does not exist." in missing.stderr
    assert run_document(hw, run_id_of(ran.stdout))["state"]["result_state"] == "SUCCESS"


def test_a_job_is_named_by_its_id_or_by_its_name_when_one_job_has_it(
        hw: Cli, tmp_path: Path) -> None:
    hw("jobs", "create", str(write_job(tmp_path / "a.json", [shell("a", "true")],
                                       name="nightly_load")), check=True)
    for twin in ("b", "c"):
        hw("jobs", "create", str(write_job(tmp_path / f"{twin}.json", [shell("a", "true")],
                                           name="twin")), check=True)

    by_name = json.loads(hw("jobs", "get", "NIGHTLY_LOAD", check=True).stdout)
    run_id = int(hw("jobs", "run-now", "nightly_load", check=True).stdout)
    twins = hw("jobs", "pause", "twin")
    missing = hw("jobs", "run-now", "nightly")

    assert by_name["job_id"] == 1 and run_document(hw, run_id)["job_id"] == 1
    assert twins.returncode == 1 and "2 jobs are named 'twin' (ids 2, 3); name the job by its " \
        "id" in twins.stderr
    assert missing.returncode == 1 and "No job is named 'nightly'" in missing.stderr
