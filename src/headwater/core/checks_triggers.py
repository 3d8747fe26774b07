"""The rules of a job's schedule and triggers that their field types cannot express.

A trigger is one kind (periodic, file arrival, table update or job completion), as the Jobs
API requires. A job-completion trigger names each upstream job once, by `job_id` (a job's
number) or, in a bundle, by `job_name`. A cron schedule's expression and time zone are read
as Quartz reads them (Quartz would run an unknown zone as GMT without a word: headwater refuses
it). A file-arrival URL names a folder headwater can watch: a local one, or a Unity Catalog
volume or DBFS path (`core/file_arrival.py`), never cloud storage. The multi-trigger list
`triggers` is not combined with the legacy `schedule`, `trigger` or `continuous`, and each of
its entries is exactly one kind, checked as the legacy one is.
"""

from __future__ import annotations

from collections.abc import Iterator

from headwater.core.cron import CronError, parse_cron, time_zone
from headwater.core.file_arrival import WatchedLocation, unwatchable_message, watched_location
from headwater.core.spec import JobSettings
from headwater.core.spec_job import JobCompletionTrigger
from headwater.core.triggers import KEPT_TRIGGER_KINDS, TRIGGER_KINDS, trigger_paths

Finding = tuple[str, str]  # (path, message)

__all__ = ["check_trigger"]

ENTRY_KINDS = ("schedule", *KEPT_TRIGGER_KINDS, "continuous")
LEGACY = ("schedule", "trigger", "continuous")


def check_trigger(settings: JobSettings) -> Iterator[Finding]:
    """The problems of the job's `schedule` and `trigger`, or of its `triggers`."""
    legacy = [name for name in LEGACY if getattr(settings, name) is not None]
    if not settings.triggers:
        if len(legacy) > 1:
            yield legacy[1], (f"{' and '.join(legacy)} cannot be set together: a job has one "
                              "of schedule, trigger and continuous; remove the others, or "
                              "give each its own entry of triggers")
        yield from _one(settings, "schedule", "trigger")
        return
    if legacy:
        yield "triggers", (f"triggers cannot be set with {' and '.join(legacy)}: move "
                           f"{'it' if len(legacy) == 1 else 'them'} into an entry of triggers "
                           "(one kind each), or remove triggers")
    for entry, (path, view) in zip(settings.triggers, trigger_paths(settings), strict=True):
        kinds = [kind for kind in ENTRY_KINDS if getattr(entry, kind) is not None]
        if len(kinds) != 1:
            yield path, (f"an entry of triggers is one kind, but this one sets "
                         f"{' and '.join(kinds) or 'none'}: give exactly one of "
                         f"{', '.join(ENTRY_KINDS)} (another trigger is another entry)")
        yield from _one(view, f"{path}.schedule", path)


def _one(settings: JobSettings, schedule_path: str, trigger_path: str) -> Iterator[Finding]:
    """The problems of one schedule or trigger, named under these paths."""
    schedule = settings.schedule
    for field, check in (("quartz_cron_expression", parse_cron), ("timezone_id", time_zone)):
        try:
            if schedule is not None:
                check(getattr(schedule, field))
        except CronError as error:
            yield f"{schedule_path}.{field}", error.message
    trigger = settings.trigger
    if trigger is None:
        return
    kinds = [kind for kind in KEPT_TRIGGER_KINDS if getattr(trigger, kind) is not None]
    if not kinds and trigger.sql_condition is None and trigger_path == "trigger":
        yield "trigger", (f"a trigger needs its kind: give one of {', '.join(TRIGGER_KINDS)} "
                          "(a cron schedule goes under `schedule:`), or remove trigger")
    if len(kinds) > 1 and trigger_path == "trigger":  # an entry's kinds are counted above
        yield f"trigger.{kinds[1]}", (
            f"a trigger is one kind, but this one sets {' and '.join(kinds)}: keep one (a "
            "cron schedule goes under `schedule:`)")
    if trigger.job_completion is not None:
        yield from _monitored_jobs(trigger.job_completion, f"{trigger_path}.job_completion")
    arrival = trigger.file_arrival
    if arrival is not None and watched_location(arrival.url) == WatchedLocation.CLOUD:
        yield f"{trigger_path}.file_arrival.url", unwatchable_message(arrival.url)


def _monitored_jobs(completion: JobCompletionTrigger, where: str) -> Iterator[Finding]:
    """Each upstream job named once, by a number or (in a bundle) by name."""
    named: dict[str, int] = {}
    for index, job in enumerate(completion.jobs):
        path = f"{where}.jobs[{index}]"
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
