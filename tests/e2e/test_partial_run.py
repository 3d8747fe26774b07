"""Partial runs (`only`) for real: through the databricks-sdk against a `headwater server`,
a repair that stays inside the selection, the refusals; and `headwater run --only`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from databricks.sdk.errors import InvalidParameterValue, OperationFailed, ResourceDoesNotExist
from databricks.sdk.service import jobs

from tests.servers import Server

from .conftest import Cli, sdk_client, shell, write_job


def pipeline(ledger: Path, flag: Path) -> list[dict[str, object]]:
    """extract -> clean -> load -> report; each task notes its key in `ledger`; load fails
    while `flag` exists."""
    def noting(key: str, *deps: str, then: str = "true") -> dict[str, object]:
        return shell(key, f"echo {key} >> {ledger} && {then}", *deps)

    return [noting("extract"), noting("clean", "extract"),
            noting("load", "clean", then=f"test ! -e {flag}"), noting("report", "load")]


def ran(ledger: Path) -> list[str]:
    text = ledger.read_text() if ledger.exists() else ""
    ledger.unlink(missing_ok=True)
    return text.split()


def test_a_partial_run_and_its_repair_stay_inside_the_selection(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    ledger, flag = tmp_path / "ledger", tmp_path / "fail-load"
    flag.touch()
    created = w.api_client.do("POST", "/api/2.2/jobs/create", body={
        "name": "partial", "tasks": pipeline(ledger, flag)})
    assert isinstance(created, dict)
    job_id = int(created["job_id"])

    # When load and everything upstream of it run, and load fails
    with pytest.raises(OperationFailed, match="Task load failed"):
        w.jobs.run_now_and_wait(job_id, only=["+load"], timeout=timedelta(minutes=2))
    [listed] = w.jobs.list_runs(job_id=job_id)
    assert listed.run_id is not None
    failed = w.jobs.get_run(listed.run_id)

    # Then only those three ran, and the run says it is partial
    assert failed.state is not None and failed.state.result_state == jobs.RunResultState.FAILED
    assert [t.task_key for t in failed.tasks or []] == ["extract", "clean", "load"]
    assert ran(ledger) == ["extract", "clean", "load"]
    document = w.api_client.do("GET", "/api/2.2/jobs/runs/get",
                               query={"run_id": failed.run_id})
    assert isinstance(document, dict)
    assert document["headwater"]["only"] == ["extract", "clean", "load"]

    # When a task is added to the job and the run is repaired
    flag.unlink()
    w.api_client.do("POST", "/api/2.2/jobs/update", body={"job_id": job_id, "new_settings": {
        "tasks": [shell("notify", f"echo notify >> {ledger}", "load")]}})
    assert failed.run_id is not None
    repair = w.jobs.repair_run(failed.run_id, rerun_all_failed_tasks=True).result(
        timeout=timedelta(minutes=2))

    # Then the repair reruns load alone: neither report nor the new task joins the run
    assert repair.state is not None and repair.state.result_state == jobs.RunResultState.SUCCESS
    assert ran(ledger) == ["load"]
    assert {t.task_key for t in repair.tasks or []} == {"extract", "clean", "load"}
    with pytest.raises((InvalidParameterValue, ResourceDoesNotExist),
                       match="has no task 'report'"):
        w.jobs.repair_run(failed.run_id, rerun_tasks=["report"],
                          latest_repair_id=(w.jobs.get_run(failed.run_id, include_history=True)
                                            .repair_history or [])[-1].id)


def test_a_selection_naming_no_task_is_refused_with_what_to_write(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)
    created = w.api_client.do("POST", "/api/2.2/jobs/create", body={
        "name": "partial", "tasks": pipeline(tmp_path / "ledger", tmp_path / "flag")})
    assert isinstance(created, dict)

    with pytest.raises(InvalidParameterValue) as raised:
        w.jobs.run_now(int(created["job_id"]), only=["lod+"])

    assert "only[0]: no task 'lod' in this job (did you mean 'load'?)" in str(raised.value)
    assert list(w.jobs.list_runs(job_id=int(created["job_id"]))) == []


def test_headwater_run_only_runs_a_task_and_what_follows_it(hw: Cli, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    job = write_job(tmp_path / "job.json", pipeline(ledger, tmp_path / "no-flag"))

    result = hw("run", str(job), "--only", "load+")

    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(ledger) == ["load", "report"]
    shown = hw("runs", "get", "1", check=True).stdout
    assert "Partial run of: load, report" in shown
    document = json.loads(hw("runs", "get", "1", "--json", check=True).stdout)
    assert [t["task_key"] for t in document["tasks"]] == ["load", "report"]
