"""Editing a job's whole settings as text, as Lakeflow's "Edit as YAML" does: the settings of
`jobs/get` in a text area; the text reviewed as a diff, like every edit (`edit.py`), then
saved through the service's `reset_job` (the API's `jobs/reset`), which replaces every
setting and keeps the job's `run_as` when the text leaves it out.

The text itself travels from the review to the save (not settings made from it), and is
read again there: what is saved is what was reviewed, and a refusal at the save (an upstream
job deleted meanwhile) shows the editor again with the text as it was written.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from headwater.core.plan import build_plan
from headwater.errors import HeadwaterError
from headwater.ports import JobRecord
from headwater.web.render import pages_of
from headwater.web.routes.edit import (
    editable_job,
    problems_of,
    review_page,
    reviewed_job,
    saved_redirect,
)
from headwater.web.session import Change, SignedIn, Viewer
from headwater.web.views.settings_text import (
    editable_text,
    read_settings,
    reset_body,
    returned_settings,
)

router = APIRouter()
FIELD = "settings"  # the text area's, and the review's hidden field


def settings_page(request: Request, viewer: Viewer, job: JobRecord | None, text: str,
                  problems: list[str], status: int = 200) -> Response:
    """The settings as text in an editor: of `job`, or (None) of a new job."""
    return pages_of(request).render(request, "job_yaml.html", viewer, {
        "job": job, "text": text, "problems": problems}, status=status)


@router.get("/jobs/{job_id}/edit")
def yaml_editor(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The job's settings as YAML, to edit as a whole."""
    job = editable_job(viewer, job_id)
    return settings_page(request, viewer, job, editable_text(job), [])


@router.post("/jobs/{job_id}/edit/review")
def review_yaml(request: Request, job_id: int, change: Change) -> Response:
    """The text's change as a diff of the settings (both read as `jobs/get` returns them),
    or the editor again with every problem of the text."""
    viewer = change.viewer
    job = editable_job(viewer, job_id)
    text = change.form.raw(FIELD)

    def back(problems: list[str]) -> Response:
        return settings_page(request, viewer, job, text, problems, 400)

    reading = read_settings(text)
    try:
        settings = reading.checked()
        build_plan(settings)
        viewer.service.check_upstream_jobs(settings, job_id)
    except HeadwaterError as error:
        return back(problems_of(error))
    after = returned_settings(job, reset_body(job, reading.body))
    return review_page(request, viewer, job, (returned_settings(job), after), "Edit as YAML",
                       back, "reset", {FIELD: text})


@router.post("/jobs/{job_id}/reset")
def save_yaml(request: Request, job_id: int, change: Change) -> Response:
    """Save a reviewed text as the job's next version (`jobs/reset`), if the job is still at
    the version the text was reviewed against."""
    viewer, text = change.viewer, change.form.raw(FIELD)
    job = reviewed_job(viewer, job_id, change.form)
    try:
        saved = viewer.service.reset_job(job_id, read_settings(text).checked())
    except HeadwaterError as error:
        return settings_page(request, viewer, job, text, problems_of(error), 400)
    return saved_redirect(saved)
