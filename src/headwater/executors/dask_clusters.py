"""The Dask clusters of an engine's runs: started when a run first needs one, found again
after a restart, closed when the run no longer needs it; and the existing clusters of the
configuration, which are only connected to.

A job cluster (or a task's own `new_cluster`) runs in a host process of its own
(`dask_host.py`, in its own session), so that it outlives the engine as the attempts on it
do. Each one is recorded under the engine's state directory before its host starts:

    <clusters dir>/<run id>/<name>/record.json   the host's pid, start ticks, boot and tag
    <clusters dir>/<run id>/<name>/spec.json     what the host builds
    <clusters dir>/<run id>/<name>/address       written by the host once its workers are up

so that an engine that restarts finds it: its host alive, it re-attaches (the attempts on it
run on); its host gone, what is left of it is killed by its tag and the record removed.
Closing a cluster SIGTERMs its host, which closes the cluster and its workers (a worker's
attempts end with it), then SIGKILLs whatever still carries its tag (`HEADWATER_CLUSTER_TAG`,
inherited by the host's workers and their attempts), so nothing is left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from distributed import Client

from headwater.config import ClusterSettings
from headwater.core.compute import ClusterRequest, cluster_size_problems
from headwater.errors import InvalidRequest
from headwater.executors import dask_host, parent, proctree

__all__ = ["TAG_VARIABLE", "Cluster", "Clusters"]

TAG_VARIABLE = "HEADWATER_CLUSTER_TAG"
RECORD = "record.json"
_START_SECONDS = 600.0
_CLOSE_SECONDS = 30.0

Say = Callable[[str], None]  # a line for the log of the attempt that waits


@dataclass(slots=True)
class Cluster:
    """A cluster this engine is connected to."""

    name: str
    cluster_id: str  # what `cluster_instance.cluster_id` says
    address: str
    client: Any  # distributed.Client (untyped)
    shared_files: bool
    setup_seconds: float  # how long it took to start (0 for an existing cluster)
    ours: bool  # started for a run: closed when the run no longer needs it
    directory: Path | None = None  # where it is recorded (ours only)


class Clusters:
    """Starts, finds again and closes clusters; thread-safe (starts run in the executor's
    background threads, one cluster at a time per name).

    Args:
        directory: where the records of started clusters live (`<home>/clusters`).
        config: the `clusters:` section of headwater.yml, by name.
        python: the interpreter that runs the cluster hosts.
    """

    def __init__(self, directory: Path, config: Mapping[str, ClusterSettings],
                 python: str = sys.executable) -> None:
        self.directory, self.config, self.python = directory, dict(config), python
        self.lock = threading.Lock()
        self.slots: dict[tuple[int | None, str], threading.Lock] = {}
        self.connected: dict[tuple[int | None, str], Cluster] = {}
        self.hosts: dict[Path, subprocess.Popen[bytes]] = {}  # ours to reap
        self.boot_id = parent.read_boot_id()

    # -- finding or starting -----------------------------------------------------------

    def settings_of(self, request: ClusterRequest) -> ClusterSettings:
        """The configuration entry for the cluster (an empty one for a plain job cluster).

        Raises:
            InvalidRequest: for an existing cluster the configuration does not name.
        """
        found = self.config.get(request.key)
        if request.existing and (found is None or found.scheduler_address is None):
            known = ", ".join(sorted(n for n, c in self.config.items() if c.scheduler_address))
            raise InvalidRequest(
                f"existing_cluster_id {request.key!r} names no cluster of the configuration "
                f"(headwater.yml `clusters:` has {known or 'none'}); add "
                f"`clusters: {{{request.key}: {{scheduler_address: tcp://HOST:8786}}}}`")
        return found or ClusterSettings()

    def get(self, run_id: int, request: ClusterRequest, say: Say, start: bool = True
            ) -> Cluster:
        """The run's cluster for `request`, connected: found, re-attached, or (with `start`)
        started.

        Raises:
            InvalidRequest: when it cannot be reached or started (the reason in words).
        """
        settings = self.settings_of(request)
        shared = settings.scheduler_address is not None
        slot_key = (None if shared else run_id, request.name)
        with self.slot(slot_key):
            if (known := self.connected.get(slot_key)) is not None:
                if not self.host_gone(known):
                    return known
                say(f"cluster {request.name}: its host ended; starting it again")
                with self.lock:
                    self.connected.pop(slot_key, None)
                with contextlib.suppress(Exception):
                    known.client.close(timeout=1)
            if settings.scheduler_address is not None:
                cluster = self.connect(request, settings, settings.scheduler_address, 0.0,
                                       False, request.key)
            else:
                cluster = self.start_or_attach(run_id, request, settings, say, start)
            self.connected[slot_key] = cluster
            return cluster

    def find(self, run_id: int, name: str) -> Cluster | None:
        """The cluster if this engine is connected to it already."""
        with self.lock:
            return self.connected.get((run_id, name)) or self.connected.get((None, name))

    def slot(self, key: tuple[int | None, str]) -> threading.Lock:
        with self.lock:
            return self.slots.setdefault(key, threading.Lock())

    def connect(self, request: ClusterRequest, settings: ClusterSettings, address: str,
                setup: float, ours: bool, cluster_id: str) -> Cluster:
        try:
            client = cast(Any, Client)(address, set_as_default=False, timeout="30s")
        except (OSError, TimeoutError) as error:
            raise InvalidRequest(f"cannot reach the Dask scheduler of cluster "
                                 f"{request.name} at {address}: {error}") from error
        shared = settings.shared_files
        if shared is None:  # the default LocalCluster runs on this machine: it sees our files
            shared = ours and settings.cluster_class is None
        return Cluster(request.name, cluster_id, address, client, shared, setup, ours)

    def start_or_attach(self, run_id: int, request: ClusterRequest,
                        settings: ClusterSettings, say: Say, start: bool) -> Cluster:
        directory = cluster_dir(self.directory, run_id, request.name)
        record = _read_json(directory / RECORD)
        if record is not None and not self.host_alive(record):
            say(f"cluster {request.name}: its host is gone; cleaning up what is left of it")
            self.remove(directory, record)
            record = None
        if record is None and not start:
            raise InvalidRequest(f"cluster {request.name} is gone (its host ended)")
        if record is None:
            record = self.start(directory, request, settings, say)
        address, setup = self.await_ready(directory, record, request, say)
        cluster = self.connect(request, settings, address, setup, True,
                               f"{run_id}-{request.name.replace('/', '-')}")
        cluster.directory = directory
        return cluster

    def start(self, directory: Path, request: ClusterRequest, settings: ClusterSettings,
              say: Say) -> dict[str, Any]:
        """Record the cluster, then start its host in a session of its own."""
        spec = host_spec(request, settings)
        say(f"cluster {request.name}: starting {spec['cluster_class']} "
            f"({_size_words(spec)}, {spec['threads_per_worker']} threads each)")
        directory.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}.{secrets.token_hex(6)}"
        record: dict[str, Any] = {"tag": tag, "boot_id": self.boot_id, "started": time.time(),
                                  "since_ticks": _ticks(os.getpid())}
        _write_json(directory / RECORD, record)  # first: a crash after the start leaves a tag
        _write_json(directory / dask_host.SPEC, spec)
        with (directory / "host.log").open("ab") as log:
            host = subprocess.Popen(
                [self.python, "-m", "headwater.executors.dask_host", str(directory)],
                env={**os.environ, TAG_VARIABLE: tag}, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, start_new_session=True)
        self.hosts[directory] = host
        record.update(pid=host.pid, start_ticks=_ticks(host.pid))
        _write_json(directory / RECORD, record)
        return record

    def await_ready(self, directory: Path, record: Mapping[str, Any], request: ClusterRequest,
                    say: Say) -> tuple[str, float]:
        """Wait for the host to say where its scheduler listens; (address, setup seconds)."""
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            address = _read_text(directory / dask_host.ADDRESS)
            if address:
                ready = (directory / dask_host.ADDRESS).stat().st_mtime
                setup = max(0.0, ready - float(record.get("started", ready)))
                say(f"cluster {request.name}: ready at {address} ({setup:.1f} s to start)")
                return address, setup
            error = _read_text(directory / dask_host.ERROR)
            if error or not self.host_alive(record):
                log = _read_text(directory / "host.log") or ""
                self.remove(directory, record)
                raise InvalidRequest(f"cluster {request.name} could not start: "
                                     f"{error or 'its host process ended'}\n{log[-2000:]}")
            time.sleep(0.05)
        self.remove(directory, record)
        raise InvalidRequest(f"cluster {request.name} did not start within "
                             f"{_START_SECONDS:.0f} s")

    def host_gone(self, cluster: Cluster) -> bool:
        """A cluster started for a run whose host process ended (killed, crashed): it and
        the attempts on it are gone. One read of its record and of /proc."""
        if cluster.directory is None:
            return False
        record = _read_json(cluster.directory / RECORD)
        return record is None or not self.host_alive(record)

    def host_alive(self, record: Mapping[str, Any]) -> bool:
        pid, ticks = record.get("pid"), record.get("start_ticks")
        if not isinstance(pid, int) or record.get("boot_id") != self.boot_id:
            return False
        info = proctree.read_process(pid)
        return info is not None and not info.gone and info.start_ticks == ticks

    # -- closing ---------------------------------------------------------------------------

    def runs(self) -> list[int]:
        """The runs with clusters recorded (started and not closed)."""
        if not self.directory.is_dir():
            return []
        return sorted(int(d.name) for d in self.directory.iterdir()
                      if d.name.isdigit() and any(d.iterdir()))

    def started_for(self, run_id: int) -> list[str]:
        """The names of the clusters recorded for the run."""
        directory = self.directory / str(run_id)
        if not directory.is_dir():
            return []
        return sorted(d.name.replace("__", "/") for d in directory.iterdir()
                      if (d / RECORD).exists())

    def close(self, run_id: int, name: str, say: Say | None = None) -> None:
        """Close the run's cluster: its host, its workers, every attempt on them."""
        with self.slot((run_id, name)):
            with self.lock:
                cluster = self.connected.pop((run_id, name), None)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.client.close(timeout=5)
            directory = cluster_dir(self.directory, run_id, name)
            record = _read_json(directory / RECORD)
            if record is not None:
                self.remove(directory, record)
            with contextlib.suppress(OSError):
                (self.directory / str(run_id)).rmdir()  # the run's last one

    def remove(self, directory: Path, record: Mapping[str, Any]) -> None:
        """Stop the host (it closes the cluster), kill what is left by its tag, forget it."""
        pid = record.get("pid")
        if isinstance(pid, int) and self.host_alive(record):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + _CLOSE_SECONDS
            while self.host_alive(record) and time.monotonic() < deadline:
                time.sleep(0.05)
        tag = record.get("tag")
        if isinstance(tag, str) and tag:
            since = int(record.get("since_ticks") or 0)
            proctree.kill_tagged([f"{TAG_VARIABLE}={tag}".encode()], since)
        host = self.hosts.pop(directory, None)
        if host is not None:
            host.wait()
        shutil.rmtree(directory, ignore_errors=True)

    def disconnect(self) -> None:
        """Close every connection; the clusters run on (a later engine re-attaches)."""
        with self.lock:
            clusters, self.connected = list(self.connected.values()), {}
        for cluster in clusters:
            with contextlib.suppress(Exception):
                cluster.client.close(timeout=5)


