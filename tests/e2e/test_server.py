"""`headwater server` as an operator meets it: killed with SIGKILL under a running job,
stopped with SIGTERM in the middle of a request, and two servers on one store. Real server
processes, real tasks, on SQLite (and PostgreSQL when `HEADWATER_TEST_POSTGRES_URL` is set)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.cli.server import is_loopback
from tests.servers import Reply, Server, clean_env, database_url, wait_for

# The task writes its pid, waits for a go file (so a test decides when it ends), then
# appends to a ledger: one line per time the task really ran.
TASK = ('echo $$ > {pid}; while [ ! -e {go} ]; do sleep 0.1; done; '
        'echo "$HEADWATER_RUN_ID $HEADWATER_TASK_KEY" >> {ledger}')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, tmp_path)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.close()
    for pid_file in tmp_path.glob("*.pid"):  # a gated task a failed test left waiting
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


def start(servers: list[Server], folder: Path, db_url: str) -> Server:
    server = Server(folder, db_url).start()
    servers.append(server)
    return server


def gated_job(server: Server, token: str, folder: Path, name: str = "gated") -> int:
    command = TASK.format(pid=folder / f"{name}.pid", go=folder / f"{name}.go",
                          ledger=folder / "ledger")
    reply = server.call("POST", "/api/2.2/jobs/create", {"name": name, "tasks": [
        {"task_key": "work", "shell_command_task": {"command": command}}]}, token=token)
    assert reply.status == 200, reply.text
    return int(reply.body["job_id"])


def start_gated_run(server: Server, token: str, folder: Path) -> tuple[int, int]:
    """A run of a gated job, once its task runs: the run id and the task's pid."""
    job_id = gated_job(server, token, folder)
    run_id = server.call("POST", "/api/2.2/jobs/run-now", {"job_id": job_id},
                         token=token).body["run_id"]
    pid = wait_for(lambda: (folder / "gated.pid").exists()
                   and (folder / "gated.pid").read_text().strip(), what="the task")
    return int(run_id), int(pid)


def run_state(server: Server, token: str, run_id: int) -> dict[str, Any]:
    reply = server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}", token=token)
    assert reply.status == 200, reply.text
    return dict(reply.body["state"])


