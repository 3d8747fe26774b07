"""`${resources.<type>.<key>.<field>}`: references from a bundle's jobs to its resources.

The Databricks CLI fills these in at deploy time with the deployed resource's fields. headwater:

- `${resources.jobs.<key>.id}` as a `run_job_task.job_id` or the `job_id` of a job-completion
  trigger's monitored job names that job of the bundle: it becomes `job_name` (the job's name
  as the target makes it), which the task (or the trigger) looks up when it starts (or
  looks), so it finds the job's headwater id wherever the bundle was deployed;
- a field written in the resource itself (`${resources.schemas.raw.name}`,
  `${resources.volumes.files.catalog_name}`) is filled in with its value;
- anything else (an id headwater never makes, such as a pipeline's) stays as written, with a
  warning; a task that needs the resource itself (`pipeline_task`) is an error of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from headwater.core.bundle_model import BundleProblem, ComposedJob, Loc, as_list, as_mapping
from headwater.core.checks import format_path, suggest

__all__ = ["resolve_job_references"]

_REFERENCE = re.compile(r"\$\{resources\.([A-Za-z0-9_]+)\.([A-Za-z0-9_\-]+)\.([A-Za-z0-9_.]+)\}")

# Resource data by type and key, as written (other resources) or composed (jobs).
Resources = Mapping[str, Mapping[str, object]]


def resolve_job_references(
    jobs: Sequence[ComposedJob], others: Resources, problems: list[BundleProblem]
) -> None:
    """Fill in the `${resources.*}` references of every job (see the module docstring)."""
    resources: dict[str, Mapping[str, object]] = dict(others)
    resources["jobs"] = {job.resource_name: job.data for job in jobs}
    for job in jobs:
        data = as_mapping(job.data)
        for at, naming in _job_namings(data):
            _name_the_job(job, at, naming, resources["jobs"], problems)
        job.data = _fill(job, job.data, (), resources, problems)


def _job_namings(data: Mapping[str, object]) -> Iterator[tuple[Loc, dict[str, object]]]:
    """The mappings whose `job_id` may name another job: run-job tasks, monitored jobs."""
    triggers: list[tuple[Loc, object]] = [(("trigger",), data.get("trigger")), *(
        (("triggers", index), entry) for index, entry in enumerate(as_list(data.get("triggers"))))]
    for at, trigger in triggers:
        completion = as_mapping(as_mapping(trigger).get("job_completion"))
        for index, item in enumerate(as_list(completion.get("jobs"))):
            if isinstance(item, dict):
                yield (*at, "job_completion", "jobs", index), item
    for index, item in enumerate(as_list(data.get("tasks"))):
        task = as_mapping(item)
        nested = as_mapping(as_mapping(task.get("for_each_task")).get("task"))
        places: list[tuple[Loc, dict[str, object]]] = [
            (("tasks", index), task), (("tasks", index, "for_each_task", "task"), nested)]
        for at, each in places:
            run_job = each.get("run_job_task")
            if isinstance(run_job, dict):
                yield (*at, "run_job_task"), run_job


def _name_the_job(
    job: ComposedJob,
    at: Loc,
    naming: dict[str, object],
    jobs: Mapping[str, object],
    problems: list[BundleProblem],
) -> None:
    written = naming.get("job_id")
    match = _REFERENCE.fullmatch(written) if isinstance(written, str) else None
    if match is None or match.group(1) != "jobs" or match.group(3) != "id":
        return
    key = match.group(2)
    if key not in jobs:
        message = (f"{written}: the bundle has no job {key!r}{suggest(key, list(jobs))}; "
                   f"the jobs are: {', '.join(jobs)}")
        where = (*at, "job_id")
        problems.append(BundleProblem(job.origin(where), format_path(where), message))
        job.failed.append(where)
        return
    target = as_mapping(jobs[key])
    del naming["job_id"]
    naming["job_name"] = target.get("name") or key


def _fill(
    job: ComposedJob, value: object, at: Loc, resources: Resources,
    problems: list[BundleProblem],
) -> object:
    if isinstance(value, dict):
        return {k: _fill(job, v, (*at, k), resources, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(job, v, (*at, i), resources, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${resources." not in value:
        return value
    left: list[str] = []

    def replace(match: re.Match[str]) -> str:
        found = _field(resources, match.group(1), match.group(2), match.group(3))
        if found is None:
            left.append(match.group(0))
            return match.group(0)
        return found

    filled = _REFERENCE.sub(replace, value)
    for raw in left:
        message = (f"{raw} stays as written: headwater deploys only jobs, so it has no value "
                   "for it here")
        problems.append(BundleProblem(job.origin(at), format_path(at), message, warning=True))
    return filled


def _field(resources: Resources, kind: str, key: str, path: str) -> str | None:
    """The written value of `path` in resource `kind.key`, as text (None if not written)."""
    value: object = as_mapping(resources.get(kind)).get(key)
    for part in path.split("."):
        value = as_mapping(value).get(part)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, str | int | float) else None
