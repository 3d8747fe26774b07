"""What runs on a Dask worker: one attempt as a Dask task (`run_attempt`), and its kill
(`kill_attempt`, sent with `Client.run`).

`run_attempt` is the whole life of an attempt on the worker, in one of the worker's threads:

1. **Claim** the attempt on the scheduler: publish the dataset `<key>.claim` (who runs it)
   with `override=False`, which the scheduler grants once, atomically. A second execution of
   the same Dask task (the scheduler re-runs a task whose worker died) finds it taken and
   starts nothing: that attempt is lost, and its task's retry policy decides what follows, as
   for any lost attempt. An engine that takes the run over and finds no claim takes it
   itself (`abandoned`), so a task still queued then never starts.
2. **Place** the attempt: write its files (context.json) into an attempt directory on the
   worker (the engine's own when `shared_files`, else one under the worker's local
   directory), unpack the job's files shipped with it (once per worker and content), and
   rewrite the engine's paths in argv, environment and working directory to the worker's.
   The environment is the one the engine defined for the task (`core/task_environment`),
   never the worker's own.
   A task environment (`environment_key`, `libraries`) is built under the engine's headwater
   home when the worker sees the engine's files and runs its interpreter (a cluster headwater
   started on this machine), else under the worker's own: once per worker, then reused.
3. **Run** it under a guard (`dask_guard.py`): its own session, its tree killed when the
   worker dies, SIGTERM-then-SIGKILL on a kill.
4. **Record** its exit with what it left (values, metrics, result, and its log unless the
   engine sees the worker's files) as the dataset `<key>.exit` on the scheduler, so that an
   engine that restarted meanwhile still finds it, and return the same record.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distributed import get_client, get_worker

from headwater.executors import dask_guard
from headwater.executors.dask_clusters import TAG_VARIABLE
from headwater.runtime.channel import METRICS, RESULT, VALUES
from headwater.runtime.secret_store import SecretError, with_secret_references

__all__ = ["CLAIM_SUFFIX", "EXIT_SUFFIX", "LOG_LIMIT", "kill_attempt", "run_attempt"]

CLAIM_SUFFIX, EXIT_SUFFIX = ".claim", ".exit"
LOG_LIMIT = 5 * 1024 * 1024  # the last 5 MB of a shipped log, as `runs/get-output` keeps
_EXTENSION = "headwater"


class AttemptRegistry:
    """The attempts a worker runs, by Dask key: a worker extension, closed with the worker
    (closing a guard's stdin ends its tree: attempts never outlive their worker)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.guards: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: dict[str, float] = {}  # kills that came before the guard started

    def kill(self, key: str, grace: float) -> bool:
        with self.lock:
            guard = self.guards.get(key)
            if guard is None:
                self.killed[key] = grace
                return False
        _tell(guard, f"term {grace}\n" if grace > 0 else "kill\n")
        return True

    def close(self) -> None:
        with self.lock:
            guards = list(self.guards.values())
        for guard in guards:
            with contextlib.suppress(OSError):
                guard.stdin.close()  # type: ignore[union-attr]


def _registry() -> AttemptRegistry:
    worker = get_worker()
    registry = worker.extensions.get(_EXTENSION)
    if not isinstance(registry, AttemptRegistry):
        registry = worker.extensions.setdefault(_EXTENSION, AttemptRegistry())
    return registry


def _tell(guard: subprocess.Popen[bytes], line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        assert guard.stdin is not None
        guard.stdin.write(line.encode())
        guard.stdin.flush()


def kill_attempt(key: str, grace: float, dask_worker: Any = None) -> bool:
    """`Client.run` on the claiming worker: SIGTERM the attempt's tree, SIGKILL it after
    `grace` seconds (0: at once). True if it was running here."""
    registry = dask_worker.extensions.setdefault(_EXTENSION, AttemptRegistry())
    return bool(registry.kill(key, grace))


def run_attempt(request: Mapping[str, Any], files: bytes | None = None) -> dict[str, Any]:
    """Run one attempt on this worker; its exit record (see the module docstring).

    `files` is the job's directory as a zip (None when the workers see the engine's files).
    """
    worker = get_worker()
    key = str(request["key"])
    who = {"worker": worker.address, "worker_name": str(worker.name), "pid": os.getpid(),
           "host": socket.gethostname()}
    client = get_client()
    try:
        client.publish_dataset(**{key + CLAIM_SUFFIX: who}, override=False)
    except KeyError:
        first = client.get_dataset(key + CLAIM_SUFFIX, default=None) or {}
        return {"refused": f"its worker {first.get('worker_name', '?')} "
                           f"({first.get('worker', 'unknown address')}) was lost while it ran; "
                           f"Dask then gave it to {worker.name} ({worker.address}), which did "
                           "not start it again (an attempt runs once)"}
    started = _now()
    placed = _Placement(request, Path(worker.local_directory) / "headwater", files)
    record = {**who, **_run(key, request, placed), "started_at": started, "at": _now(),
              "log_shipped": not request["shared_files"]}
    if not request["shared_files"]:
        record["log"] = _tail(placed.log)
    record.update(_left(placed.attempt_dir))
    client.publish_dataset(**{key + EXIT_SUFFIX: record}, override=True)
    if not request["shared_files"]:
        shutil.rmtree(placed.attempt_dir, ignore_errors=True)
    return record


def _run(key: str, request: Mapping[str, Any], placed: _Placement) -> dict[str, Any]:
    """Start the guard, wait for the tree to end; the exit fields."""
    try:  # `{{secrets/scope/key}}` values, from the store this worker reads
        placed.env = with_secret_references(placed.env)
    except SecretError as error:
        return {"exit_code": None, "signal": None, "start_error": str(error)}
    registry = _registry()
    with registry.lock:
        grace = registry.killed.pop(key, None)
        if grace is not None:  # killed before it started: it never starts
            return {"exit_code": None, "signal": 15, "start_error": None}
        guard = subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(dask_guard.__file__)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        registry.guards[key] = guard
    try:
        _tell(guard, json.dumps({"argv": placed.argv, "env": placed.env, "cwd": placed.cwd,
                                 "log": str(placed.log)}) + "\n")
        last: dict[str, Any] = {}
        assert guard.stdout is not None
        for line in guard.stdout:
            last = json.loads(line)
        guard.wait()
    finally:
        with registry.lock:
            registry.guards.pop(key, None)
    if "exit_code" not in last:
        return {"exit_code": None, "signal": None, "start_error": None,
                "lost": f"the attempt's guard on {get_worker().address} ended without a record"}
    return {name: last.get(name) for name in ("exit_code", "signal", "start_error")}


class _Placement:
    """Where the attempt lives on this worker, and its launch with the engine's paths
    rewritten to the worker's."""

    def __init__(self, request: Mapping[str, Any], root: Path, files: bytes | None) -> None:
        shared = bool(request["shared_files"])
        key = str(request["key"])
        engine_dir = str(request["attempt_dir"])
        self.attempt_dir = Path(engine_dir) if shared else root / "attempts" / key
        moves = {engine_dir: str(self.attempt_dir)}
        if not (shared and request["python"] == sys.executable):
            # A worker that does not see the engine's files, or runs another interpreter,
            # builds task environments in a home of its own; one that does shares the
            # engine's, so an environment is built once, not once per cluster started.
            moves[str(request["home"])] = str(root / "home")
        if files is not None:
            moves[str(request["workdir"])] = str(_unpack(files, str(request["files_hash"]),
                                                         root / "files"))
        self.attempt_dir.mkdir(parents=True, exist_ok=True)
        for name, text in dict(request["files"]).items():
            temporary = self.attempt_dir / f".{name}.tmp"
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.attempt_dir / name)
        ordered = sorted(moves.items(), key=lambda item: -len(item[0]))
        self.argv = [_moved(str(word), ordered) for word in request["argv"]]
        if self.argv and self.argv[0] == request["python"]:
            self.argv[0] = sys.executable  # the worker's interpreter, wherever it lives
        worker = get_worker()
        # The attempt's defined environment came from the engine (`core/task_environment`):
        # the worker's own environment is not passed on, except the tag of the cluster
        # headwater started (so that closing it finds every process of it).
        tag = {TAG_VARIABLE: os.environ[TAG_VARIABLE]} if TAG_VARIABLE in os.environ else {}
        self.env = {**{name: _moved(str(value), ordered) for name, value in
                       dict(request["env"]).items()},
                    **tag,
                    "HEADWATER_WORKER_NAME": str(worker.name),
                    "HEADWATER_WORKER_ADDRESS": worker.address,
                    "HEADWATER_WORKER_PID": str(os.getpid())}
        self.cwd = _moved(str(request["cwd"]), ordered)
        self.log = Path(_moved(str(request["log"]), ordered))


def _moved(text: str, moves: list[tuple[str, str]]) -> str:
    """`text` with the first engine path it starts with replaced by the worker's."""
    for engine, local in moves:
        if text == engine or text.startswith(engine.rstrip("/") + "/"):
            return local + text[len(engine):]
    return text


def _unpack(files: bytes, digest: str, root: Path) -> Path:
    """The job's files, unpacked once per worker and content (a rename makes it atomic)."""
    target = root / digest
    if not target.is_dir():
        temporary = root / f".{digest}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(temporary, ignore_errors=True)
        with zipfile.ZipFile(io.BytesIO(files)) as archive:
            archive.extractall(temporary)
        try:
            os.rename(temporary, target)
        except OSError:  # another thread unpacked it first
            shutil.rmtree(temporary, ignore_errors=True)
    return target


def _left(directory: Path) -> dict[str, Any]:
    """What the task left in its attempt directory: values, metrics, result."""
    found: dict[str, Any] = {}
    for field, name in (("values", VALUES), ("metrics", METRICS)):
        with contextlib.suppress(OSError):
            found[field] = (directory / name).read_text(encoding="utf-8", errors="replace")
    with contextlib.suppress(OSError, ValueError):
        result = json.loads((directory / RESULT).read_text(encoding="utf-8"))
        if isinstance(result, dict):
            found["result"] = result
    return found


def _tail(path: Path) -> str:
    """The log's text, its last `LOG_LIMIT` bytes when longer."""
    try:
        with path.open("rb") as source:
            source.seek(0, os.SEEK_END)
            size = source.tell()
            source.seek(max(0, size - LOG_LIMIT))
            data = source.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text if size <= LOG_LIMIT else f"[the first {size - LOG_LIMIT} bytes were cut]\n{text}"


def _now() -> str:
    return datetime.now(UTC).isoformat()

