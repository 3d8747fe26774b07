"""Metrics: per job, its success rate and run durations (p50, p95), per task the same, and the
figures tasks record (rows processed, ...) over the last runs, as charts. Anyone who may view
a job may see its figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from headwater.service import JobFigures
from headwater.web.render import pages_of
from headwater.web.routes.jobs import all_jobs
from headwater.web.session import SignedIn
from headwater.web.views.charts import Bar, bar_chart
from headwater.web.views.formats import duration, number, of_datetime, seconds
from headwater.web.views.states import summary_state

router = APIRouter()
LAST_RUNS = 30
OVERVIEW_JOBS = 50


@router.get("/metrics")
def metrics(request: Request, viewer: SignedIn, job_id: str = "") -> Response:
    """One job's figures (`job_id`), or an overview of every job's."""
    service = viewer.service
    jobs = all_jobs(service)
    context: dict[str, Any] = {"jobs": jobs, "job_id": job_id, "last_runs": LAST_RUNS}
    if job_id.isdecimal():
        figures = service.job_figures(int(job_id), LAST_RUNS)
        context.update(figures=figures, charts=charts(figures))
    else:
        context["overview"] = [service.job_figures(job.job_id, LAST_RUNS)
                               for job in jobs[:OVERVIEW_JOBS]]
    return pages_of(request).render(request, "metrics.html", viewer, context)


def charts(figures: JobFigures) -> dict[str, Any]:
    """The job's charts: run durations, each task's p50 and p95, each recorded figure."""
    runs = list(reversed(figures.runs))  # oldest first, as the charts read
    duration_bars = []
    for run in runs:
        took = of_datetime(run.end_time) - of_datetime(run.start_time) if run.start_time else 0
        shown = summary_state(run.life_cycle, run.result)
        duration_bars.append(Bar(took / 1000, str(run.run_id),
                                 f"Run {run.run_id}: {shown.words}, {duration(took)}",
                                 shown.tone, f"/runs/{run.run_id}"))
    tasks = sorted(figures.summary.tasks, key=lambda t: -(t.p95_seconds or 0))
    p95 = [Bar(t.p95_seconds or 0, t.task_key, f"{t.task_key}: p95 {seconds(t.p95_seconds)}, "
               f"p50 {seconds(t.p50_seconds)}", "run") for t in tasks]
    recorded: dict[tuple[str, str], list[Bar]] = defaultdict(list)
    for point in figures.points:
        recorded[(point.task_key, point.name)].append(Bar(
            point.value, str(point.run_id), f"Run {point.run_id}: {point.task_key} "
            f"{point.name} = {number(point.value)}", "ok", f"/runs/{point.run_id}"))
    return {
        "durations": bar_chart(duration_bars, "Run durations, oldest first", "s"),
        "p95": bar_chart(p95, "Each task's p95 duration", "s"),
        "recorded": [(task, name, bar_chart(bars, f"{name} recorded by {task}"))
                     for (task, name), bars in sorted(recorded.items())],
    }
