"""Editing a job as Lakeflow's UI does: open a task and change it, add a task, remove one,
edit the schedule. Each edit is reviewed as a diff of the settings, then saved through the
service's `update_job` (the `jobs/update` of the API) as a new version of the job.

Every edit is refused, before its form is read, to a user who may not manage the job (403)
and for a job its settings lock (`edit_mode: UI_LOCKED`, 409: see `views/job_lock.py`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from headwater.core.permissions import Action
from headwater.core.spec import JobSettings
from headwater.errors import Conflict, HeadwaterError, InvalidRequest, NotFound, SpecError
from headwater.ports import JobRecord
from headwater.web.forms import Form
from headwater.web.render import pages_of
from headwater.web.session import Change, SignedIn, Viewer
from headwater.web.views import job_changes
from headwater.web.views.job_changes import NEW_TASK_TYPES
from headwater.web.views.job_lock import check_editable, is_locked
from headwater.web.views.task_form import (
    EMAIL_EVENTS,
    RUN_IF_CHOICES,
    UNITS,
    fields_of,
    task_of_form,
)

router = APIRouter()


def _task(job: JobRecord, key: str) -> dict[str, Any]:
    for task in _tasks(job):
        if task["task_key"] == key:
            return dict(task)
    raise NotFound(f"Job {job.job_id} has no task {key!r}.")


def _tasks(job: JobRecord) -> list[dict[str, Any]]:
    tasks = job.settings.get("tasks") or []
    assert isinstance(tasks, list)
    return tasks


def editable_job(viewer: Viewer, job_id: int) -> JobRecord:
    """The job, if the viewer may edit it here: `PermissionDenied` without CAN_MANAGE,
    `JobLocked` for a job its settings lock."""
    job = viewer.service.get_job(job_id)
    viewer.service.authorize(job_id, Action.MANAGE)
    check_editable(job)
    return job


def _editor(request: Request, viewer: Viewer, job: JobRecord, fields: Any, new: bool,
            problems: list[str], form: Form | None = None, status: int = 200) -> Response:
    may_edit = viewer.service.may(job.job_id, Action.MANAGE) and not is_locked(job)
    return pages_of(request).render(request, "task_edit.html", viewer, {
        "job": job, "fields": fields, "new": new, "problems": problems,
        "run_if_choices": RUN_IF_CHOICES, "units": list(UNITS), "email_events": EMAIL_EVENTS,
        "new_types": NEW_TASK_TYPES, "form": form or Form(), "may_manage": may_edit},
        status=status)


@router.get("/jobs/{job_id}/tasks/new")
def new_task_form(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The form of a new task."""
    job = editable_job(viewer, job_id)
    fields = fields_of({"task_key": ""}, _tasks(job))
    return _editor(request, viewer, job, fields, True, [])


@router.get("/jobs/{job_id}/tasks/{task_key}")
def task_editor(request: Request, viewer: SignedIn, job_id: int, task_key: str) -> Response:
    """A task's settings in the editor (read only for who may not manage the job, and for
    a locked job)."""
    job = viewer.service.get_job(job_id)
    task = _task(job, task_key)
    return _editor(request, viewer, job, fields_of(task, _tasks(job)), False, [])


@router.post("/jobs/{job_id}/tasks/new/review")
def review_new_task(request: Request, job_id: int, change: Change) -> Response:
    viewer, form = change.viewer, change.form
    job = editable_job(viewer, job_id)
    edit = job_changes.new_task_change(form, [t["task_key"] for t in _tasks(job)])
    if edit.problems:
        fields = fields_of(task_of_form({"task_key": form.get("task_key")}, form).task,
                           _tasks(job))
        return _editor(request, viewer, job, fields, True, edit.problems, form, 400)
    fields = fields_of(edit.new_settings["tasks"][0], _tasks(job))

    def back(problems: list[str]) -> Response:
        return _editor(request, viewer, job, fields, True, problems, form, 400)

    return _review(request, viewer, job, edit, back, f"Add task {form.get('task_key')}")


@router.post("/jobs/{job_id}/tasks/{task_key}/review")
def review_task(request: Request, job_id: int, task_key: str, change: Change) -> Response:
    viewer = change.viewer
    job = editable_job(viewer, job_id)
    edit = job_changes.task_change(_task(job, task_key), change.form)
    fields = fields_of(edit.new_settings["tasks"][0], _tasks(job))
    if edit.problems:
        return _editor(request, viewer, job, fields, False, edit.problems, status=400)

    def back(problems: list[str]) -> Response:
        return _editor(request, viewer, job, fields, False, problems, status=400)

    return _review(request, viewer, job, edit, back, f"Change task {task_key}")


@router.post("/jobs/{job_id}/tasks/{task_key}/remove")
def review_removal(request: Request, job_id: int, task_key: str, change: Change) -> Response:
    viewer = change.viewer
    job = editable_job(viewer, job_id)
    fields = fields_of(_task(job, task_key), _tasks(job))
    edit = job_changes.removal_change(_tasks(job), task_key)

    def back(problems: list[str]) -> Response:
        return _editor(request, viewer, job, fields, False, problems, status=400)

    return _review(request, viewer, job, edit, back, f"Remove task {task_key}")


