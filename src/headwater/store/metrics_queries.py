"""Read-side queries for operators: a job's recent runs summarised, and read-only SQL.

`job_summary` reads the Lakeflow-named views (`job_run_timeline`, `job_task_run_timeline`,
`job_task_run_metrics`) and folds them in Python, so the figures are the same on SQLite and
PostgreSQL. `run_read_only` runs one user statement in a transaction that cannot write
(`PRAGMA query_only` on SQLite, `SET TRANSACTION READ ONLY` on PostgreSQL) and is rolled back.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, select, text

from headwater.ports import JobSummary, TaskSummary
from headwater.store.rows import repair_from_dict
from headwater.store.tables import runs as runs_table

SUCCEEDED = ("SUCCESS", "SUCCESS_WITH_FAILURES")
RAN = ("SUCCESS", "SUCCESS_WITH_FAILURES", "FAILED", "TIMEDOUT", "CANCELED")

# On SQLite, `jobs` in a user's query means Lakeflow's jobs table: a temporary view shadows
# our own `jobs` table for that connection only (views in `main` still see `main.jobs`).
_SQLITE_JOBS_VIEW = "CREATE TEMP VIEW IF NOT EXISTS jobs AS SELECT * FROM main.lakeflow_jobs"


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def job_summary(conn: Connection, job_id: int, last_runs: int) -> JobSummary:
    """Summarise the job's `last_runs` most recent terminal runs."""
    runs = conn.execute(text(
        "SELECT run_id, result_state, run_duration_seconds FROM job_run_timeline "
        "WHERE job_id = :job AND result_state IS NOT NULL ORDER BY run_id DESC LIMIT :n"),
        {"job": job_id, "n": last_runs}).all()
    run_ids = [r.run_id for r in runs]
    idle = _idle_before_repairs(conn, run_ids) if run_ids else {}
    durations = [float(r.run_duration_seconds) - idle.get(r.run_id, 0.0) for r in runs
                 if r.run_duration_seconds is not None]
    return JobSummary(
        job_id=job_id, runs=len(runs), succeeded=sum(r.result_state in SUCCEEDED for r in runs),
        run_p50_seconds=percentile(durations, 0.5), run_p95_seconds=percentile(durations, 0.95),
        tasks=_task_summaries(conn, run_ids) if run_ids else [], timed_runs=len(durations),
    )


def _idle_before_repairs(conn: Connection, run_ids: list[int]) -> dict[int, float]:
    """Seconds each repaired run spent ended, waiting for its next repair: a run's duration is
    the time it ran, not the days it sat failed before someone repaired it."""
    ids: BindParameter[Any] = bindparam("ids", expanding=True)
    rows = conn.execute(select(runs_table.c.run_id, runs_table.c.original_end_time,
                               runs_table.c.repairs)
                        .where(runs_table.c.run_id.in_(ids)), {"ids": run_ids}).all()
    idle: dict[int, float] = {}
    for row in rows:
        ended = row.original_end_time
        for repair in (repair_from_dict(body) for body in row.repairs or []):
            if ended is not None:
                idle[row.run_id] = idle.get(row.run_id, 0.0) + max(
                    0.0, (repair.start_time - ended).total_seconds())
            ended = repair.end_time
    return idle


def _task_summaries(conn: Connection, run_ids: list[int]) -> list[TaskSummary]:
    runs: BindParameter[Any] = bindparam("runs", expanding=True)
    attempts = conn.execute(text(
        "SELECT task_key, result_state, execution_duration_seconds AS run_s, "
        "queue_duration_seconds AS queue_s FROM job_task_run_timeline "
        "WHERE job_run_id IN :runs ORDER BY run_id").bindparams(runs), {"runs": run_ids}).all()
    figures = conn.execute(text(
        "SELECT task_key, job_run_id, name, value FROM job_task_run_metrics "
        "WHERE job_run_id IN :runs").bindparams(runs), {"runs": run_ids}).all()
    by_task: dict[str, list[Any]] = defaultdict(list)
    for row in attempts:
        by_task[row.task_key].append(row)
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in figures:
        sums[row.task_key][row.name].append(float(row.value))
    return [_summary(key, rows, sums.get(key, {})) for key, rows in by_task.items()]


def _summary(key: str, rows: list[Any], figures: dict[str, list[float]]) -> TaskSummary:
    ran = [r for r in rows if r.result_state in RAN]
    durations = [float(r.run_s) for r in ran if r.run_s is not None]
    queued = [float(r.queue_s) for r in ran if r.queue_s is not None]
    return TaskSummary(
        task_key=key, attempts=len(ran),
        failures=sum(r.result_state not in SUCCEEDED for r in ran),
        p50_seconds=percentile(durations, 0.5), p95_seconds=percentile(durations, 0.95),
        queue_p50_seconds=percentile(queued, 0.5),
        metrics={name: sum(values) / len(values) for name, values in figures.items()},
    )


def run_read_only(conn: Connection, statement: str, max_rows: int
                  ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and up to `max_rows` rows of one read-only statement."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_JOBS_VIEW)
        conn.exec_driver_sql("PRAGMA query_only = ON")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql("SET LOCAL search_path TO lakeflow, public")  # migration 0004
    try:
        result = conn.exec_driver_sql(statement)
        if not result.returns_rows:
            return [], []
        columns = list(result.keys())
        return columns, [tuple(row) for row in result.fetchmany(max_rows)]
    finally:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = OFF")
            conn.exec_driver_sql("DROP VIEW IF EXISTS temp.jobs")
