"""A job's beginning and end in the UI, as in Lakeflow's: a new job from its settings written
or pasted as YAML or JSON (any signed-in user, as `jobs/create`), a job deleted after a
confirmation (CAN_MANAGE, as `jobs/delete`), and a locked job disconnected from the bundle
that manages it (its `edit_mode` made EDITABLE), after which the UI may edit it.

Its router comes before the job pages' in the app: `/jobs/new` is not a job's id.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from headwater.core.permissions import Action
from headwater.core.spec_job import EditMode
from headwater.errors import HeadwaterError, InvalidState
from headwater.ports import JobRecord
from headwater.web.render import pages_of
from headwater.web.routes.edit import editable_job, problems_of, saved_redirect
from headwater.web.routes.edit_yaml import FIELD, settings_page
from headwater.web.session import Change, SignedIn, Viewer
from headwater.web.views.job_lock import is_locked
from headwater.web.views.settings_text import read_settings

router = APIRouter()


@router.get("/jobs/new")
def new_job_form(request: Request, viewer: SignedIn) -> Response:
    """An empty editor for a new job's settings."""
    return settings_page(request, viewer, None, "", [])


@router.post("/jobs/new")
def create_job(request: Request, change: Change) -> Response:
    """Create the job the text describes, owned by its creator (unless its
    `access_control_list` names an owner); or the editor again with every problem."""
    viewer, text = change.viewer, change.form.raw(FIELD)
    try:
        created = viewer.service.create_job(read_settings(text).checked())
    except HeadwaterError as error:
        return settings_page(request, viewer, None, text, problems_of(error), 400)
    return saved_redirect(created)


def _confirm(request: Request, viewer: Viewer, job: JobRecord, title: str,
             lines: list[str], action: str, button: str, danger: bool) -> Response:
    return pages_of(request).render(request, "confirm.html", viewer, {
        "job": job, "title": title, "lines": lines, "button": button,
        "action": f"/jobs/{job.job_id}/{action}", "button_class": "danger" if danger
        else "primary"})


@router.get("/jobs/{job_id}/delete")
def delete_form(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """What deleting the job does, and the button that does it."""
    job = editable_job(viewer, job_id)
    lines = [f"Job {job.job_id} ({job.name}) will be deleted: nobody can run or edit it any "
             "more, and its schedule and triggers stop. Its runs and versions stay readable, "
             "and runs in progress go on to their end."]
    if job.deployment_key:
        lines.append(f"It was deployed from {job.source}: the next deploy of those files "
                     "creates it again, as a new job. Remove it from the files to be rid "
                     "of it.")
    return _confirm(request, viewer, job, f"Delete {job.name}?", lines, "delete",
                    "Delete the job", True)


@router.post("/jobs/{job_id}/delete")
def delete_job(job_id: int, change: Change) -> Response:
    """Delete the job (`jobs/delete`), then back to the jobs list, which says so."""
    editable_job(change.viewer, job_id)
    change.viewer.service.delete_job(job_id)
    return RedirectResponse(f"/jobs?deleted={job_id}", status_code=303)


def _locked_job(viewer: Viewer, job_id: int) -> JobRecord:
    job = viewer.service.get_job(job_id)
    viewer.service.authorize(job_id, Action.MANAGE)
    if not is_locked(job):
        raise InvalidState(f"Job {job_id} is not locked: edit it on its page.")
    return job


@router.get("/jobs/{job_id}/disconnect")
def disconnect_form(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """What disconnecting a locked job from its bundle does, and the button that does it."""
    job = _locked_job(viewer, job_id)
    lines = ["Its edit_mode becomes EDITABLE (a new version), and the UI may edit it like any "
             "job."]
    if job.deployment_key:
        lines.append(f"Its files ({job.source}) stay its source for a deploy: the next deploy "
                     "of them replaces its settings, edits made here included, and locks it "
                     "again if they say edit_mode: UI_LOCKED.")
    return _confirm(request, viewer, job, f"Disconnect {job.name} from its bundle?", lines,
                    "disconnect", "Disconnect", False)


@router.post("/jobs/{job_id}/disconnect")
def disconnect(job_id: int, change: Change) -> Response:
    """Make a locked job editable in the UI (`jobs/update` of its `edit_mode`)."""
    _locked_job(change.viewer, job_id)
    saved = change.viewer.service.update_job(job_id, {"edit_mode": EditMode.EDITABLE.value})
    return saved_redirect(saved)