@router.get("/jobs/{job_id}/schedule")
def schedule_form(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The job's schedule in a form: Quartz cron expression, time zone, paused or not."""
    job = editable_job(viewer, job_id)
    schedule = job.settings.get("schedule") or {}
    assert isinstance(schedule, dict)
    return _schedule_page(request, viewer, job, schedule, [])


def _schedule_page(request: Request, viewer: Viewer, job: JobRecord,
                   schedule: dict[str, Any], problems: list[str], status: int = 200
                   ) -> Response:
    return pages_of(request).render(request, "schedule_edit.html", viewer, {
        "job": job, "schedule": schedule, "problems": problems,
        "has_schedule": "schedule" in job.settings}, status=status)


@router.post("/jobs/{job_id}/schedule/review")
def review_schedule(request: Request, job_id: int, change: Change) -> Response:
    viewer, form = change.viewer, change.form
    job = editable_job(viewer, job_id)
    edit = job_changes.schedule_change(job.settings, form)
    posted = {"quartz_cron_expression": form.get("quartz_cron_expression"),
              "timezone_id": form.get("timezone_id"), "pause_status": form.get("pause_status")}

    def back(problems: list[str]) -> Response:
        return _schedule_page(request, viewer, job, posted, problems, 400)

    if edit.problems:
        return back(edit.problems)
    return _review(request, viewer, job, edit, back, "Change the schedule")


def _review(request: Request, viewer: Viewer, job: JobRecord, edit: job_changes.Change,
            back: Callable[[list[str]], Response], title: str) -> Response:
    """The edit as a diff, with a button that saves it; or the form again with its problems."""
    try:
        current, before, after = viewer.service.preview_update(job.job_id, edit.new_settings,
                                                               edit.fields_to_remove)
    except SpecError as error:
        return back([edit.named_by_key(job.settings, problem) for problem in error.problems])
    except HeadwaterError as error:
        return back(problems_of(error))
    return review_page(request, viewer, current, (before, after), title, back, "update", {
        "new_settings": json.dumps(edit.new_settings),
        "fields_to_remove": json.dumps(edit.fields_to_remove)})


def problems_of(error: HeadwaterError) -> list[str]:
    """The problems of an edit the service refused as invalid, to show on its form; any
    other error (a refusal, a failure) is raised again, to be its own page."""
    if isinstance(error, SpecError):
        return [str(problem) for problem in error.problems]
    if error.error_code != "INVALID_PARAMETER_VALUE":
        raise error
    return [str(error)]


def review_page(request: Request, viewer: Viewer, job: JobRecord,
                settings: tuple[JobSettings, JobSettings], title: str,
                back: Callable[[list[str]], Response], action: str,
                saved_fields: dict[str, str]) -> Response:
    """The diff of the settings `(before, after)`, with a button that posts `saved_fields`
    to `/jobs/{id}/{action}` (`update` or `reset`); or `back` to the form when nothing would
    change."""
    lines = job_changes.diff(*settings)
    if not lines:
        return back(["Nothing would change: the settings are already so."])
    return pages_of(request).render(request, "review.html", viewer, {
        "job": job, "title": title, "lines": lines, "action": action,
        "saved_fields": saved_fields})


def reviewed_job(viewer: Viewer, job_id: int, form: Form) -> JobRecord:
    """The job a reviewed edit is saved to, if it is still at the version the edit was
    reviewed against (`Conflict` if not) and the viewer may still edit it."""
    current = editable_job(viewer, job_id)
    base = form.get("base_version")
    if base != str(current.version):
        raise Conflict(f"Job {job_id} changed since this edit was reviewed (version {base}, "
                       f"now {current.version}); open it and make the edit again.")
    return current


def reviewed_json(form: Form, name: str, empty: str) -> Any:
    """A field of a reviewed edit, which the review page wrote as JSON."""
    try:
        return json.loads(form.raw(name) or empty)
    except ValueError as error:
        raise InvalidRequest(f"the reviewed edit's {name} is not JSON: {error}") from None


@router.post("/jobs/{job_id}/update")
def save(job_id: int, change: Change) -> Response:
    """Save a reviewed edit as the job's next version (`jobs/update`), if the job is still at
    the version the edit was reviewed against."""
    form, service = change.form, change.viewer.service
    reviewed_job(change.viewer, job_id, form)
    saved = service.update_job(job_id, reviewed_json(form, "new_settings", "{}"),
                               reviewed_json(form, "fields_to_remove", "[]"))
    return saved_redirect(saved)


def saved_redirect(saved: JobRecord) -> Response:
    """To the job's page, which says which version was saved."""
    return RedirectResponse(f"/jobs/{saved.job_id}?saved={saved.version}#saved",
                            status_code=303)