def wait_ended(server: Server, token: str, run_id: int) -> dict[str, Any]:
    return dict(wait_for(lambda: (state := run_state(server, token, run_id))["life_cycle_state"]
                         in ("TERMINATED", "INTERNAL_ERROR") and state, timeout=120,
                         what=f"run {run_id} to end"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_server_killed_under_a_running_job_comes_back_and_the_run_ends_as_it_would(
        servers: list[Server], tmp_path: Path, db_url: str) -> None:
    # Given a server running a job whose task waits for a go file
    server = start(servers, tmp_path, db_url)
    token = server.token("ann")
    run_id, pid = start_gated_run(server, token, tmp_path)
    # When the server is killed with SIGKILL
    server.kill()
    # Then the task keeps running, and lets its work finish while no server is up
    assert alive(pid)
    (tmp_path / "gated.go").touch()
    wait_for(lambda: (tmp_path / "ledger").exists(), what="the task to finish its work")
    # When the server is started again on the same store
    server.start()
    # Then it adopts the run, which ends as it would have, its task having run once
    assert wait_ended(server, token, run_id)["result_state"] == "SUCCESS"
    assert (tmp_path / "ledger").read_text() == f"{run_id} work\n"


def hold_sqlite_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Hold SQLite's write lock for `seconds` in a thread: the server's writes wait."""
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        threading.Event().wait(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(30)
    return thread


def test_sigterm_finishes_the_request_in_flight_leaves_the_task_and_a_new_server_ends_it(
        servers: list[Server], tmp_path: Path) -> None:
    # Given a server (SQLite: the test holds its write lock) running a gated task
    server = start(servers, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    token = server.token("ann")
    run_id, pid = start_gated_run(server, token, tmp_path)
    # And a request in flight: a create that waits for the database
    lock = hold_sqlite_write_lock(tmp_path / "state.db", seconds=3)
    replies: list[Reply] = []
    request = threading.Thread(target=lambda: replies.append(server.call(
        "POST", "/api/2.2/jobs/create", {"name": "late", "tasks": [
            {"task_key": "t", "shell_command_task": {"command": "true"}}]}, token=token)))
    request.start()
    threading.Event().wait(0.5)
    # When the server gets SIGTERM
    assert server.process is not None
    server.process.terminate()
    lock.join()
    request.join(60)
    # Then the request completes, the server exits 0, and the task still runs
    assert replies and replies[0].status == 200, replies and replies[0].text
    assert server.process.wait(60) == 0
    assert alive(pid)
    # When a new server starts on the store and the task finishes
    server.start()
    (tmp_path / "gated.go").touch()
    # Then the new server ends the run, the task having run once
    assert wait_ended(server, token, run_id)["result_state"] == "SUCCESS"
    assert (tmp_path / "ledger").read_text() == f"{run_id} work\n"
    assert "handed back its runs" in (tmp_path / f"server-{server.port}-1.log").read_text()


def test_two_servers_on_one_store_both_serve_and_share_the_runs(
        servers: list[Server], tmp_path: Path, db_url: str) -> None:
    # Given two servers on one store
    first = start(servers, tmp_path, db_url)
    second = start(servers, tmp_path, db_url)
    token = first.token("ann")
    reply = second.call("POST", "/api/2.2/jobs/create", {
        "name": "shared", "max_concurrent_runs": 10, "tasks": [
            {"task_key": "work", "shell_command_task": {
                "command": f'echo "$HEADWATER_RUN_ID" >> {tmp_path / "ledger"}'}}]},
        token=token)
    job_id = reply.body["job_id"]
    # When runs are started through both while both engines drive them (on PostgreSQL,
    # run-now and an engine ending a run lock the job's row and the audit head: one order)
    replies = [server.call("POST", "/api/2.2/jobs/run-now", {"job_id": job_id}, token=token)
               for server in (first, second) * 10]
    assert [r.status for r in replies] == [200] * 20, [r.text for r in replies]
    runs = [reply.body["run_id"] for reply in replies]
    # Then each server reads every run to its end, and each ran once
    for run_id in runs:
        assert wait_ended(first, token, run_id)["result_state"] == "SUCCESS"
        assert run_state(second, token, run_id)["result_state"] == "SUCCESS"
    assert sorted(int(line) for line in (tmp_path / "ledger").read_text().split()) == runs


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("192.0.2.7", False), ("example.org", False)])
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_server_says_at_start_that_it_listens_on_loopback_only(
        servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")

    said = server.log.read_text()

    assert (f"headwater server on http://127.0.0.1:{server.port} (loopback only: only this "
            "machine can reach it)") in said
    assert "WARNING" not in said


def test_a_port_in_use_stops_the_server_before_its_engine_starts(tmp_path: Path) -> None:
    # Given a port another process listens on, and a run that needs an engine
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        (tmp_path / "job.json").write_text(json.dumps({"name": "j", "tasks": [
            {"task_key": "t", "shell_command_task": {"command": "touch ran"}}]}))
        env = clean_env()
        subprocess.run([sys.executable, "-m", "headwater", "jobs", "create", "job.json"],
                       cwd=tmp_path, env=env, check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "headwater", "jobs", "run-now", "1"],
                       cwd=tmp_path, env=env, check=True, capture_output=True)

        # When a server is started on that port
        started = subprocess.run([sys.executable, "-m", "headwater", "server", "--port",
                                  str(port)], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=120)

    # Then it says so and stops, its engine never started: the run still waits for one
    assert started.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in started.stderr
    assert "choose another --port" in started.stderr
    assert "engine" not in started.stderr.replace("--port", "")
    assert not (tmp_path / "ran").exists()
