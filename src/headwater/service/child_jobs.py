"""The job a Run Job task runs, when it names it by `job_name`, for the documents that show it.

A bundle's `run_job_task: {job_id: ${resources.jobs.<key>.id}}` is stored as the child job's
name (`core/bundle_references.py`): the id is not known when the bundle is loaded, and differs
wherever it is deployed. The task finds the job by that name when it starts. The Jobs API's
`jobs/get` and `runs/get` name the child by `job_id` (the SDK's `RunJobTask.job_id` is
required), so their documents give the id of the job the task would run now: the one job of
that name the caller may view, as `find_job` looks it up.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from headwater.api.documents import child_job_names, with_child_job_ids
from headwater.core.permissions import Principal
from headwater.ports import Store

__all__ = ["child_job_ids", "with_child_ids"]


def child_job_ids(store: Store, principal: Principal, names: Collection[str]
                  ) -> dict[str, int]:
    """The id of each name's job, for the names exactly one job `principal` may view has
    (ignoring case, as `jobs/list?name=` matches); the others have none."""
    found: dict[str, int] = {}
    for name in names:
        jobs = store.list_jobs(name, visible_to=principal)
        if len(jobs) == 1:
            found[name] = jobs[0].job_id
    return found


def with_child_ids(store: Store, principal: Principal, document: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """A `Job` or `Run` document whose Run Job tasks name their child by `job_id` where
    `child_job_ids` finds it (see the module docstring)."""
    names = child_job_names(document)
    if not names:
        return dict(document)
    return with_child_job_ids(document, child_job_ids(store, principal, names))
