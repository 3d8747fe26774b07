"""Run Job tasks against the jobs loaded beside them: a parameter the child job does not declare.

A Run Job task's `job_parameters` reach the child run only where the child job declares them:
the others are dropped when the task starts (a choice, docs/semantics.md), so a misspelt name
would vanish without a word. When the child is a job of the same bundle, whose parameters are
known before anything runs, each such name is a warning at the line that writes it; the file
stays valid, as the Databricks CLI deploys it. A child named by `job_id` (another job, known
only where it is deployed) is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from headwater.core.checks import iter_tasks, suggest
from headwater.core.spec import JobSettings

__all__ = ["undeclared_child_parameters"]


def undeclared_child_parameters(jobs: Mapping[str, JobSettings]) -> Iterator[tuple[str, str, str]]:
    """Each `run_job_task.job_parameters` name the child job does not declare, as
    `(the parent's resource name, its path in the parent, message)`.

    Args:
        jobs: the jobs loaded together, by resource name; a Run Job task's `job_name` names
            one of them by its name (or, for a job without one, its resource name).
    """
    children = _by_name(jobs)
    for resource, settings in jobs.items():
        for path, task in iter_tasks(settings):
            run_job = task.run_job_task
            child = children.get(run_job.job_name or "") if run_job is not None else None
            if run_job is None or child is None:
                continue
            declared = [parameter.name for parameter in child.parameters]
            for name in run_job.job_parameters:
                if name not in declared:
                    yield resource, f"{path}.run_job_task.job_parameters.{name}", _message(
                        run_job.job_name or "", name, declared)


def _by_name(jobs: Mapping[str, JobSettings]) -> dict[str, JobSettings]:
    """The jobs by the name a Run Job task finds them by; a name two jobs share names none."""
    found: dict[str, JobSettings | None] = {}
    for resource, settings in jobs.items():
        name = settings.name or resource
        found[name] = None if name in found else settings
    return {name: settings for name, settings in found.items() if settings is not None}


def _message(child: str, name: str, declared: list[str]) -> str:
    known = f"it declares {', '.join(map(repr, declared))}" if declared else "it declares none"
    return (f"job {child!r} declares no parameter {name!r}{suggest(name, declared)}: the Run "
            "Job task would drop this value when it starts; declare the parameter in that job, "
            f"or correct the name ({known})")
