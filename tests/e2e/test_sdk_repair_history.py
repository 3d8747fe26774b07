"""`runs/get` gives a run's `repair_history` when asked with `include_history`, as Databricks
does (`runs/list` never does), and each entry holds the state the run had when that phase
ended; the real databricks-sdk reads it, through its pager too (audit s37 A, S7)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import OperationFailed
from databricks.sdk.service import jobs

from tests.servers import Server, wait_for

from .conftest import sdk_client

WIDE = 120  # tasks: more than one 2.2 page, so the SDK's pager reads the run


def _conditions(count: int) -> list[dict[str, Any]]:
    """Tasks the engine decides without a process."""
    return [{"task_key": f"c{i:03d}", "condition_task": {"op": "EQUAL_TO", "left": "1",
                                                         "right": "1"}} for i in range(count)]


def _shell(key: str, command: str) -> dict[str, Any]:
    return {"task_key": key, "shell_command_task": {"command": command}}


def _create(w: WorkspaceClient, name: str, tasks: list[dict[str, Any]]) -> int:
    """A job made through the API (the SDK's `Task` knows no `shell_command_task`)."""
    created = w.api_client.do("POST", "/api/2.2/jobs/create", body={"name": name, "tasks": tasks})
    assert isinstance(created, dict)
    return int(created["job_id"])


def _history_states(w: WorkspaceClient, run_id: int) -> list[tuple[Any, ...]]:
    history = w.jobs.get_run(run_id, include_history=True).repair_history or []
    return [(entry.type.value if entry.type else None,
             entry.state.life_cycle_state.value if entry.state and entry.state.life_cycle_state
             else None,
             entry.state.result_state.value if entry.state and entry.state.result_state else None,
             entry.state.state_message if entry.state else None) for entry in history]


def test_the_history_is_given_when_asked_with_how_each_phase_ended(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a wide job whose one real task fails until a flag exists, run, then repaired
    w = sdk_client(server, server.token("ann"), monkeypatch)
    flag = tmp_path / "flag"
    job_id = _create(w, "wide", [*_conditions(WIDE - 1), _shell("gate", f"test -e {flag}")])
    with pytest.raises(OperationFailed):
        w.jobs.run_now_and_wait(job_id, timeout=timedelta(minutes=2))
    run_id = next(iter(w.jobs.list_runs(job_id=job_id))).run_id
    assert run_id is not None
    flag.touch()
    w.jobs.repair_run_and_wait(run_id, rerun_tasks=["gate"], timeout=timedelta(minutes=2))

    # When the run is read with and without its history, and listed
    plain = w.jobs.get_run(run_id)
    listed = next(iter(w.jobs.list_runs(job_id=job_id)))
    raw = w.api_client.do("GET", "/api/2.1/jobs/runs/get", query={"run_id": run_id})
    asked = w.api_client.do("GET", "/api/2.1/jobs/runs/get",
                            query={"run_id": run_id, "include_history": "true"})

    # Then only the asked one has it, and the SDK pages through either
    assert isinstance(raw, dict) and isinstance(asked, dict)
    assert "repair_history" not in raw
    assert (listed.run_id, listed.repair_history) == (run_id, [])  # the SDK: [] for none
    assert len(asked["repair_history"]) == 2
    assert len(plain.tasks or []) == WIDE + 1 and plain.repair_history == []
    # and each entry holds how the run stood when it ended: the original run as it failed
    assert _history_states(w, run_id) == [
        ("ORIGINAL", "INTERNAL_ERROR", "FAILED",
         "Task gate failed with message: The task's process exited with code 1."),
        ("REPAIR", "TERMINATED", "SUCCESS", "")]
    assert len(w.jobs.get_run(run_id, include_history=True).tasks or []) == WIDE + 1


def test_a_cancelled_original_run_is_cancelled_in_the_history(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run cancelled while a task runs, then repaired
    w = sdk_client(server, server.token("ann"), monkeypatch)
    flag = tmp_path / "flag"
    job_id = _create(w, "slow", [_shell("nap", f"test -e {flag} || sleep 60")])
    run_id = w.jobs.run_now(job_id).run_id
    wait_for(lambda: any(t.state and t.state.life_cycle_state == jobs.RunLifeCycleState.RUNNING
                         for t in w.jobs.get_run(run_id).tasks or []), what="the nap to start")
    w.jobs.cancel_run_and_wait(run_id, timeout=timedelta(minutes=2))
    flag.touch()
    w.jobs.repair_run_and_wait(run_id, rerun_tasks=["nap"], timeout=timedelta(minutes=2))

    # When its history is read
    states = _history_states(w, run_id)

    # Then the original run reads as it ended: cancelled, not failed
    assert states == [("ORIGINAL", "TERMINATED", "CANCELED", "The run was cancelled."),
                      ("REPAIR", "TERMINATED", "SUCCESS", "")]
