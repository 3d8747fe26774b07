"""`SqlStore`'s reads for the web pages: whether a run changed, what its attempts recorded,
and a job's recorded figures over its last runs. A mixin; each method is one transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Row, select, text

from headwater.errors import NotFound
from headwater.ports import MetricPoint
from headwater.store.ops_tables import task_run_metrics
from headwater.store.tables import runs, task_runs


class DetailsMixin:
    """Reads of the run and metrics pages; mixed into `SqlStore`."""

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def run_version(self, run_id: int) -> tuple[int, int]:
        """(job id, events recorded): the event count grows with every change of the run, in
        the transaction of the change, so a page polls it instead of loading the run."""
        query = select(runs.c.job_id, runs.c.event_count).where(
            runs.c.run_id == run_id, runs.c.deleted.is_(False))
        with self._reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"Run {run_id} does not exist.")
        return row.job_id, row.event_count

    def task_metrics(self, run_id: int) -> dict[int, dict[str, float]]:
        """seq -> name -> value of what the run's attempts recorded."""
        query = select(task_run_metrics).where(task_run_metrics.c.run_id == run_id)
        found: dict[int, dict[str, float]] = defaultdict(dict)
        with self._reading() as conn:
            for row in conn.execute(query):
                found[row.seq][row.name] = row.value
        return dict(found)

    def metric_points(self, job_id: int, last_runs: int = 20) -> list[MetricPoint]:
        """What each task's latest attempt recorded in the job's last ended runs, oldest
        run first."""
        with self._reading() as conn:
            run_ids = conn.execute(text(
                "SELECT run_id FROM runs WHERE job_id = :job AND result IS NOT NULL "
                "AND deleted = :no ORDER BY run_id DESC LIMIT :n"),
                {"job": job_id, "n": last_runs, "no": False}).scalars().all()
            if not run_ids:
                return []
            rows = conn.execute(
                select(task_run_metrics.c.run_id, task_runs.c.task_key, task_runs.c.iteration,
                       task_run_metrics.c.name,
                       task_run_metrics.c.value)
                .select_from(task_run_metrics.join(task_runs, (
                    task_runs.c.run_id == task_run_metrics.c.run_id) & (
                    task_runs.c.seq == task_run_metrics.c.seq)))
                .where(task_run_metrics.c.run_id.in_(run_ids))
                .order_by(task_run_metrics.c.run_id, task_runs.c.seq)).all()
        return _latest_points(rows)


def _latest_points(rows: Sequence[Row[Any, Any, Any, Any, Any]]) -> list[MetricPoint]:
    """Per run, task and name: the value of the newest attempt (rows come oldest seq first);
    a for-each's iterations (under the nested task's key) add up, one attempt each."""
    latest: dict[tuple[int, str, str, int | None], float] = {}
    for row in rows:
        latest[(row.run_id, row.task_key, row.name, row.iteration)] = float(row.value)
    summed: dict[tuple[int, str, str], float] = defaultdict(float)
    for (run_id, task_key, name, _), value in latest.items():
        summed[(run_id, task_key, name)] += value
    return [MetricPoint(run_id, task_key, name, value)
            for (run_id, task_key, name), value in sorted(summed.items())]
