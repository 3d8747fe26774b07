"""`/api/2.2/headwater/runs/logs`: the whole kept log of one attempt, as plain text (what
`headwater runs logs --host` reads). The Jobs API's `runs/get-output` gives the logs of a
Python file or a shell task only, never a notebook's (a notebook's output is its cells, on
Databricks), and at most its last 5 MB; this gives every task's, as the web UI's log page does.
Reading a log takes `CAN_MANAGE_RUN`. A run id is 64 bits, as in the Jobs API: one past what
the store holds is "Run N does not exist." as any unknown one is, the store not asked.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from headwater.api.auth import Caller
from headwater.api.schemas import JobsApiId, possible_run_id

router = APIRouter(prefix="/api/2.2/headwater/runs", tags=["headwater"])


@router.get("/logs", response_class=StreamingResponse)
def logs(run_id: JobsApiId, service: Caller) -> StreamingResponse:
    """The log of the attempt whose task run id is `run_id` (a job run's id: its first
    task's latest attempt), oldest line first."""
    # Checked before the answer starts: a refusal (no such run, no right) is an error answer.
    chunks = service.attempt_log_chunks(possible_run_id(run_id))
    return StreamingResponse(chunks, media_type="text/plain; charset=utf-8")
