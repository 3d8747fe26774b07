"""Helpers for the executor tests: attempt specs, waiting for exits, and looking at processes."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from headwater.executors import proctree
from headwater.executors.local import TAG_VARIABLE, LocalExecutor
from headwater.ports import AttemptKey, LaunchSpec, TaskExit

ATTEMPT_DIR = "HEADWATER_ATTEMPT_DIR"
# How the executors of the tests start Python tasks: the suite runs with both
# (`HEADWATER_LAUNCH=spawn make test` for the other one).
LAUNCH = os.environ.get("HEADWATER_LAUNCH") or "fork"


def attempt_dir(tmp_path: Path, name: str = "attempt") -> Path:
    """An attempt directory that does not exist yet: the executor creates it."""
    return tmp_path / "attempts" / name


def shell(tmp_path: Path, command: str, name: str = "attempt", **env: str) -> LaunchSpec:
    """`sh -c command` in `tmp_path`, its attempt directory named `name`."""
    directory = attempt_dir(tmp_path, name)
    return LaunchSpec(["/bin/sh", "-c", command], {ATTEMPT_DIR: str(directory), **env},
                      tmp_path, directory / "output.log")


def python(tmp_path: Path, source: str, name: str = "attempt") -> LaunchSpec:
    """`python -c source` as a Python task (from a fork server under `LAUNCH=fork`)."""
    directory = attempt_dir(tmp_path, name)
    code = textwrap.dedent(source)
    return LaunchSpec([sys.executable, "-c", code], {ATTEMPT_DIR: str(directory)}, tmp_path,
                      directory / "output.log", python=True)


def collect(executor: LocalExecutor, count: int, timeout: float = 15.0) -> list[TaskExit]:
    """Wait until `count` exits were reported (or fail after `timeout`)."""
    exits: list[TaskExit] = []
    deadline = time.monotonic() + timeout
    while len(exits) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(exits)} of {count} exits after {timeout}s: {exits}"
        exits += executor.wait(left)
    return exits


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def alive(pids: list[int]) -> list[int]:
    """The pids that still name a running (not zombie) process."""
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def descendants(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def read_pids(path: Path, count: int = 1) -> list[int]:
    """The pids a task wrote to `path`, once `count` complete lines are there."""
    def complete() -> bool:
        return path.exists() and path.read_text().count("\n") >= count
    wait_for(complete, timeout=10)
    return [int(word) for word in path.read_text().split()]


def parent_pid(handle: str) -> int:
    return int(handle.split(":")[0])


def spawner_children(program: str = "parent.py") -> set[int]:
    """Pids of the spawners this test process started (`parent.py serve`), or of its fork
    servers (`zygote.py`)."""
    found = set()
    for child in psutil.Process().children():
        try:
            if "serve" in child.cmdline() and any(a.endswith(program) for a in child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return found


def kill_leftovers(tmp_path: Path) -> None:
    """SIGKILL every attempt parent claimed under `tmp_path` and every process tagged by an
    executor of this test process, until none is left: no test leaks a process."""
    mine = f"{TAG_VARIABLE}={os.getpid()}.".encode()
    for _ in range(200):
        found = _tagged(mine)
        for claim in tmp_path.rglob("parent.json"):
            data = json.loads(claim.read_text())
            info = proctree.read_process(data["pid"])
            if data["pid"] != os.getpid() and info is not None and info.start_ticks == data["start_ticks"] and not info.gone:
                found.append(info)
        if not found:
            return
        for info in found:
            proctree.send_signal(info, signal.SIGKILL)
        time.sleep(0.02)
    raise AssertionError("processes of the test survive SIGKILL")


def _tagged(prefix: bytes) -> list[proctree.ProcessInfo]:
    found = []
    for info in proctree.snapshot():
        if info.gone or info.pid == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{info.pid}/environ").read_bytes()
        except OSError:
            continue
        if any(entry.startswith(prefix) for entry in environ.split(b"\0")):
            found.append(info)
    return found


def key(seq: int = 1, run_id: int = 1) -> AttemptKey:
    return AttemptKey(run_id, seq)
