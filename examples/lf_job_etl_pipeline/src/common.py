"""Shared by the pipeline's scripts: where this run's data lives."""

import os
import sqlite3
from pathlib import Path


def run_dir() -> Path:
    """output/run-<id>/ beside the job file: one folder per run, so runs never collide."""
    path = Path("output") / f"run-{os.environ.get('HEADWATER_RUN_ID', 'local')}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def warehouse() -> sqlite3.Connection:
    return sqlite3.connect(run_dir() / "warehouse.db")
