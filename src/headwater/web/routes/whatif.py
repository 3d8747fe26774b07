"""A job page's What if panel: the job's graph coloured by a simulated run of a chosen
scenario (`GET /jobs/{id}/whatif?fail=TASK`), and the table of every task's failure
(`GET /jobs/{id}/whatif/every-failure`). Nothing runs and nothing is stored, so viewing the
job is all it takes. htmx gets the panel's result and the coloured graph (out of band); a
link, or a browser without scripts, gets the whole job page with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from headwater.core.whatif import simulate_run
from headwater.core.whatif_scenario import Scenario
from headwater.core.whatif_sweep import every_failure
from headwater.errors import InvalidRequest
from headwater.web.forms import Form
from headwater.web.render import is_htmx, pages_of
from headwater.web.routes.jobs import job_context, job_graph
from headwater.web.session import SignedIn
from headwater.web.views.whatif_view import (
    MAX_SWEPT_TASKS,
    failure_rows,
    scenario_of,
    scenario_query,
    whatif_view,
)

router = APIRouter()


@router.get("/jobs/{job_id}/whatif")
def whatif(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The job's graph and tasks as a run would end them in the scenario of the query."""
    query = Form(request.query_params.multi_items())
    scenario = scenario_of(query)
    context = job_context(viewer.service, job_id)
    view = whatif_view(simulate_run(context["settings"], scenario), scenario)
    return _render(request, viewer, {**context, "graph": job_graph(context, view.nodes),
                                     "whatif": view, "query": query},
                   _address(request, context, scenario))


@router.get("/jobs/{job_id}/whatif/every-failure")
def every_task_failing(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """For each task in turn, what its failure (after all its retries) costs the run, and
    whether a handler runs or an alert goes."""
    query = Form(request.query_params.multi_items())
    context = job_context(viewer.service, job_id)
    if not context["choices"].every_failure:
        raise InvalidRequest(
            f"this job has {len(context['tasks'])} tasks: the table of every task failing is "
            f"made here for at most {MAX_SWEPT_TASKS} (it simulates the run once per task); "
            "run `headwater simulate --all-failures` on the job's file instead")
    scenario = scenario_of(query)
    rows = failure_rows(every_failure(context["settings"], scenario), job_id)
    return _render(request, viewer, {**context, "failures": rows, "query": query},
                   _address(request, context, scenario))


def _address(request: Request, context: Mapping[str, Any], scenario: Scenario) -> str:
    """This answer's address without the form's empty fields and parameters at their
    defaults: what the browser's history keeps, and a link that can be shared."""
    defaults = {p.name: p.default for p in context["settings"].parameters or ()}
    query = scenario_query(scenario, defaults)
    return request.url.path + (f"?{query}" if query else "")


def _render(request: Request, viewer: SignedIn, context: Mapping[str, Any],
            address: str) -> Response:
    if not is_htmx(request):
        return pages_of(request).render(request, "job.html", viewer, context)
    return pages_of(request).render(request, "whatif_result.html", viewer, context,
                                    headers={"HX-Push-Url": address})
