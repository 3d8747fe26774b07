"""`RoutingExecutor`: each attempt on the executor its task asks for.

An attempt whose launch names a cluster (`LaunchSpec.cluster`: a job cluster, a task's own
`new_cluster`, an `existing_cluster_id`) runs on Dask; every other attempt runs on this
machine, as before. The Dask executor is made on first use, so an engine whose runs name no
cluster never imports Dask, and the default install needs none of it: without the `[dask]`
extra, a job cluster's attempts run on this machine (their log says so), and an existing
cluster is an error that names the extra.

`wait` serves both: it blocks on whichever has attempts, and in short slices on both when
both have (the local executor wakes at once on its exits; Dask's wait up to a slice).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from headwater.errors import InvalidRequest
from headwater.ports import AttemptKey, Executor, LaunchSpec, TaskExit

__all__ = ["INSTALL_HINT", "ClusterExecutor", "RoutingExecutor"]

INSTALL_HINT = "pip install 'headwater[dask]'"
_SLICE_SECONDS = 0.02
_MARKER = "dask.json"  # what the Dask executor leaves in an attempt directory


class ClusterExecutor(Executor, Protocol):
    """An executor that starts clusters for runs (`headwater.ports.ClusterKeeper` too)."""

    def keep_clusters(self, run_id: int, names: Collection[str]) -> None: ...

    def runs_with_clusters(self) -> list[int]: ...


class RoutingExecutor:
    """Routes attempts to the local executor or to Dask; implements `Executor` and
    `ClusterKeeper`.

    Args:
        local: the executor of attempts that name no cluster.
        make_cluster_executor: makes the Dask executor; raises ImportError when Dask is not
            installed.
        clusters_dir: where started clusters are recorded (read without importing Dask).
    """

    def __init__(self, local: Executor, make_cluster_executor: Callable[[], ClusterExecutor],
                 clusters_dir: Path) -> None:
        self._local, self._make, self._clusters_dir = local, make_cluster_executor, clusters_dir
        self._remote: ClusterExecutor | None = None
        self._missing: str | None = None  # why Dask cannot be used
        self._on_cluster: set[AttemptKey] = set()

    def _cluster_executor(self) -> ClusterExecutor | None:
        if self._remote is None and self._missing is None:
            try:
                self._remote = self._make()
            except ImportError as error:
                self._missing = f"Dask is not installed ({error.name or error}): {INSTALL_HINT}"
        return self._remote

    # -- launching -------------------------------------------------------------------------

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        if spec.cluster is None:
            return self._local.launch(key, spec)
        remote = self._cluster_executor()
        if remote is None:
            if spec.cluster.existing:
                raise InvalidRequest(f"existing_cluster_id {spec.cluster.key!r} is a Dask "
                                     f"cluster; {self._missing}")
            _note(spec.log_path, f"cluster {spec.cluster.name}: {self._missing}; the attempt "
                                 "runs on this machine")
            return self._local.launch(key, replace(spec, cluster=None))
        handle = remote.launch(key, spec)
        self._on_cluster.add(key)
        return handle

    def adopt(self, key: AttemptKey, handle: str | None, attempt_dir: Path) -> str | None:
        if (handle or "").startswith("dask:") or (attempt_dir / _MARKER).exists():
            remote = self._cluster_executor()
            if remote is None:
                raise InvalidRequest(f"attempt {key.run_id}/{key.seq} ran on a Dask cluster; "
                                     f"{self._missing}")
            self._on_cluster.add(key)
            return remote.adopt(key, handle, attempt_dir)
        return self._local.adopt(key, handle, attempt_dir)

    def _owner(self, key: AttemptKey) -> Executor:
        if key in self._on_cluster and self._remote is not None:
            return self._remote
        return self._local

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        self._owner(key).kill(key, grace_seconds)

    def release(self, key: AttemptKey) -> None:
        self._owner(key).release(key)
        self._on_cluster.discard(key)

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, timeout: float) -> list[TaskExit]:
        remote = self._remote
        if remote is None or not remote.running():
            return self._reported(self._local.wait(timeout) + (remote.wait(0) if remote else []))
        if not self._local.running():
            return self._reported(remote.wait(timeout) + self._local.wait(0))
        deadline = _now() + timeout
        while True:
            exits = self._local.wait(min(_SLICE_SECONDS, timeout)) + remote.wait(0)
            if exits or _now() >= deadline:
                return self._reported(exits)

    def _reported(self, exits: list[TaskExit]) -> list[TaskExit]:
        for exit_ in exits:
            self._on_cluster.discard(exit_.key)
        return exits

    def running(self) -> int:
        remote = self._remote.running() if self._remote is not None else 0
        return self._local.running() + remote

    # -- clusters --------------------------------------------------------------------------

    def keep_clusters(self, run_id: int, names: Collection[str]) -> None:
        if self._remote is None and not (self._clusters_dir / str(run_id)).is_dir():
            return  # nothing started for this run: no need to load Dask to say so
        remote = self._cluster_executor()
        if remote is not None:
            remote.keep_clusters(run_id, names)

    def runs_with_clusters(self) -> list[int]:
        if self._remote is None and not any(self._clusters_dir.glob("[0-9]*/*")):
            return []
        remote = self._cluster_executor()
        return remote.runs_with_clusters() if remote is not None else []

    def close(self) -> None:
        try:
            if self._remote is not None:
                self._remote.close()
        finally:
            self._local.close()


def _note(log: Path, line: str) -> None:
    with contextlib.suppress(OSError):
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"[headwater] {line}\n")


def _now() -> float:
    return time.monotonic()
