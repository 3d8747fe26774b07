"""The jobs list and a job's page, and what a job's page does: run now (with parameters),
pause or unpause its schedule, change its permissions."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup

from headwater.core.backfill import Backfill
from headwater.core.partial_run import split_keys
from headwater.core.permissions import Action, Grant, Level
from headwater.core.plan import build_plan
from headwater.core.spec import JobSettings
from headwater.core.whatif_sweep import MAX_SWEPT_TASKS
from headwater.errors import InvalidRequest
from headwater.ports import JobRecord
from headwater.service import Service
from headwater.web.forms import Form
from headwater.web.render import is_htmx, pages_of
from headwater.web.session import Change, SignedIn
from headwater.web.views.graph import NodeState, graph_svg
from headwater.web.views.job_changes import settings_yaml
from headwater.web.views.job_lock import is_locked
from headwater.web.views.jobs_view import job_row, matches, trigger_entries, upstream_states
from headwater.web.views.matrix import run_matrix
from headwater.web.views.whatif_view import whatif_choices

router = APIRouter()
PAGE_SIZE = 50
MATRIX_RUNS = 10
MATRIX_MAX_TASKS = 100  # past this, the job page shows the runs' squares only


@router.get("/jobs")
def jobs_list(request: Request, viewer: SignedIn, name: str = "", tag: str = "",
              page: int = 1, deleted: int | None = None) -> Response:
    """Every job the user may view, filtered by name and tag, a page at a time (and, after a
    job was deleted, which one)."""
    service = viewer.service
    found = [job for job in all_jobs(service) if matches(job, name.strip(), tag.strip())]
    page = max(1, page)
    shown = found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    rows = [job_row(service.job_document(job.job_id), service.job_permissions(job.job_id),
                    service.list_runs(job.job_id, limit=MATRIX_RUNS).items) for job in shown]
    return pages_of(request).render(request, "jobs.html", viewer, {
        "rows": rows, "name": name, "tag": tag, "page": page, "total": len(found),
        "more": len(found) > page * PAGE_SIZE, "deleted": deleted})


def all_jobs(service: Service) -> list[JobRecord]:
    """Every job the service's user may view, by id."""
    jobs: list[JobRecord] = []
    token = None
    while True:
        page = service.list_jobs(limit=100, page_token=token)
        jobs += page.items
        token = page.next_page_token
        if token is None:
            return jobs


@router.get("/jobs/{job_id}")
def job_page(request: Request, viewer: SignedIn, job_id: int, saved: int | None = None
             ) -> Response:
    """A job: its graph, runs, schedule, parameters, permissions and settings."""
    return pages_of(request).render(request, "job.html", viewer,
                                    job_context(viewer.service, job_id, saved))


def job_context(service: Service, job_id: int, saved: int | None = None) -> dict[str, Any]:
    """What job.html shows."""
    return page_context(service, job_basics(service, job_id), saved)


def job_basics(service: Service, job_id: int) -> dict[str, Any]:
    """What the job's graph and its What if panel need: the job (which the viewer may view),
    its settings, its tasks upstream first (as the graph's layers need them) and the panel's
    choices. Cheap: no run is read."""
    # raises when the viewer may not view the job
    document = service.job_document(job_id, include_trigger_state=True,
                                     include_trigger_history=True)
    record = service.get_job(job_id)
    settings = JobSettings.model_validate(dict(record.settings))
    plan = build_plan(settings)
    may_manage = service.may(job_id, Action.MANAGE)
    return {"job": record, "document": document, "settings": settings,
            "tasks": [plan.tasks[key].spec for key in plan.order],
            "choices": whatif_choices(plan), "max_swept": MAX_SWEPT_TASKS,
            "may_manage": may_manage, "may_edit": may_manage and not is_locked(record),
            "upstream": upstream_states(document),
            "trigger_entries": trigger_entries(settings, document),
            "whatif": None, "failures": None, "query": Form()}


def page_context(service: Service, basics: Mapping[str, Any], saved: int | None = None,
                 states: Mapping[str, NodeState] | None = None) -> dict[str, Any]:
    """The whole job page over `job_basics`: its runs and matrix, grants, the graph (its
    nodes in `states` when given: a what-if's)."""
    job_id, tasks, document = basics["job"].job_id, basics["tasks"], basics["document"]
    grants = service.job_permissions(job_id)
    runs = service.list_runs(job_id, limit=MATRIX_RUNS).items
    matrix = None
    if runs and len(tasks) <= MATRIX_MAX_TASKS:
        documents = [service.run_document(run.run_id) for run in reversed(runs)]
        matrix = run_matrix(documents, [task.task_key for task in tasks])
    return {
        **basics, "row": job_row(document, grants, runs),
        "grants": sorted(grants, key=_grant_order), "levels": list(Level), "matrix": matrix,
        "saved": saved, "graph": job_graph(basics, states),
        "may_run": service.may(job_id, Action.RUN),
        "may_permissions": service.may(job_id, Action.PERMISSIONS),
    }


