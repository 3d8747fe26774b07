"""`headwater jobs backfill` for real: a Databricks bundle example (bundle-examples'
`job_backfill_data`) backfilled over three days with `{{backfill.iso_date}}` as its parameter,
run by a `headwater engine` process; and the same command against a `headwater server`, with a
dry run, newest first, a refused range, and cancelling the runs still queued."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from tests.servers import Server

from .conftest import Cli
from .engines import Cluster
from .test_client import client_env

COMPAT = Path(__file__).parent.parent / "compat" / "bundles"


def test_a_bundle_example_backfills_three_days_each_with_its_date(tmp_path: Path) -> None:
    bundle = tmp_path / "job_backfill_data"
    shutil.copytree(COMPAT / "job_backfill_data", bundle)
    cluster = Cluster(bundle, f"sqlite:///{tmp_path / 'state.db'}")
    job_id = cluster.cli("jobs", "create", "databricks.yml").stdout.strip()

    made = cluster.cli("jobs", "backfill", job_id, "--from", "2024-02-01", "--to", "2024-02-03",
                       "--param", "run_date={{backfill.iso_date}}")
    lines = [line.split("\t") for line in made.stdout.splitlines()]
    assert [(when, state) for _, when, state in lines] == [
        ("2024-02-01T00:00:00+00:00", "PENDING"), ("2024-02-02T00:00:00+00:00", "QUEUED"),
        ("2024-02-03T00:00:00+00:00", "QUEUED")]  # one at a time: max_concurrent_runs 1
    assert "backfill" in made.stderr and "3 runs of job" in made.stderr
    run_ids = [int(run_id) for run_id, _, _ in lines]
    try:
        cluster.start_engine()
        ended = cluster.wait_ended(run_ids)
    finally:
        cluster.stop_all()

    assert [ended[r]["state"]["result_state"] for r in run_ids] == ["SUCCESS"] * 3
    # the query adds a day to its :run_date, which each run got from its own time
    outputs = [cluster.cli("runs", "logs", str(r), "insert").stdout.splitlines()[-1]
               for r in run_ids]
    assert [json.loads(out)["rows"] for out in outputs] == [
        [["2024-02-02 00:00:00"]], [["2024-02-03 00:00:00"]], [["2024-02-04 00:00:00"]]]
    starts = [ended[r]["start_time"] for r in run_ids]
    assert starts == sorted(starts)  # oldest first
    shown = cluster.cli("runs", "get", str(run_ids[1])).stdout
    assert "Backfill: run 2 of 3 of backfill" in shown and "for 2024-02-02T00:00:00Z" in shown


def test_a_backfill_through_a_server_newest_first_then_cancelled_alone(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("ann"))
    job = tmp_path / "hourly.json"
    job.write_text(json.dumps({"name": "hourly", "tasks": [{"task_key": "load",
        "shell_command_task": {"command": 'echo "hour $WHEN"; sleep 30',
                               "env": {"WHEN": "{{job.trigger.time.hour}}"}}}]}))
    job_id = hw("jobs", "create", str(job), check=True, extra_env=env).stdout.strip()
    window = ("--from", "2026-11-30T20:00:00Z", "--to", "2026-11-30T23:00:00Z", "--every", "1h")

    dry = hw("jobs", "backfill", job_id, *window, "--dry-run", check=True, extra_env=env)
    made = hw("jobs", "backfill", job_id, *window, "--newest-first", check=True, extra_env=env)
    future = hw("jobs", "backfill", job_id, "--from", "2026-11-30", "--to", "2099-01-01",
                extra_env=env)

    assert dry.stdout.splitlines() == [f"2026-11-30T{h}:00:00+00:00" for h in (20, 21, 22, 23)]
    lines = [line.split("\t") for line in made.stdout.splitlines()]
    assert [when[11:13] for _, when, _ in lines] == ["23", "22", "21", "20"]
    assert future.returncode != 0
    assert "the backfill ends in the future (2099-01-01T00:00:00Z)" in future.stderr
    newest = lines[0][0]
    deadline = time.monotonic() + 60
    while "hour 23" not in hw("runs", "logs", newest, "load", extra_env=env).stdout:
        assert time.monotonic() < deadline, "the newest time did not run first"
        time.sleep(0.5)

    other = hw("jobs", "run-now", job_id, check=True, extra_env=env).stdout.strip()
    backfill_id = made.stderr.split()[1].rstrip(":")
    cancel = hw("runs", "cancel-all", "--backfill", backfill_id, check=True, extra_env=env)
    assert cancel.stdout.strip() == f"Cancel requested for 4 runs of backfill {backfill_id}."
    deadline = time.monotonic() + 60
    while True:
        states = [json.loads(hw("runs", "get", run_id, "--json", check=True,
                                extra_env=env).stdout)["state"] for run_id, _, _ in lines]
        if all(state.get("result_state") for state in states):
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.5)
    assert {state["result_state"] for state in states} == {"CANCELED"}
    # the job's other run was not part of the backfill: it ran (and failed, as a run with no
    # trigger time does with this job), it was not cancelled
    while "result_state" not in (state := json.loads(hw(
            "runs", "get", other, "--json", check=True, extra_env=env).stdout)["state"]):
        assert time.monotonic() < deadline + 60, state
        time.sleep(0.5)
    assert state["result_state"] == "FAILED"
