"""Where a job's tasks run, in words: job clusters, task clusters, environments, variables.

For headwater a job cluster is a Dask cluster started for the run (a LocalCluster unless
headwater.yml says otherwise; see docs/guide/clusters.md) and an environment a Python
environment; the design names them and the tasks that use each. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from headwater.core.spec import JobSettings, Task
from headwater.design.words import joined_keys, quoted

__all__ = ["cluster_words", "compute_lines", "existing_cluster_users", "warehouse_users"]

SHOWN_CLUSTER_KEYS = ("spark_version", "node_type_id", "num_workers", "autoscale")


def compute_lines(settings: JobSettings) -> list[str]:
    """One line per job cluster, task cluster, environment and variable set."""
    lines = _cluster_lines(settings) + _environment_lines(settings)
    return lines or ["no job clusters or environments: every task runs on the local executor "
                     "with the job's Python"]


def _cluster_lines(settings: JobSettings) -> list[str]:
    lines = []
    for cluster in settings.job_clusters:
        users = [t.task_key for t in settings.tasks if t.job_cluster_key == cluster.job_cluster_key]
        lines.append(f"job cluster `{cluster.job_cluster_key}` (a Dask cluster made for each "
                     f"run): {cluster_words(cluster.new_cluster)}{_used_by(users)}")
    for task in settings.tasks:
        if task.existing_cluster_id:
            lines.append(f"task `{task.task_key}` runs on the existing Dask cluster "
                         f"`{task.existing_cluster_id}` (named in headwater.yml)")
        if task.new_cluster is not None:
            lines.append(f"task `{task.task_key}` has a Dask cluster of its own: "
                         f"{cluster_words(task.new_cluster)}")
    return lines


def _environment_lines(settings: JobSettings) -> list[str]:
    lines = []
    for environment in settings.environments:
        spec = environment.spec
        parts = []
        if spec is not None and (spec.environment_version or spec.client):
            parts.append(f"version {spec.environment_version or spec.client}")
        if spec is not None and spec.dependencies:
            parts.append("dependencies " + " ".join(quoted(d) for d in spec.dependencies))
        key = environment.environment_key
        users = [t.task_key for t in settings.tasks if t.environment_key == key]
        lines.append(f"environment `{key}`: {', '.join(parts) or 'default'}{_used_by(users)}")
    for variables in settings.environment_variables:
        names = sorted(variables.spec.variables) if variables.spec else []
        key = variables.environment_variables_key
        users = [t.task_key for t in settings.tasks if t.environment_variables_key == key]
        listed = joined_keys(names) if names else "none inline"
        lines.append(f"environment variables `{key}`: {listed}{_used_by(users)}")
    return lines


def cluster_words(spec: Mapping[str, object]) -> str:
    """`runtime `15.4.x`, node type `i3.xlarge`, 2 workers` from a `new_cluster` mapping."""
    words = []
    if "spark_version" in spec:
        words.append(f"runtime `{spec['spark_version']}`")
    if "node_type_id" in spec:
        words.append(f"node type `{spec['node_type_id']}`")
    if "num_workers" in spec:
        words.append(f"{spec['num_workers']} workers")
    autoscale = spec.get("autoscale")
    if isinstance(autoscale, dict):
        low, high = autoscale.get("min_workers", "?"), autoscale.get("max_workers", "?")
        words.append(f"autoscaling from {low} to {high} workers")
    words += [f"{key} `{value}`" for key, value in spec.items()
              if key not in SHOWN_CLUSTER_KEYS and isinstance(value, str | int | float | bool)]
    return ", ".join(words) or "default settings"


def _used_by(keys: list[str]) -> str:
    return f"; used by {joined_keys(keys)}" if keys else "; used by no task"


def warehouse_users(settings: JobSettings) -> dict[str, list[str]]:
    """Each `warehouse_id` the job's tasks name (SQL, notebook, dbt; a for-each's nested task
    too), with the keys of the tasks naming it, in the job's order."""
    found: dict[str, list[str]] = {}
    for key, each in _tasks_and_nested(settings):
        for payload in (each.sql_task, each.notebook_task, each.dbt_task):
            warehouse = getattr(payload, "warehouse_id", None)
            if warehouse:
                found.setdefault(warehouse, []).append(key)
    return found


def existing_cluster_users(settings: JobSettings) -> dict[str, list[str]]:
    """Each `existing_cluster_id` the job's tasks name (a for-each's nested task too), with
    the keys of the tasks naming it, in the job's order."""
    found: dict[str, list[str]] = {}
    for key, each in _tasks_and_nested(settings):
        if each.existing_cluster_id:
            found.setdefault(each.existing_cluster_id, []).append(key)
    return found


def _tasks_and_nested(settings: JobSettings) -> Iterator[tuple[str, Task]]:
    """Each task, and a for-each's nested task, under the key of the job's task."""
    for task in settings.tasks:
        yield task.task_key, task
        if task.for_each_task is not None:
            yield task.task_key, task.for_each_task.task
