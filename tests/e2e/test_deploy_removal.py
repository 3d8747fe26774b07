"""What a bundle no longer defines leaves with the next `headwater deploy`, and `headwater bundle
destroy` removes everything a bundle deployed to a target: as the Databricks CLI's `bundle
deploy|destroy`, on the local store and through a server (where the deployer must be allowed to
manage each job removed). The real CLI in child processes; a real server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers import Server, wait_for

from .conftest import Cli
from .test_client import client_env

PRUNE = "/api/2.2/headwater/deploy/prune"


SHARED = "/Workspace/Shared/.bundle/shop/dev"  # a root path two deployers share


def bundle(shared: bool = False, **jobs: str) -> str:
    """Bundle `shop` (targets dev, the default, and prod) with a one-task job per key; each
    value is the task's command, then any more YAML lines of the job. `shared`: deployed to a
    server at one root path for every user (else each user's own folder is a deployment)."""
    lines = ["bundle: {name: shop}", "resources:", "  jobs:"]
    if shared:
        lines[:0] = ["workspace:", "  root_path: /Workspace/Shared/.bundle/shop/${bundle.target}"]
    for key, job in jobs.items():
        command, *more = job.split("\n")
        lines += [f"    {key}:", f"      name: {key}", *more, "      tasks:",
                  "        - task_key: t",
                  f"          shell_command_task: {{command: {json.dumps(command)}}}"]
    return "\n".join([*lines, "targets:", "  dev: {default: true}", "  prod: {}", ""])


def job_ids(listed: str) -> list[int]:
    return [int(line.split()[0]) for line in listed.splitlines()]


def test_a_job_left_out_of_the_bundle_is_deleted_by_the_next_deploy_and_nothing_else(
        hw: Cli, tmp_path: Path) -> None:
    # Given a bundle deployed to dev and prod, a run of one job, and a plain job file
    files = tmp_path / "databricks.yml"
    files.write_text(bundle(orders="true", report="echo report"))
    hw("deploy", check=True)  # orders 1, report 2
    hw("deploy", "-t", "prod", check=True)  # orders 3, report 4
    ran = hw("run", "databricks.yml", "--job", "report", check=True)
    (tmp_path / "report.json").write_text(json.dumps({"name": "report", "tasks": [
        {"task_key": "t", "shell_command_task": {"command": "true"}}]}))
    hw("deploy", "report.json", check=True)  # 5

    # When the report job leaves the bundle and dev is deployed again
    files.write_text(bundle(orders="true"))
    deployed = hw("deploy", check=True)

    # Then dev's report job is deleted, said so, and audited; the rest stays
    assert deployed.stdout.splitlines() == ["orders: 1  (unchanged, version 1)",
                                            "report: 2  (deleted)"]
    assert job_ids(hw("jobs", "list", check=True).stdout) == [1, 3, 4, 5]
    gone = hw("jobs", "get", "2")
    assert gone.returncode == 1 and "Job 2 does not exist." in gone.stderr
    run_id = ran.stdout.split()[1]
    assert "SUCCESS" in hw("runs", "get", run_id, check=True).stdout  # its runs stay readable
    audited = [json.loads(line) for line in hw("audit", "list", "--job", "2", "--json",
                                               check=True).stdout.splitlines()]
    assert [entry["action"] for entry in audited][-1] == "job.deleted"
    # and a deploy with nothing left out deletes nothing more
    assert hw("deploy", check=True).stdout.splitlines() == ["orders: 1  (unchanged, version 1)"]


def test_a_deploy_that_stopped_midway_is_finished_by_the_next(hw: Cli, tmp_path: Path) -> None:
    files = tmp_path / "databricks.yml"
    files.write_text(bundle(orders="true", report="true"))
    hw("deploy", check=True)
    # A deploy whose second job is refused after the first was updated
    watcher = "true\n      trigger: {job_completion: {jobs: [{job_id: '99'}]}}"
    files.write_text(bundle(orders="echo v2", watcher=watcher))

    stopped = hw("deploy")
    listed_after_stop = job_ids(hw("jobs", "list", check=True).stdout)
    files.write_text(bundle(orders="echo v2", watcher="true"))
    finished = hw("deploy", check=True)

    assert stopped.returncode == 1
    assert "job 99 does not exist" in stopped.stderr
    assert stopped.stdout.splitlines() == ["orders: 1  (updated, version 2)"]
    assert listed_after_stop == [1, 2]  # the report job waits for a deploy that gets through
    assert finished.stdout.splitlines() == ["orders: 1  (unchanged, version 2)",
                                            "watcher: 3  (created, version 1)",
                                            "report: 2  (deleted)"]


def test_destroy_asks_first_and_deletes_every_job_of_its_target_only(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(bundle(orders="true", report="true"))
    hw("deploy", check=True)  # dev: 1, 2
    hw("deploy", "-t", "prod", check=True)  # prod: 3, 4

    declined = hw("bundle", "destroy", "-t", "prod", input="n\n")
    unanswered = hw("bundle", "destroy", "-t", "prod", input="")
    kept = job_ids(hw("jobs", "list", check=True).stdout)
    accepted = hw("bundle", "destroy", "-t", "prod", input="y\n", check=True)
    approved = hw("bundle", "destroy", "--auto-approve", check=True)
    again = hw("bundle", "destroy", "--auto-approve", check=True)

    preview = ["The following jobs of bundle shop (target prod) will be deleted:",
               "  orders: 3  (job 'orders')", "  report: 4  (job 'report')"]
    assert declined.returncode == 0
    assert declined.stdout.splitlines()[:3] == preview
    assert "Would you like to proceed? [y/N]" in declined.stderr
    assert declined.stdout.endswith("Destroy cancelled: nothing was deleted.\n")
    assert unanswered.returncode == 1 and "Pass --auto-approve" in unanswered.stderr
    assert kept == [1, 2, 3, 4]
    assert accepted.stdout.splitlines()[:3] == preview
    assert accepted.stdout.splitlines()[-2:] == ["orders: 3  (deleted)", "report: 4  (deleted)"]
    assert approved.stdout.splitlines()[-2:] == ["orders: 1  (deleted)", "report: 2  (deleted)"]
    assert "Would you like to proceed?" not in approved.stderr
    assert again.stdout == "Nothing to destroy: bundle shop (target dev) has no deployed jobs.\n"
    assert hw("jobs", "list", check=True).stdout == ""


def test_only_a_bundle_can_be_destroyed(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps({"name": "plain", "tasks": [
        {"task_key": "t", "shell_command_task": {"command": "true"}}]}))

    refused = hw("bundle", "destroy", "--file", "job.json", "--auto-approve")

    assert refused.returncode == 2
    assert "job.json names no bundle" in refused.stderr
    assert "headwater jobs delete JOB_ID" in refused.stderr


BOB_MANAGES = "\n      permissions: [{level: CAN_MANAGE, user_name: bob}]"


def test_through_a_server_a_deployer_may_remove_only_jobs_they_may_manage(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    # Given alice's deployment, where bob may manage the orders job only, and a run of the
    # report job that waits for a gate
    gate = tmp_path / "gate"
    alice, bob = server.token("alice"), server.token("bob")
    files = tmp_path / "databricks.yml"
    waits = f"while [ ! -e {gate} ]; do sleep 0.05; done"
    files.write_text(bundle(shared=True, orders="true" + BOB_MANAGES, report=waits))
    hw("deploy", check=True, extra_env=client_env(server, alice))
    run_id = server.call("POST", "/api/2.2/jobs/run-now", {"job_id": 2}, token=alice
                         ).body["run_id"]

    # When bob deploys the bundle without the report job, his deploy stops before any change
    files.write_text(bundle(shared=True, orders="echo v2" + BOB_MANAGES))
    by_bob = hw("deploy", extra_env=client_env(server, bob))
    assert by_bob.returncode == 1, by_bob.stdout
    assert ("User bob does not have permission to delete job 2 ('report', resource report) of "
            "bundle shop (target dev)") in by_bob.stderr
    assert by_bob.stdout == ""
    orders = server.call("GET", "/api/2.2/jobs/get?job_id=1", token=alice).body
    assert orders["headwater"]["version"] == 1
    # while alice's deploy of the same files deletes it
    by_alice = hw("deploy", check=True, extra_env=client_env(server, alice))
    assert by_alice.stdout.splitlines() == ["orders: 1  (updated, version 2)",
                                            "report: 2  (deleted)"]
    gone = server.call("GET", "/api/2.2/jobs/get?job_id=2", token=alice).body
    assert gone["message"] == "Job 2 does not exist."

    # Then the deleted job's active run goes on to its end
    gate.touch()
    ended = wait_for(lambda: _ended(server, run_id, alice), what=f"run {run_id} to end")
    assert ended["result_state"] == "SUCCESS"


def _ended(server: Server, run_id: int, token: str) -> dict[str, str] | None:
    state = server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}", token=token
                        ).body["state"]
    return state if state["life_cycle_state"] == "TERMINATED" else None


def test_through_a_server_destroy_deletes_nothing_unless_the_caller_may_manage_every_job(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    alice, bob = server.token("alice"), server.token("bob")
    (tmp_path / "databricks.yml").write_text(bundle(shared=True, orders="true" + BOB_MANAGES,
                                                    report="true"))
    hw("deploy", check=True, extra_env=client_env(server, alice))

    by_bob = hw("bundle", "destroy", "--auto-approve", extra_env=client_env(server, bob))
    refused = server.call("POST", PRUNE, {"bundle": "shop", "target": "dev", "keep": [],
                                          "root_path": SHARED}, token=bob)
    listed = hw("jobs", "list", check=True, extra_env=client_env(server, alice))
    by_alice = hw("bundle", "destroy", "--auto-approve", check=True,
                  extra_env=client_env(server, alice))

    assert by_bob.returncode == 1
    assert "User bob does not have permission to delete job 2 ('report'" in by_bob.stderr
    assert refused.status == 403 and refused.body["error_code"] == "PERMISSION_DENIED"
    assert "job 2 ('report', resource report) of bundle shop (target dev)" in (
        refused.body["message"])
    assert job_ids(listed.stdout) == [1, 2]
    assert by_alice.stdout.splitlines()[-3:] == [
        "orders: 1  (deleted)", "report: 2  (deleted)",
        f"{SHARED}  (deleted)"]
    assert server.call("GET", "/api/2.2/jobs/list", token=alice).body.get("jobs", []) == []


def test_through_a_server_a_deploy_refused_a_job_copies_none_of_its_files(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    # Given alice's deployment to a shared root path, whose report job bob may not manage
    alice, bob = server.token("alice"), server.token("bob")
    (tmp_path / "work.sh").write_text("echo alice\n")
    (tmp_path / "databricks.yml").write_text(bundle(shared=True, orders="true" + BOB_MANAGES,
                                                    report="sh work.sh"))
    hw("deploy", check=True, extra_env=client_env(server, alice))
    folder = server.call("GET", "/api/2.2/headwater/deploy/workspace", token=alice
                         ).body["workspace_dir"]
    copy = Path(folder) / SHARED.removeprefix("/Workspace/") / "files" / "work.sh"
    assert copy.read_text() == "echo alice\n"

    # When bob changes the report's code and deploys the same bundle
    (tmp_path / "work.sh").write_text("echo bob\n")
    by_bob = hw("deploy", extra_env=client_env(server, bob))

    # Then his deploy is refused before any file is copied: the job runs alice's code still
    assert by_bob.returncode == 1
    assert ("User bob does not have permission to manage job 2 ('report'), which this "
            "deployment updates") in by_bob.stderr
    assert "Synced" not in by_bob.stderr
    assert copy.read_text() == "echo alice\n"