def job_graph(context: Mapping[str, Any], states: Mapping[str, NodeState] | None = None
              ) -> Markup:
    """The graph of a job's `context` (`job_basics`), its nodes in `states` when given (a
    what-if's); a node opens its task's editor, or (for who may not edit it) its table row."""
    job_id = context["job"].job_id
    link = (lambda key: f"/jobs/{job_id}/tasks/{key}") if context["may_edit"] else \
        (lambda key: f"#task-{key}")
    return graph_svg(context["tasks"], f"Tasks of {context['job'].name}", link, states)


@router.get("/jobs/{job_id}/settings.yaml")
def settings_text(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The job's settings as YAML: text to read or save, or (for the page) a fragment."""
    # As stored (written as the user wrote them), not with the defaults `jobs/get` fills in
    settings = viewer.service.get_job(job_id).settings
    text = settings_yaml(JobSettings.model_validate(dict(settings)))
    if is_htmx(request):
        return HTMLResponse(f"<pre class=\"yaml\" id=\"settings-yaml\">{escape(text)}</pre>")
    return PlainTextResponse(text)


def _grant_order(grant: Grant) -> tuple[int, bool, str]:
    return (-grant.level, grant.group, grant.name)


@router.post("/jobs/{job_id}/run")
def run_now(job_id: int, change: Change) -> Response:
    """Start a run with the parameters of the form (the job's defaults where left as is), of
    the tasks it names (all when none)."""
    service = change.viewer.service
    overrides = change.form.with_prefix("param:")
    created = service.run_now(job_id, overrides, only=split_keys([change.form.get("only")]))
    return RedirectResponse(f"/runs/{created.run_id}", status_code=303)


@router.post("/jobs/{job_id}/backfill")
def backfill(job_id: int, change: Change) -> Response:
    """Start a backfill as the form says; the job's runs list shows its runs."""
    form = change.form
    asked = Backfill.of(form.get("start"), form.get("end"), form.get("every") or "1d",
                        form.get("newest_first") == "true")
    change.viewer.service.backfill(job_id, asked, form.with_prefix("param:"))
    return RedirectResponse(f"/runs?job_id={job_id}", status_code=303)


@router.post("/jobs/{job_id}/pause")
def pause(job_id: int, change: Change) -> Response:
    """Pause (`paused=true`) or unpause the job's schedule, trigger and continuous runs."""
    paused = change.form.get("paused") == "true"
    change.viewer.service.set_paused(job_id, paused)
    return RedirectResponse(f"/jobs/{job_id}#timing", status_code=303)


@router.post("/jobs/{job_id}/permissions")
def permissions(job_id: int, change: Change) -> Response:
    """Replace the job's access control list with the one the form gives."""
    change.viewer.service.set_job_permissions(job_id, grants_of_form(change.form))
    return RedirectResponse(f"/jobs/{job_id}#permissions", status_code=303)


def grants_of_form(form: Form) -> list[Grant]:
    """The grants of the permissions form: `level:KIND:NAME` fields, KIND being `user`,
    `service_principal` or `group` (REMOVE drops one), and a new entry from `new_name`,
    `new_kind`, `new_level`."""
    grants = []
    for key, level in form.with_prefix("level:").items():
        kind, _, name = key.partition(":")
        if level != "REMOVE":
            grants.append(_grant(kind, name, _level(level, f"level of {name}")))
    name = form.get("new_name")
    if name:
        added = _grant(form.get("new_kind", "user"), name,
                       _level(form.get("new_level"), "new level"))
        grants = [g for g in grants if (g.name, g.group) != (name, added.group)]
        grants.append(added)
    return grants


def _grant(kind: str, name: str, level: Level) -> Grant:
    """A grant of the form; a service principal and a user of one name are one principal."""
    return Grant(name, level, group=kind == "group",
                 service_principal=kind == "service_principal")


def _level(text: str, where: str) -> Level:
    if text not in Level.__members__:
        raise InvalidRequest(f"{where}: {text!r} is not one of {', '.join(Level.__members__)}")
    return Level[text]
