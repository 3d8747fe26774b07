"""Where a run's relative paths start: the folder of the job's file (its working directory)."""

from __future__ import annotations

from pathlib import Path

from headwater.ports import JobRecord


def job_folder(job: JobRecord) -> Path:
    """The folder of the file the job was deployed from; the working directory for a job made
    through the API (or whose file is gone)."""
    source = Path(job.source)
    return source.parent if source.is_file() else Path.cwd()
