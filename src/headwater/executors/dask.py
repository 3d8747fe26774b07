"""`DaskExecutor`: attempts that run as processes on the workers of a Dask cluster.

How it works (the worker's side is `dask_worker.py`, the clusters' `dask_clusters.py`):

- `launch` writes the attempt's files and `dask.json` (its Dask key and cluster) into the
  attempt directory on this machine, then, in a background thread, connects to the cluster
  (starting the run's job cluster if it is the first attempt on it) and submits
  `run_attempt` as one Dask task: Dask places it on a worker with a free thread, and adaptive
  scaling sees it. The handle is `dask:<key>`.
- An attempt is claimed on the scheduler before it starts (the dataset `<key>.claim`,
  granted once), so one attempt never runs twice: a task that Dask runs again because its
  worker died starts nothing and comes back lost, and its task's retry policy decides.
- Its exit comes back as the Dask task's result, and stays on the scheduler (the dataset
  `<key>.exit`) until this side has written it into the attempt directory (`exit.json`,
  values, metrics, result, the shipped log); then both datasets are dropped. The result
  gains `cluster_instance` (the cluster, the worker and its pid) and `cluster_setup_seconds`
  (how long the attempt waited for its cluster to start).
- An engine that takes the run over `adopt`s by the attempt directory: a recorded exit is
  read back; else the cluster is found again (`dask.json`) and the datasets tell the rest:
  an exit is there, or the claiming worker still runs it (it is watched until it ends), or
  its worker left the cluster (lost), or nobody claimed it (it is taken, so it never starts:
  lost).
- `kill` asks the claiming worker to SIGTERM the attempt's tree (SIGKILL after the grace);
  an attempt not claimed yet is taken and cancelled, and never starts.

Every call returns at once; cluster starts, submissions and kills happen in background
threads, and `wait` blocks on a condition until an exit is ready.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import signal
import sys
import threading
import time
import zipfile
from collections.abc import Mapping
from concurrent.futures import Future as LocalFuture
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.core.compute import ClusterRequest
from headwater.core.task_environment import task_environment
from headwater.errors import InvalidRequest
from headwater.executors import dask_worker, parent
from headwater.executors.dask_clusters import Cluster, Clusters
from headwater.executors.failures import event_line
from headwater.executors.records import read_exit
from headwater.ports import AttemptKey, LaunchSpec, TaskExit
from headwater.runtime.channel import METRICS, RESULT, VALUES

__all__ = ["HANDLE_PREFIX", "MARKER", "DaskExecutor"]

HANDLE_PREFIX = "dask:"
MARKER = "dask.json"
_SKIPPED = frozenset({".headwater", ".git", "__pycache__", ".venv", "node_modules"})
_SHIP_LIMIT = 20 * 1024 * 1024  # job files larger than this need `shared_files`
_WATCH_SECONDS = 0.5  # how often an adopted attempt's datasets are looked at
_HOST_CHECK_SECONDS = 1.0  # how often the hosts of the clusters attempts run on are looked at
_CLOSE_WAIT_SECONDS = 120.0


@dataclass(slots=True, eq=False)
class _Attempt:
    """An attempt this executor watches, until its exit is reported."""

    key: AttemptKey
    dask_key: str
    request: ClusterRequest
    directory: Path
    started: float  # monotonic, at launch
    cluster: Cluster | None = None
    future: Any = None  # the distributed.Future of its Dask task
    killed: float | None = None  # the grace of a kill asked for
    done: bool = False  # its exit is queued (or it was released)

    @property
    def handle(self) -> str:
        return HANDLE_PREFIX + self.dask_key

    @property
    def log(self) -> Path:
        return self.directory / "output.log"


class DaskExecutor:
    """Runs attempts on Dask clusters; implements `headwater.ports.Executor` and
    `headwater.ports.ClusterKeeper`.

    Args:
        clusters: the clusters of the runs and of the configuration.
        home: headwater's state directory, rewritten to a directory of the worker's own
            (task environments are built there, once per worker).
        python: the interpreter the runners put in argv (the worker uses its own).
        task_env: what every attempt's process starts with before its own variables, as on
            this machine (default: this process's environment as `core.task_environment`
            filters it). It travels with the attempt: the task sees neither the worker's
            environment nor the engine's.
    """

    def __init__(self, clusters: Clusters, home: Path, python: str = sys.executable,
                 task_env: Mapping[str, str] | None = None) -> None:
        self._clusters, self._home, self._python = clusters, home.absolute(), python
        self._task_env = dict(task_environment(os.environ) if task_env is None else task_env)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._attempts: dict[AttemptKey, _Attempt] = {}
        self._ready: list[TaskExit] = []
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="headwater-dask")
        self._closing: list[LocalFuture[None]] = []
        self._zips: dict[Path, tuple[tuple[Any, ...], str, bytes]] = {}
        self._closed = False
        self._next_host_check = 0.0

    # -- launching and adopting ------------------------------------------------------------

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        """Record the attempt and submit it in the background; its handle at once."""
        if spec.cluster is None:
            raise InvalidRequest(f"attempt {_name(key)} names no cluster")
        with self._lock:
            self._check_open()
            if (known := self._attempts.get(key)) is not None:
                return known.handle
        if (self._marker(spec.attempt_dir)) is not None:  # a StartTask sent again
            handle = self.adopt(key, None, spec.attempt_dir)
            assert handle is not None
            return handle
        dask_key = f"headwater-{key.run_id}-{key.seq}-{secrets.token_hex(4)}"
        _prepare(key, spec.attempt_dir, {**spec.files, MARKER: json.dumps(
            {"key": dask_key, "cluster": spec.cluster.name, "cluster_key": spec.cluster.key,
             "new_cluster": dict(spec.cluster.new_cluster)})})
        attempt = _Attempt(key, dask_key, spec.cluster, spec.attempt_dir, _monotonic())
        with self._lock:
            self._attempts[key] = attempt
            self._pool.submit(self._submit, attempt, spec)
        return attempt.handle

    def adopt(self, key: AttemptKey, handle: str | None, attempt_dir: Path) -> str | None:
        """Watch an attempt an earlier engine launched: its recorded exit, or the cluster's
        word on it; None when it was never launched."""
        with self._lock:
            self._check_open()
            if (known := self._attempts.get(key)) is not None:
                return known.handle
        marker = self._marker(attempt_dir)
        if marker is None:
            return None
        request = ClusterRequest(str(marker["cluster"]), str(marker["cluster_key"]),
                                 dict(marker.get("new_cluster") or {}))
        attempt = _Attempt(key, str(marker["key"]), request, attempt_dir, _monotonic())
        try:
            recorded = read_exit(key, attempt_dir)
        except ValueError:
            recorded = None
        with self._lock:
            self._attempts[key] = attempt
            if recorded is not None:
                self._queue(attempt, recorded)
            else:
                self._pool.submit(self._watch_adopted, attempt)
        return attempt.handle

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidRequest("the Dask executor is closed")

    def _marker(self, directory: Path) -> dict[str, Any] | None:
        try:
            data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "key" in data else None

    def _submit(self, attempt: _Attempt, spec: LaunchSpec) -> None:
        """Background: connect to (or start) the cluster, then submit the attempt."""
        try:
            cluster = self._clusters.get(attempt.key.run_id, attempt.request,
                                         lambda line: _say(attempt.log, line))
            waited = _monotonic() - attempt.started
            files = None if cluster.shared_files else self._zip(Path(os.path.abspath(spec.cwd)))
            request = self._request(attempt, spec, cluster, files)
            with self._lock:
                attempt.cluster = cluster
                if attempt.done:
                    return  # killed or released while the cluster started
                if attempt.killed is not None:
                    self._queue(attempt, _killed(attempt))
                    return
                future = cluster.client.submit(
                    dask_worker.run_attempt, request, files[1] if files else None,
                    key=attempt.dask_key, pure=False, retries=0)
                attempt.future = future
            _say(attempt.log, f"attempt {attempt.dask_key} submitted to cluster "
                              f"{cluster.name} ({cluster.address})")
            future.add_done_callback(
                lambda done: self._pool.submit(self._settle_future, attempt, done, waited))
        except Exception as error:  # the reason becomes the attempt's failure to start
            message = str(error) if isinstance(error, InvalidRequest) \
                else f"{type(error).__name__}: {error}"
            _say(attempt.log, f"cluster {attempt.request.name}: {message}")
            with self._lock:
                self._queue(attempt, TaskExit(attempt.key, None, start_error=message))

    def _request(self, attempt: _Attempt, spec: LaunchSpec, cluster: Cluster,
                 files: tuple[str, bytes] | None) -> dict[str, Any]:
        """What `run_attempt` needs on the worker (see `dask_worker.py`)."""
        return {
            "key": attempt.dask_key, "argv": list(spec.argv),
            "env": {**self._task_env, **spec.env},
            "cwd": os.path.abspath(spec.cwd), "log": os.path.abspath(spec.log_path),
            "files": dict(spec.files), "attempt_dir": os.path.abspath(spec.attempt_dir),
            "home": str(self._home), "workdir": os.path.abspath(spec.cwd),
            "files_hash": files[0] if files else "", "python": self._python,
            "shared_files": cluster.shared_files,
        }

    def _zip(self, directory: Path) -> tuple[str, bytes]:
        """The job's directory as a zip, made once per content. It travels with each attempt
        (not scattered: data held by one worker would be lost with it, and its attempts
        with it), and a worker unpacks it once per content."""
        listing = sorted(_job_files(directory))
        signature = tuple((str(path), stat.st_size, stat.st_mtime_ns) for path, stat in listing)
        with self._lock:
            cached = self._zips.get(directory)
        if cached is not None and cached[0] == signature:
            return cached[1], cached[2]
        if sum(stat.st_size for _, stat in listing) > _SHIP_LIMIT:
            raise InvalidRequest(
                f"the job directory {directory} holds more than {_SHIP_LIMIT >> 20} MB to ship "
                "to the workers; make it visible to them at the same path and set "
                "`shared_files: true` for the cluster in headwater.yml")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, _ in listing:
                archive.write(directory / path, str(path))
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        with self._lock:
            self._zips[directory] = (signature, digest, data)
        return digest, data

    # -- exits -----------------------------------------------------------------------------

    def _settle_future(self, attempt: _Attempt, future: Any, waited: float) -> None:
        """Background: a submitted attempt's Dask task ended."""
        try:
            record = future.result()
        except Exception as error:  # CancelledError, KilledWorker, a lost scheduler
            if attempt.killed is not None:
                record = {"exit_code": None, "signal": signal.SIGTERM, "start_error": None}
            else:
                record = {"lost": f"Dask lost the attempt: {type(error).__name__}: {error}"}
        self._settle(attempt, record, waited)

    def _settle(self, attempt: _Attempt, record: dict[str, Any], waited: float) -> None:
        """Write the exit where a later engine finds it, drop it from the scheduler, queue it."""
        lost = record.get("refused") or record.get("lost")
        if lost:
            _say(attempt.log, f"attempt {attempt.dask_key} lost: {lost}")
            exit_: TaskExit = TaskExit(attempt.key, None, lost=str(lost))
        else:
            exit_ = self._record_exit(attempt, record, waited)
        cluster = attempt.cluster
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.client.unpublish_dataset(
                    [attempt.dask_key + dask_worker.CLAIM_SUFFIX,
                     attempt.dask_key + dask_worker.EXIT_SUFFIX])
        with self._lock:
            self._queue(attempt, exit_)

    def _record_exit(self, attempt: _Attempt, record: dict[str, Any], waited: float) -> TaskExit:
        directory = attempt.directory
        if record.get("worker"):
            _say(attempt.log, f"ran on worker {record.get('worker_name')} "
                              f"({record.get('worker')}, pid {record.get('pid')}, "
                              f"host {record.get('host')})")
        if record.get("log_shipped") and record.get("log"):
            with attempt.log.open("a", encoding="utf-8") as log:
                log.write(str(record["log"]))
        result = dict(record.get("result") or {})
        cluster = attempt.cluster
        result["cluster_instance"] = {
            "cluster_id": cluster.cluster_id if cluster else attempt.request.name,
            "spark_context_id": str(record.get("worker_name", "")),
            "worker": record.get("worker"), "worker_pid": record.get("pid"),
            "host": record.get("host")}
        if waited >= 0.05 and cluster is not None and cluster.ours:
            result["cluster_setup_seconds"] = round(waited, 3)
        for field, name in (("values", VALUES), ("metrics", METRICS)):
            if record.get(field):
                (directory / name).write_text(str(record[field]), encoding="utf-8")
        (directory / RESULT).write_text(json.dumps(result), encoding="utf-8")
        _write_exit(directory, record)
        recorded = read_exit(attempt.key, directory)
        assert recorded is not None
        return recorded

    def _watch_adopted(self, attempt: _Attempt) -> None:
        """Background: follow an attempt an earlier engine launched, through the scheduler."""
        try:
            cluster = self._clusters.get(attempt.key.run_id, attempt.request,
                                         lambda line: _say(attempt.log, line), start=False)
        except Exception as error:
            self._settle(attempt, {"lost": f"its cluster cannot be reached: {error}"}, 0.0)
            return
        attempt.cluster = cluster
        client, claim_name = cluster.client, attempt.dask_key + dask_worker.CLAIM_SUFFIX
        while not attempt.done and not self._closed:
            record = client.get_dataset(attempt.dask_key + dask_worker.EXIT_SUFFIX,
                                        default=None)
            if record is not None:
                self._settle(attempt, dict(record), 0.0)
                return
            claim = client.get_dataset(claim_name, default=None)
            if claim is None and _take(client, claim_name):
                self._settle(attempt, {"lost": "it never started: the engine that launched "
                                               "it stopped before a worker took it"}, 0.0)
                return
            workers = client.scheduler_info().get("workers", {})
            gone = claim is not None and claim.get("worker") not in workers
            if gone and client.get_dataset(attempt.dask_key + dask_worker.EXIT_SUFFIX,
                                           default=None) is None:
                self._settle(attempt, {"lost": f"its worker {claim.get('worker')} left the "
                                               "cluster"}, 0.0)
                return
            with self._lock:
                self._changed.wait(_WATCH_SECONDS)

    def _queue(self, attempt: _Attempt, exit_: TaskExit) -> None:
        """Queue an exit (the lock held); an attempt is reported once."""
        if attempt.done or self._attempts.get(attempt.key) is not attempt:
            return
        attempt.done = True
        self._ready.append(exit_)
        self._changed.notify_all()

    def wait(self, timeout: float) -> list[TaskExit]:
        """Block up to `timeout` seconds for at least one exit; return every exit seen."""
        with self._lock:
            self._lose_attempts_of_ended_clusters()
            if not self._ready and not self._closed:
                self._changed.wait(max(timeout, 0.0))
            exits, self._ready = self._ready, []
            for exit_ in exits:
                self._attempts.pop(exit_.key, None)
            return exits

    def _lose_attempts_of_ended_clusters(self) -> None:
        """Report as lost, at once, the attempts on a cluster whose host ended (killed,
        crashed): their Dask futures would say so only once the client gives up reaching the
        scheduler, half a minute later. The next attempt starts the cluster again."""
        now = _monotonic()
        if now < self._next_host_check:
            return
        self._next_host_check = now + _HOST_CHECK_SECONDS
        clusters = {id(a.cluster): a.cluster for a in self._attempts.values()
                    if not a.done and a.cluster is not None and a.cluster.ours}
        for cluster in clusters.values():
            if not self._clusters.host_gone(cluster):
                continue
            lost = f"its cluster {cluster.name} ended: the cluster's host process is gone"
            for attempt in [a for a in self._attempts.values()
                            if a.cluster is cluster and not a.done]:
                _say(attempt.log, f"attempt {attempt.dask_key} lost: {lost}")
                self._queue(attempt, TaskExit(attempt.key, None, lost=lost))

    # -- killing ---------------------------------------------------------------------------

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        """SIGTERM the attempt's tree on its worker, SIGKILL it after the grace; never blocks."""
        with self._lock:
            attempt = self._attempts.get(key)
            if attempt is None or attempt.done or self._closed:
                return
            first = attempt.killed is None
            attempt.killed = grace_seconds if first else min(attempt.killed or 0.0,
                                                             grace_seconds)
            if attempt.cluster is None:  # still waiting for its cluster: it never starts
                self._queue(attempt, _killed(attempt))
                return
            self._pool.submit(self._kill_remote, attempt, max(grace_seconds, 0.0))

    def _kill_remote(self, attempt: _Attempt, grace: float) -> None:
        cluster = attempt.cluster
        assert cluster is not None
        client, claim_name = cluster.client, attempt.dask_key + dask_worker.CLAIM_SUFFIX
        try:
            if _take(client, claim_name):  # not started yet: now it never will
                _say(attempt.log, f"attempt {attempt.dask_key} killed before it started")
                if attempt.future is not None:
                    attempt.future.cancel()
                else:
                    with self._lock:
                        self._queue(attempt, _killed(attempt))
                return
            claim = client.get_dataset(claim_name, default=None) or {}
            worker = claim.get("worker")
            if worker:
                _say(attempt.log, f"killing attempt {attempt.dask_key} on worker {worker} "
                                  f"(SIGTERM, SIGKILL after {grace:g} s)")
                client.run(dask_worker.kill_attempt, attempt.dask_key, grace,
                           workers=[worker], on_error="ignore")
        except Exception as error:  # the cluster's trouble: the exit says what happened
            _say(attempt.log, f"could not kill attempt {attempt.dask_key}: {error}")

    # -- the rest of the port ----------------------------------------------------------------

    def release(self, key: AttemptKey) -> None:
        """Stop watching an attempt and leave it running: another engine owns its run now."""
        with self._lock:
            attempt = self._attempts.pop(key, None)
            if attempt is not None:
                attempt.done = True
                attempt.future = None  # the scheduler keeps the attempt's exit for its owner

    def running(self) -> int:
        """How many watched attempts have not been reported as exited yet."""
        with self._lock:
            return len(self._attempts)

    def keep_clusters(self, run_id: int, names: Any) -> None:
        """Close, in the background, the run's clusters it no longer needs."""
        wanted = set(names)
        for name in self._clusters.started_for(run_id):
            if name not in wanted:
                with self._lock:
                    if self._closed:
                        return
                    self._closing.append(self._pool.submit(self._clusters.close, run_id, name))

    def runs_with_clusters(self) -> list[int]:
        return self._clusters.runs()

    def close(self) -> None:
        """Stop watching; attempts and clusters still needed run on. Closes under way finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
            closing = list(self._closing)
        for future in closing:
            with contextlib.suppress(Exception):
                future.result(timeout=_CLOSE_WAIT_SECONDS)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._clusters.disconnect()


def _take(client: Any, claim_name: str) -> bool:
    """Claim an attempt for nobody, so that it never starts; False if a worker has it."""
    try:
        client.publish_dataset(**{claim_name: {"abandoned": True}}, override=False)
    except KeyError:
        return False
    return True


def _killed(attempt: _Attempt) -> TaskExit:
    """The exit of an attempt killed before it started (as the attempt parent records it)."""
    return TaskExit(attempt.key, None, signal=signal.SIGTERM)


def _prepare(key: AttemptKey, directory: Path, files: dict[str, str]) -> None:
    """Create the attempt directory and write `files` into it, each atomically."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            temporary = directory / f".{name}.tmp"
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, directory / name)
    except OSError as error:
        raise InvalidRequest(f"cannot prepare the attempt directory {directory} of "
                             f"{_name(key)}: {error.strerror}") from error


def _write_exit(directory: Path, record: dict[str, Any]) -> None:
    """exit.json as the attempt parent writes it, so that `records.read_exit` reads it."""
    body = {name: record.get(name) for name in ("exit_code", "signal", "at", "start_error")}
    temporary = directory / f".{parent.EXIT}.tmp"
    temporary.write_text(json.dumps(body), encoding="utf-8")
    os.replace(temporary, directory / parent.EXIT)


def _job_files(directory: Path) -> list[tuple[Path, os.stat_result]]:
    """The files to ship: the job's directory without state, caches and VCS folders."""
    found = []
    for root, folders, names in os.walk(directory):
        folders[:] = [f for f in folders if f not in _SKIPPED]
        for name in names:
            path = Path(root) / name
            with contextlib.suppress(OSError):
                found.append((path.relative_to(directory), path.stat()))
    return found


def _say(log: Path, line: str) -> None:
    """A cluster event, in the attempt's log."""
    with contextlib.suppress(OSError):
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(event_line(line))


def _monotonic() -> float:
    return time.monotonic()


def _name(key: AttemptKey) -> str:
    return f"{key.run_id}/{key.seq}"
