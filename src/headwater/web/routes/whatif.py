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
from headwater.core.whatif_sweep import MAX_SWEPT_TASKS, every_failure
from headwater.errors import InvalidRequest
from headwater.web.forms import Form
from headwater.web.render import is_htmx, pages_of
from headwater.web.routes.jobs import job_basics, job_graph, page_context
from headwater.web.session import SignedIn
from headwater.web.views.graph import NodeState
from headwater.web.views.whatif_view import (
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
    basics = job_basics(viewer.service, job_id)
    view = whatif_view(simulate_run(basics["settings"], scenario), scenario)
    return _render(request, viewer, basics, view.nodes, {"whatif": view, "query": query},
                   scenario)


@router.get("/jobs/{job_id}/whatif/every-failure")
def every_task_failing(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """For each task in turn, what its failure (after all its retries) costs the run, and
    whether a handler runs or an alert goes."""
    query = Form(request.query_params.multi_items())
    basics = job_basics(viewer.service, job_id)
    if not basics["choices"].every_failure:
        raise InvalidRequest(
            f"this job has {len(basics['tasks'])} tasks: the table of every task failing is "
            f"made here for at most {MAX_SWEPT_TASKS} (it simulates the run once per task); "
            "run `headwater simulate --all-failures` on the job's file instead")
    scenario = scenario_of(query)
    rows = failure_rows(every_failure(basics["settings"], scenario), job_id)
    return _render(request, viewer, basics, None, {"failures": rows, "query": query}, scenario)


def _render(request: Request, viewer: SignedIn, basics: Mapping[str, Any],
            states: Mapping[str, NodeState] | None, answer: Mapping[str, Any],
            scenario: Scenario) -> Response:
    """htmx gets the panel's result and the graph (`whatif_result.html`), pushing the
    answer's address; a link gets the whole job page with them."""
    pages = pages_of(request)
    if not is_htmx(request):
        context = page_context(viewer.service, basics, states=states)
        return pages.render(request, "job.html", viewer, {**context, **answer})
    context = {**basics, "graph": job_graph(basics, states), **answer}
    return pages.render(request, "whatif_result.html", viewer, context,
                        headers={"HX-Push-Url": _address(request, basics, scenario)})


def _address(request: Request, basics: Mapping[str, Any], scenario: Scenario) -> str:
    """This answer's address without the form's empty fields and parameters at their
    defaults: what the browser's history keeps, and a link that can be shared."""
    defaults = {p.name: p.default for p in basics["settings"].parameters or ()}
    query = scenario_query(scenario, defaults)
    return request.url.path + (f"?{query}" if query else "")
