"""Jobs the UI may not edit: those whose settings say `edit_mode: UI_LOCKED`, as a bundle's
jobs do in Lakeflow (their files are their source). The pages show their edit links disabled
with a note saying where to change them, and the edit routes refuse them; the API may still
change them, as Lakeflow's does. Pure.
"""

from __future__ import annotations

from headwater.core.spec_job import EditMode
from headwater.errors import Conflict
from headwater.ports import JobRecord


class JobLocked(Conflict):
    """Raised when the UI is asked to change a job whose settings lock it (`UI_LOCKED`)."""


def is_locked(job: JobRecord) -> bool:
    return job.settings.get("edit_mode") == EditMode.UI_LOCKED


def lock_note(job: JobRecord) -> str | None:
    """What the job's pages say of a locked job (None for a job the UI may edit)."""
    if not is_locked(job):
        return None
    if job.deployment_key or job.source != "api":
        return (f"This job is managed by a bundle (deployed from {job.source}); change its "
                "files and redeploy.")
    return ("This job is managed by a bundle or another tool (its settings say edit_mode: "
            "UI_LOCKED); change it there and deploy it again, or through the Jobs API.")


def check_editable(job: JobRecord) -> None:
    """`JobLocked` (409) for a job the UI may not edit."""
    note = lock_note(job)
    if note is not None:
        raise JobLocked(f"Job {job.job_id} cannot be edited here. {note}")


__all__ = ["JobLocked", "check_editable", "is_locked", "lock_note"]
