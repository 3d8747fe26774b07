"""Editing a job as Lakeflow's UI does: open a task and change it, add a task, remove one,
edit the schedule. Each edit is reviewed as a diff of the settings, then saved through the
service's `update_job` (the `jobs/update` of the API) as a new version of the job."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from headwater.core.permissions import Action
from headwater.errors import Conflict, HeadwaterError, InvalidRequest, NotFound, SpecError
from headwater.ports import JobRecord
from headwater.web.forms import Form
from headwater.web.render import pages_of
from headwater.web.session import Change, SignedIn, Viewer
from headwater.web.views import job_changes
from headwater.web.views.job_changes import NEW_TASK_TYPES
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


def _editor(request: Request, viewer: Viewer, job: JobRecord, fields: Any, new: bool,
            problems: list[str], form: Form | None = None, status: int = 200) -> Response:
    return pages_of(request).render(request, "task_edit.html", viewer, {
        "job": job, "fields": fields, "new": new, "problems": problems,
        "run_if_choices": RUN_IF_CHOICES, "units": list(UNITS), "email_events": EMAIL_EVENTS,
        "new_types": NEW_TASK_TYPES, "form": form or Form(),
        "may_manage": viewer.service.may(job.job_id, Action.MANAGE)}, status=status)


@router.get("/jobs/{job_id}/tasks/new")
def new_task_form(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The form of a new task."""
    job = viewer.service.get_job(job_id)
    viewer.service.authorize(job_id, Action.MANAGE)
    fields = fields_of({"task_key": ""}, _tasks(job))
    return _editor(request, viewer, job, fields, True, [])


@router.get("/jobs/{job_id}/tasks/{task_key}")
def task_editor(request: Request, viewer: SignedIn, job_id: int, task_key: str) -> Response:
    """A task's settings in the editor (read only for who may not manage the job)."""
    job = viewer.service.get_job(job_id)
    task = _task(job, task_key)
    return _editor(request, viewer, job, fields_of(task, _tasks(job)), False, [])


@router.post("/jobs/{job_id}/tasks/new/review")
def review_new_task(request: Request, job_id: int, change: Change) -> Response:
    viewer, form = change.viewer, change.form
    job = viewer.service.get_job(job_id)
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
    job = viewer.service.get_job(job_id)
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
    job = viewer.service.get_job(job_id)
    fields = fields_of(_task(job, task_key), _tasks(job))
    edit = job_changes.removal_change(_tasks(job), task_key)

    def back(problems: list[str]) -> Response:
        return _editor(request, viewer, job, fields, False, problems, status=400)

    return _review(request, viewer, job, edit, back, f"Remove task {task_key}")


@router.get("/jobs/{job_id}/schedule")
def schedule_form(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The job's schedule in a form: Quartz cron expression, time zone, paused or not."""
    job = viewer.service.get_job(job_id)
    viewer.service.authorize(job_id, Action.MANAGE)
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
    job = viewer.service.get_job(job_id)
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
        return back([str(problem) for problem in error.problems])
    except HeadwaterError as error:
        if error.error_code != "INVALID_PARAMETER_VALUE":
            raise  # not a mistake in the edit: a refusal (permission), or a failure
        return back([str(error)])
    lines = job_changes.diff(before, after)
    if not lines:
        return back(["Nothing would change: the settings are already so."])
    return pages_of(request).render(request, "review.html", viewer, {
        "job": current, "title": title, "lines": lines,
        "new_settings": json.dumps(edit.new_settings),
        "fields_to_remove": json.dumps(edit.fields_to_remove)})


@router.post("/jobs/{job_id}/update")
def save(job_id: int, change: Change) -> Response:
    """Save a reviewed edit as the job's next version (`jobs/update`), if the job is still at
    the version the edit was reviewed against."""
    form, service = change.form, change.viewer.service
    current = service.get_job(job_id)
    base = form.get("base_version")
    if base != str(current.version):
        raise Conflict(f"Job {job_id} changed since this edit was reviewed (version {base}, "
                       f"now {current.version}); open it and make the edit again.")
    try:
        new_settings = json.loads(form.raw("new_settings") or "{}")
        fields_to_remove = json.loads(form.raw("fields_to_remove") or "[]")
    except ValueError as error:
        raise InvalidRequest(f"the reviewed edit is not JSON: {error}") from None
    saved = service.update_job(job_id, new_settings, fields_to_remove)
    return RedirectResponse(f"/jobs/{job_id}?saved={saved.version}#saved", status_code=303)
