"""A run's page (`/runs/<run id>`, the `run_page_url` of the API; a task run's id opens its
run with that task's panel), what it polls while the run changes, a task's panel, and the
list of runs with its filters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from headwater.errors import InvalidRequest
from headwater.service import Service
from headwater.web.forms import day_bound, id_filter
from headwater.web.render import is_htmx, pages_of
from headwater.web.routes.jobs import all_jobs
from headwater.web.session import SignedIn, Viewer
from headwater.web.views.formats import of_datetime
from headwater.web.views.graph import NodeState, graph_svg
from headwater.web.views.jobs_view import square
from headwater.web.views.run_view import Attempt, RunView, TaskView, run_view
from headwater.web.views.states import shown
from headwater.web.views.timeline import timeline_svg

if TYPE_CHECKING:
    from headwater.web.app import WebSettings

router = APIRouter()
STATE_FILTERS = ("active", "completed", "SUCCESS", "FAILED", "TIMEDOUT", "CANCELED",
                 "SKIPPED", "SUCCESS_WITH_FAILURES")
TRIGGERS = ("ONE_TIME", "PERIODIC", "FILE_ARRIVAL", "TABLE", "JOB_COMPLETION", "CONTINUOUS",
            "RUN_JOB_TASK")
RUNS_PAGE = 25
# Up to this many attempts (of tasks and iterations), a live refresh morphs the page's parts
# (keeping focus and scroll); beyond, it replaces them, many times faster in the browser.
MORPH_LIMIT = 300
# A large run's page looks less often while it runs: each look that finds a change costs the
# browser time in proportion to the run's size, time in which the page answers nothing.
LARGE_RUN = 200


@router.get("/runs/{run_id}")
def run_page(request: Request, viewer: SignedIn, run_id: int, task: str | None = None
             ) -> Response:
    """The run's page; live while the run changes (it polls `live`)."""
    context = run_context(request, viewer, run_id, task)
    if context["view"].run_id != run_id and task is None:
        focus = context["view"].focus
        suffix = f"?task={focus}#task-panel" if focus else ""
        return RedirectResponse(f"/runs/{context['view'].run_id}{suffix}", status_code=303)
    return pages_of(request).render(request, "run.html", viewer, context)


@router.get("/runs/{run_id}/live")
def live(request: Request, viewer: SignedIn, run_id: int, v: str = "",
         task: str | None = None) -> Response:
    """What changed since version `v`: the parts of the page, swapped in place (204 when
    nothing did)."""
    if live_version(viewer.service, run_id) == v:
        return Response(status_code=204)
    context = run_context(request, viewer, run_id, task)
    return pages_of(request).render(request, "run_live.html", viewer, context)


@router.get("/runs/{run_id}/panel")
def task_panel(request: Request, viewer: SignedIn, run_id: int, task: str | None = None
               ) -> Response:
    """One task's panel (none: closed): its attempts, error and trace, values, metrics,
    iterations; the page's poller follows that task from now on."""
    if not is_htmx(request):
        suffix = f"?task={task}#task-panel" if task else ""
        return RedirectResponse(f"/runs/{run_id}{suffix}", status_code=303)
    context = run_context(request, viewer, run_id, task or "")
    # The poller's next look brings every part up to date (they may be older than the panel).
    context["live_version"] = ""
    return pages_of(request).render(request, "run_panel.html", viewer, context)


def live_version(service: Service, run_id: int) -> str:
    """What a page compares to know whether to swap: the run's events, and its alerts'
    progress (they are sent after the events that caused them)."""
    return f"{service.run_version(run_id)}.{alerts_mark(service.run_alerts(run_id))}"


def alerts_mark(alerts: list[Mapping[str, Any]]) -> str:
    """Changes whenever an alert is added, tried again or settles."""
    return f"{len(alerts)}.{sum(int(row.get('attempts') or 0) for row in alerts)}." + "".join(
        str(row.get("status", ""))[:1] for row in alerts)


