"""The host of one job cluster: a process of its own that starts a Dask cluster, says where
its scheduler listens, and closes it when told to.

`python -m headwater.executors.dask_host CLUSTER_DIR`, started by `dask_clusters.py` in a
session of its own, so that the cluster outlives the engine that asked for it (as attempts
do): an engine that restarts finds the cluster again by its record and re-attaches to it, and
the attempts on it run on. It reads CLUSTER_DIR/spec.json:

    {"cluster_class": "distributed.LocalCluster" or "module.Class",
     "cluster_kwargs": {...}, "workers": 2 | null, "adapt": [minimum, maximum] | null,
     "threads_per_worker": 4}

builds the cluster (a `LocalCluster` of worker processes on loopback by default), scales it
(`scale(workers)`, or Dask's adaptive scaling between `adapt`'s bounds), waits for its first
workers, then writes the scheduler's address to CLUSTER_DIR/address (or what went wrong to
CLUSTER_DIR/error). SIGTERM closes the cluster, its workers and every attempt on them (a
worker's attempts end with it), then the host exits.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ADDRESS, ERROR, SPEC = "address", "error", "spec.json"
LOCAL_CLUSTER = "distributed.LocalCluster"
_READY_SECONDS = 300.0  # first workers of a batch-system cluster may queue for a while


def _write(directory: Path, name: str, text: str) -> None:
    temporary = directory / f".{name}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, directory / name)


def build(spec: dict[str, Any]) -> Any:
    """The cluster manager the spec names, started."""
    path = str(spec.get("cluster_class") or LOCAL_CLUSTER)
    module, _, name = path.rpartition(".")
    kind = getattr(importlib.import_module(module), name)
    kwargs = dict(spec.get("cluster_kwargs") or {})
    if path == LOCAL_CLUSTER:
        kwargs = {"n_workers": 0, "threads_per_worker": spec.get("threads_per_worker", 4),
                  "processes": True, "host": "127.0.0.1", "dashboard_address": None,
                  **kwargs}
    return kind(**kwargs)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m headwater.executors.dask_host CLUSTER_DIR\n")
        return 2
    directory = Path(argv[0])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's, not the cluster's
    try:
        spec = json.loads((directory / SPEC).read_text(encoding="utf-8"))
        cluster = build(spec)
    except Exception as error:  # whatever failed, the engine reads why
        _write(directory, ERROR, f"{type(error).__name__}: {error}")
        return 1
    try:
        adapt = spec.get("adapt")
        if adapt:
            cluster.adapt(minimum=adapt[0], maximum=adapt[1])
        else:
            cluster.scale(int(spec.get("workers") or 1))
        first = int(adapt[0] if adapt else spec.get("workers") or 1)
        if first:
            cluster.wait_for_workers(first, timeout=_READY_SECONDS)
        _write(directory, ADDRESS, cluster.scheduler_address)
        while not stop.wait(0.5):
            pass
    except Exception as error:
        _write(directory, ERROR, f"{type(error).__name__}: {error}")
        return 1
    finally:
        cluster.close(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
