"""Where a task's attempts run: on this machine, or on a Dask cluster (a job cluster, a
cluster of the task's own, or an existing cluster named in the configuration).

Pure: the cluster an attempt asks for (`cluster_for`), and the clusters a run still needs
(`clusters_needed`), so that the engine can let a cluster go as soon as its last task is done.

Names of clusters are unique within a run and say where the spec came from:

    job_clusters/<job_cluster_key>   a job cluster of the job (`job_clusters[]`)
    tasks/<task_key>                 a task's own `new_cluster`
    existing/<existing_cluster_id>   a long-lived cluster from the configuration (never closed)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from headwater.core.plan import Plan, PlannedTask
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings, Task

__all__ = ["EXISTING", "ClusterRequest", "cluster_for", "cluster_size_problems",
           "clusters_needed"]

EXISTING = "existing/"


@dataclass(frozen=True, slots=True)
class ClusterRequest:
    """The cluster an attempt runs on: its name in the run and what it is made from."""

    name: str  # job_clusters/<key>, tasks/<task_key> or existing/<id>
    key: str  # the job cluster key, the task key, or the existing cluster's id
    new_cluster: Mapping[str, object] = field(default_factory=dict)  # empty for existing

    @property
    def existing(self) -> bool:
        """A cluster that headwater neither starts nor closes."""
        return self.name.startswith(EXISTING)


def cluster_size_problems(new_cluster: Mapping[str, object]) -> list[tuple[str, str]]:
    """What is wrong with a `new_cluster`'s size, `num_workers` or `autoscale`, as (field
    within it, message): found when a job is checked, not when its cluster starts."""
    problems = []
    if "num_workers" in new_cluster and not _count(workers := new_cluster["num_workers"]):
        problems.append(("num_workers", f"must be 0 or more workers (0: a single node), got "
                                        f"{workers!r}"))
    autoscale = new_cluster.get("autoscale")
    if autoscale is not None and not isinstance(autoscale, Mapping):
        problems.append(("autoscale", "must be a mapping: {min_workers: 1, max_workers: 4}"))
    elif autoscale is not None:
        low, high = autoscale.get("min_workers", 1), autoscale.get("max_workers", 1)
        for name, value in (("min_workers", low), ("max_workers", high)):
            if not _count(value):
                problems.append((f"autoscale.{name}", f"must be 0 or more workers, got "
                                                      f"{value!r}"))
        if _count(low) and _count(high) and low > high:
            problems.append(("autoscale", f"min_workers {low} is more than max_workers {high}; "
                                          "swap them"))
    return problems


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def cluster_for(settings: JobSettings, task: Task) -> ClusterRequest | None:
    """The cluster the task's attempts run on; None to run them on this machine.

    `core/checks.py` has refused a job whose task names an unknown job cluster, or more than
    one kind of compute, before any run is made.
    """
    if task.existing_cluster_id:
        return ClusterRequest(f"{EXISTING}{task.existing_cluster_id}", task.existing_cluster_id)
    if task.new_cluster is not None:
        return ClusterRequest(f"tasks/{task.task_key}", task.task_key, dict(task.new_cluster))
    if task.job_cluster_key:
        for cluster in settings.job_clusters:
            if cluster.job_cluster_key == task.job_cluster_key:
                return ClusterRequest(f"job_clusters/{cluster.job_cluster_key}",
                                      cluster.job_cluster_key, dict(cluster.new_cluster))
    return None


def clusters_needed(settings: JobSettings, state: RunState) -> frozenset[str]:
    """The clusters that a task of the run may still start an attempt on.

    A task needs its cluster until its latest attempt has ended for good: while it has not
    started, runs, or waits for a retry (a retry is a new task run, not terminal). An ended
    run needs none: its clusters are closed, and a repair starts them again.
    """
    if state.is_terminal:
        return frozenset()
    needed: set[str] = set()
    for key, task in state.plan.tasks.items():
        latest = state.latest_run(key)
        if latest is not None and latest.is_terminal:
            continue
        for planned in _process_tasks(task):
            request = cluster_for(settings, planned.spec)
            if request is not None:
                needed.add(request.name)
    return frozenset(needed)


def uses_clusters(settings: JobSettings, plan: Plan) -> bool:
    """Whether a task of the plan runs on a cluster (if not, `clusters_needed` is empty)."""
    return any(cluster_for(settings, planned.spec) is not None
               for task in plan.tasks.values() for planned in _process_tasks(task))


def _process_tasks(task: PlannedTask) -> list[PlannedTask]:
    """The task whose attempts are processes: a for-each's nested task, else the task."""
    return [task.nested] if task.nested is not None else [task]
