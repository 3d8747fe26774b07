"""What a run's page does: cancel the run, repair it (every failed task, or chosen ones, with
parameter overrides), run the job again with the run's parameters. Each goes through the
service, which checks `CAN_MANAGE_RUN`; the page offers them only to who has it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from headwater.core.trigger_info import backfill_id
from headwater.errors import InvalidRequest
from headwater.web.session import Change

router = APIRouter()


@router.post("/runs/{run_id}/cancel")
def cancel(run_id: int, change: Change) -> Response:
    """Ask the engine driving the run to cancel it."""
    change.viewer.service.cancel(run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/cancel-backfill")
def cancel_backfill(run_id: int, change: Change) -> Response:
    """Cancel every run of the backfill this run belongs to that has not ended."""
    service = change.viewer.service
    record = service.get_run(run_id)
    found = backfill_id(record.trigger_info)
    if found is None:
        raise InvalidRequest(f"Run {run_id} is not part of a backfill.")
    service.cancel_backfill(found)
    return RedirectResponse(f"/runs?job_id={record.job.job_id}", status_code=303)


@router.post("/runs/{run_id}/repair")
def repair(run_id: int, change: Change) -> Response:
    """Rerun the failed tasks (`mode=failed`) or the chosen ones (`mode=chosen`, `rerun`
    checkboxes and a comma-separated `more` field), with the job parameters the form
    changed."""
    service, form = change.viewer.service, change.form
    record = service.get_run(run_id)
    mode = form.get("mode")
    if mode not in ("failed", "chosen"):
        raise InvalidRequest(f"mode {mode!r}: rerun the failed tasks (failed) or the tasks "
                             "chosen (chosen)")
    chosen = mode == "chosen"
    keys: list[str] = []
    if chosen:
        keys = form.all("rerun") + [k.strip() for k in form.get("more").split(",") if k.strip()]
        keys = list(dict.fromkeys(keys))
        if not keys:
            raise InvalidRequest("No task is chosen to rerun: tick the tasks, name them, or "
                                 "rerun the failed tasks")
    overrides = {name: value for name, value in form.with_prefix("param:").items()
                 if record.parameters.get(name) != value}
    # The latest repair the page showed: a repair made since then refuses this one (as the
    # Jobs API's latest_repair_id does), rather than repeating it.
    shown = form.get("latest_repair_id").strip()
    latest = int(shown) if shown.isdecimal() else None
    service.repair(run_id, keys, all_failed=not chosen,
                   rerun_dependents=form.get("rerun_dependents") == "true",
                   latest_repair_id=latest, overrides=overrides, insist_on_latest=True)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/run-again")
def run_again(run_id: int, change: Change) -> Response:
    """A new run of the job (its latest version) with this run's parameters (those the job
    still declares)."""
    service = change.viewer.service
    record = service.get_run(run_id)
    job = service.get_job(record.job.job_id)
    declared = {p.get("name") for p in job.settings.get("parameters") or []  # type: ignore[attr-defined]
                if isinstance(p, dict)}
    overrides = {k: v for k, v in record.parameters.items() if k in declared}
    created = service.run_now(job.job_id, overrides)
    return RedirectResponse(f"/runs/{created.run_id}", status_code=303)
