"""`/api/2.2/headwater/backfill`: run a job once for each time of a past range (what
`headwater jobs backfill --host` and the web UI's Backfill form call). The Jobs API has no such
endpoint: Databricks makes a backfill's runs from its web UI.

Job and backfill ids are 64 bits, as the Jobs API's are: one past what the store holds names
nothing and is answered as any unknown one is (404 "Job N does not exist.", "Backfill N does
not exist."). Neither reaches a query: a job id is checked here, and a backfill is looked for
among the backfills' audit entries.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from headwater.api.auth import Caller
from headwater.api.schemas import JobsApiId, Parameters, possible_job_id
from headwater.core.backfill import Backfill

router = APIRouter(prefix="/api/2.2/headwater/backfill", tags=["headwater"])


class BackfillRequest(BaseModel):
    """A job, the range of times (`2026-11-01` or an ISO date-time, UTC unless it says), the
    interval between runs (`6h`, `1d`, `1w`, `1mo`) and job parameters for every run, which
    may hold `{{backfill.iso_date}}` and the other time arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: JobsApiId
    start: str
    end: str
    every: str = "1d"
    job_parameters: Parameters | None = None
    newest_first: bool = False
    dry_run: bool = False


class CancelBackfill(BaseModel):
    """The backfill whose runs that have not ended to cancel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backfill_id: JobsApiId


@router.post("/cancel")
def cancel_backfill(body: CancelBackfill, service: Caller) -> dict[str, Any]:
    """Cancel the backfill's runs that have not ended; the ids of those cancelled."""
    return {"run_ids": service.cancel_backfill(body.backfill_id)}


@router.post("")
def backfill(body: BackfillRequest, service: Caller) -> dict[str, Any]:
    """Store one run per time, all or none: the backfill's id and its runs (with `dry_run`,
    only the times)."""
    asked = Backfill.of(body.start, body.end, body.every, body.newest_first)
    job_id = possible_job_id(body.job_id)  # a bad range is told first, as for any unknown job
    if body.dry_run:
        times = service.backfill_times(job_id, asked, body.job_parameters)
        return {"times": [time.isoformat() for time in times]}
    made = service.backfill(job_id, asked, body.job_parameters)
    return {"backfill_id": made.backfill_id, "runs": [
        {"time": time.isoformat(), "run_id": run.run_id, "state": run.life_cycle}
        for time, run in made.runs]}