def cluster_dir(directory: Path, run_id: int, name: str) -> Path:
    """Where a run's cluster is recorded."""
    return directory / str(run_id) / name.replace("/", "__")


def host_spec(request: ClusterRequest, settings: ClusterSettings) -> dict[str, Any]:
    """What the host builds: the configured class (LocalCluster by default), sized by the
    `new_cluster` spec: `num_workers` (0 is one worker: a single node), or `autoscale`."""
    spec: dict[str, Any] = {"cluster_class": settings.cluster_class or dask_host.LOCAL_CLUSTER,
                            "cluster_kwargs": dict(settings.cluster_kwargs),
                            "threads_per_worker": settings.threads_per_worker,
                            "workers": None, "adapt": None}
    if problems := cluster_size_problems(request.new_cluster):  # a job saved before the check
        field, message = problems[0]
        raise InvalidRequest(f"cluster {request.name}: {field} {message}")
    autoscale = request.new_cluster.get("autoscale")
    if isinstance(autoscale, dict):
        low, high = autoscale.get("min_workers", 1), autoscale.get("max_workers", 1)
        spec["adapt"] = [low, max(high, 1)]
    else:
        workers = request.new_cluster.get("num_workers", 1)
        assert isinstance(workers, int)  # checked above
        spec["workers"] = max(workers, 1)
    return spec


def _size_words(spec: Mapping[str, Any]) -> str:
    if spec["adapt"]:
        return f"adaptive, {spec['adapt'][0]} to {spec['adapt'][1]} workers"
    return f"{spec['workers']} worker{'s' if spec['workers'] != 1 else ''}"


def _ticks(pid: int) -> int | None:
    info = proctree.read_process(pid)
    return info.start_ticks if info is not None else None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    text = _read_text(path)
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)
