"""The audit log (admins, as `headwater audit`): filter by user, action, job and time; verify
the hash chain."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from headwater.core.audit import AuditAction
from headwater.errors import InvalidRequest
from headwater.web.forms import day_bound, id_filter
from headwater.web.render import pages_of
from headwater.web.session import SignedIn

router = APIRouter()
LIMIT = 500


@router.get("/audit")
def audit(request: Request, viewer: SignedIn, user: str = "", action: str = "",
          job_id: str = "", run_id: str = "", start_from: str = "", start_to: str = "",
          verify: bool = False) -> Response:
    """The newest entries matching the filters, newest first; `verify` checks the chain."""
    service = viewer.service
    if action and action not in {str(a) for a in AuditAction}:
        raise InvalidRequest(f"action {action!r} is not an audited action")
    entries = service.audit_entries(
        job_id=id_filter(job_id, "job"), actor=user or None, run_id=id_filter(run_id, "run"),
        since=day_bound(start_from), until=day_bound(start_to, end=True), limit=LIMIT,
        action=action or None)
    report = service.verify_audit() if verify else None
    return pages_of(request).render(request, "audit.html", viewer, {
        "entries": list(reversed(entries)), "user": user, "action": action, "job_id": job_id,
        "run_id": run_id, "start_from": start_from, "start_to": start_to, "report": report,
        "actions": [str(a) for a in AuditAction], "limit": LIMIT})