def run_context(request: Request, viewer: Viewer, run_id: int, task: str | None
                ) -> dict[str, Any]:
    service = viewer.service
    details = service.run_details(run_id)
    view = run_view(details, task)
    record = details.record
    run = view.run_id
    tasks = [record.state.plan.tasks[key].spec for key in record.state.plan.order]
    states = {t.task_key: NodeState(t.latest.shown, _note(t)) for t in view.tasks}
    for spec in tasks:
        states.setdefault(spec.task_key, NodeState(shown(None)))
    settings = request.app.state.settings
    logs = details.may_read_logs

    def attributes(key: str) -> str:
        return f' data-panel="/runs/{run}/panel?task={quote(key)}"'

    def log_link(attempt: Attempt) -> str | None:
        return f"/logs/{attempt.task_run_id}" if logs else None

    alerts = service.run_alerts(run)
    return {
        "view": view, "details": details, "alerts": alerts,
        "live_version": f"{view.version}.{alerts_mark(alerts)}",
        "graph": graph_svg(tasks, f"Tasks of run {run}", lambda key: f"/runs/{run}?task={key}"
                           "#task-panel", states, attributes),
        "timeline": timeline_svg(view, of_datetime(service.clock.now()), log_link),
        "panel": view.task(view.focus) if view.focus else None,
        "poll": poll_seconds(settings, view, record.state.is_terminal),
        "may_run": details.may_run, "may_logs": logs,
        "swap": "morph" if view.attempt_count() <= MORPH_LIMIT else "replace",
    }


def poll_seconds(settings: WebSettings, view: RunView, terminal: bool) -> float:
    """How often the page of a run looks for changes: often while it runs, less often the
    larger it is, rarely once it ended (a repair may start it again)."""
    if terminal and not view.active:
        return settings.idle_poll_seconds
    size = math.ceil(view.attempt_count() / LARGE_RUN)
    return min(settings.poll_seconds * max(1, size), settings.idle_poll_seconds)


def _note(task: TaskView) -> str:
    if task.loop_stats:
        done = task.loop_stats.get("completed_iterations", 0)
        return f"{done}/{task.loop_stats.get('total_iterations', 0)}"
    if task.latest.attempt_number:  # counted as the what-if graph counts them: "3 attempts"
        return f"{task.latest.attempt_number + 1} attempts"
    return ""


@router.get("/runs")
def runs_list(request: Request, viewer: SignedIn, job_id: str = "", state: str = "",
              trigger: str = "", start_from: str = "", start_to: str = "",
              page_token: str | None = None) -> Response:
    """Every run the user may view, newest first, filtered, a page at a time."""
    service = viewer.service
    job = _checked_filters(job_id, state, trigger)
    result = state if state not in ("", "active", "completed") else None
    page = service.list_runs(job, RUNS_PAGE, active_only=state == "active",
                             completed_only=state == "completed", page_token=page_token or None,
                             started=(day_bound(start_from), day_bound(start_to, end=True)),
                             trigger=trigger or None, result=result)
    return pages_of(request).render(request, "runs.html", viewer, {
        "runs": [(run, square(run)) for run in page.items], "next": page.next_page_token,
        "jobs": all_jobs(service), "job_id": job_id, "state": state, "trigger": trigger,
        "start_from": start_from, "start_to": start_to, "states": STATE_FILTERS,
        "triggers": TRIGGERS, "filtered": any((job_id, state, trigger, start_from, start_to))})


def _checked_filters(job_id: str, state: str, trigger: str) -> int | None:
    """The job id filtered on; `InvalidRequest` naming each filter a link gave that the form
    would not: a filter that matched nothing for being misspelt would look like a list with
    no such run."""
    problems = []
    try:
        job = id_filter(job_id, "job_id")
    except InvalidRequest as error:
        job, problems = None, [str(error)]
    for name, value, known in (("state", state, STATE_FILTERS), ("trigger", trigger, TRIGGERS)):
        if value and value not in known:
            problems.append(f"{name} {value!r} is not one of {', '.join(known)}")
    if problems:
        raise InvalidRequest("; ".join(problems))
    return job


__all__ = ["RunView", "run_context"]
