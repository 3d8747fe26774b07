"""A real Dask deployment on loopback: a `dask scheduler` and `dask worker` processes, and
the real `headwater` CLI in a child process pointed at it through headwater.yml.

Without the `[dask]` extra these tests are skipped, unless HEADWATER_REQUIRE_DASK is set (CI
sets it: there they must run).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

if not os.environ.get("HEADWATER_REQUIRE_DASK"):
    pytest.importorskip("distributed")

BIN = Path(sys.executable).parent
CLUSTER_TAG = b"HEADWATER_CLUSTER_TAG="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


def tagged_processes() -> list[int]:
    """Processes of clusters headwater started (their host, workers and attempts)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes()
            except OSError:
                continue
            if CLUSTER_TAG in environ and alive(int(name)):
                found.append(int(name))
    return found


class LoopbackDask:
    """A scheduler and named workers (no nanny: a killed worker stays dead)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, argv: list[str],
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True,
                                   env={**os.environ, **(env or {})})
        self.processes[name] = process
        return process

    def start(self, workers: int = 2, worker_env: dict[str, str] | None = None) -> None:
        self._start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                  "--port", str(self.port), "--no-dashboard"])
        for index in range(1, workers + 1):
            self._start(f"w{index}", [str(BIN / "dask"), "worker", self.address,
                                      "--name", f"w{index}", "--nthreads", "1", "--no-nanny",
                                      "--no-dashboard", "--host", "127.0.0.1"], worker_env)
        from distributed import Client
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[LoopbackDask]:
    cluster = LoopbackDask(tmp_path)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


Headwater = Callable[..., subprocess.CompletedProcess[str]]


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "DATABRICKS_"))}
    env["HEADWATER_CONFIG"] = str(tmp_path / "headwater.yml")
    return env


@pytest.fixture
def hw(tmp_path: Path) -> Headwater:
    """`headwater ARGS...` in tmp_path, configured by tmp_path/headwater.yml."""
    def run(*args: str, timeout: float = 300,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "headwater", *args], cwd=tmp_path,
                              env={**environment(tmp_path), **(extra_env or {})},
                              capture_output=True, text=True, timeout=timeout)
    return run


def start_run(tmp_path: Path, job: Path, *args: str) -> subprocess.Popen[str]:
    """`headwater run JOB` in the background (its own process group)."""
    out = (tmp_path / "run.out").open("w")
    return subprocess.Popen([sys.executable, "-m", "headwater", "run", str(job), *args],
                            cwd=tmp_path, env=environment(tmp_path), stdout=out,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def write_config(tmp_path: Path, clusters: dict[str, Any]) -> None:
    (tmp_path / "headwater.yml").write_text(json.dumps({"clusters": clusters}))


def write_job(path: Path, tasks: list[dict[str, Any]], **job: Any) -> Path:
    path.write_text(json.dumps({"name": job.pop("name", "dask"), "tasks": tasks, **job}))
    return path


def run_document(hw: Headwater, run_id: int) -> dict[str, Any]:
    result = hw("runs", "get", str(run_id), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_id_of(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("Run ") and " started" in line:
            return int(line.split()[1])
    raise AssertionError(f"no run id in:\n{output}")


def attempts(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return sorted((t for t in document["tasks"] if t["task_key"] == key),
                  key=lambda t: t["attempt_number"])
