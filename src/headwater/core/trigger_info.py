"""What a run's `trigger_info` says, read for its pages and its references: the upstream runs
of a job-completion trigger, the time of a backfill run, the tables of a table update. Light on
purpose (no spec models), so that `headwater runs get` starts fast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["backfill_time", "backfill_words", "normal_table", "upstream_runs"]


def upstream_runs(trigger_info: Any) -> list[tuple[str, str]]:
    """(job id, run id) of each upstream run whose end fired a run, from its `trigger_info`."""
    done = _section(trigger_info, "job_completion").get("completed_jobs", [])
    return [(str(item["job_id"]), str(item["run_id"])) for item in done]


def backfill_words(trigger_info: Any) -> str:
    """`run 2 of 7 of backfill 12, for 2026-11-02T00:00:00Z` ("" for other runs)."""
    backfill = _section(trigger_info, "backfill")
    if not backfill:
        return ""
    return (f"run {backfill.get('index')} of {backfill.get('count')} of backfill "
            f"{backfill.get('backfill_id')}, for {backfill.get('time')}")


def backfill_id(trigger_info: Any) -> int | None:
    """The backfill a run belongs to, from its `trigger_info` (None for other runs)."""
    found = _section(trigger_info, "backfill").get("backfill_id")
    return found if isinstance(found, int) else None


def backfill_time(trigger_info: Any) -> datetime | None:
    """The time a backfill run replays, from its `trigger_info` (None for other runs)."""
    time = _section(trigger_info, "backfill").get("time")
    return datetime.fromisoformat(str(time)) if time else None


def _section(trigger_info: Any, name: str) -> dict[str, Any]:
    """`trigger_info[name]` when both are objects, else {} (a run another way started)."""
    found = trigger_info.get(name) if isinstance(trigger_info, dict) else None
    return found if isinstance(found, dict) else {}


def normal_table(name: str) -> str:
    """A table name as commits record it: `schema.table`, lower case, without quotes or a
    catalog; a name without a schema is in `main`."""
    parts = [part.strip().strip('"`').lower() for part in name.split(".")]
    if len(parts) == 1:
        parts.insert(0, "main")
    return ".".join(parts[-2:])
