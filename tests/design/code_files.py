"""The code files the fixture jobs run: a bundle whose notebooks or scripts are missing does not
load (as the Databricks CLI refuses it), so a copied fixture comes with them, empty."""

from __future__ import annotations

from pathlib import Path

CODE = {
    "designed_job.yml": ("notebooks/ingest_orders.py", "src/publish.py"),
    "good_job.yml": ("src/ingest.py",),
    "poor_job.yml": ("src/ingest_orders.py",),
}


def with_its_code(job: Path, fixture: str) -> Path:
    """Put an empty file beside the copy `job` of `fixture` for each file the fixture runs."""
    for name in CODE[fixture]:
        path = job.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return job
