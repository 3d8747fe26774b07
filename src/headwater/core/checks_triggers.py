"""The rules of a job's `trigger` that its field types cannot express.

A trigger is one kind (periodic, file arrival, table update or job completion), as the Jobs
API requires. A job-completion trigger names each upstream job once, by `job_id` (a job's
number) or, in a bundle, by `job_name`.
"""

from __future__ import annotations

from collections.abc import Iterator

from headwater.core.spec import JobSettings
from headwater.core.triggers import TRIGGER_KINDS

Finding = tuple[str, str]  # (path, message)

__all__ = ["check_trigger"]


def check_trigger(settings: JobSettings) -> Iterator[Finding]:
    """The problems of the job's `trigger`."""
    trigger = settings.trigger
    if trigger is None:
        return
    kinds = [kind for kind in TRIGGER_KINDS if getattr(trigger, kind) is not None]
    if len(kinds) > 1:
        yield f"trigger.{kinds[1]}", (
            f"a trigger is one kind, but this one sets {' and '.join(kinds)}: keep one (a "
            "cron schedule goes under `schedule:`)")
    completion = trigger.job_completion
    if completion is None:
        return
    named: dict[str, int] = {}
    for index, job in enumerate(completion.jobs):
        path = f"trigger.job_completion.jobs[{index}]"
        if bool(job.job_id) == bool(job.job_name):
            yield path, ("name the upstream job by job_id (in a bundle, "
                         "job_id: ${resources.jobs.<key>.id}), and only by that")
            continue
        if job.job_id and not job.job_id.isdigit():
            yield f"{path}.job_id", f"a job id is a number (got {job.job_id!r})"
            continue
        key = job.job_id or (job.job_name or "").lower()
        if key in named:
            yield path, (f"this job is monitored twice (also jobs[{named[key]}]); "
                         "list each upstream job once")
        named.setdefault(key, index)
