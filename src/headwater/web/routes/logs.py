"""An attempt's log: the page (its last part, then a live tail while the attempt runs), the
tail the page polls, and the whole file as a download. Reading logs takes `CAN_MANAGE_RUN`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from headwater.web.render import pages_of
from headwater.web.session import SignedIn

router = APIRouter()
FIRST_BYTES = 256 * 1024  # of a long log, the page shows the end
TAIL_BYTES = 1024 * 1024  # the most one poll sends


def read_from(path: Path, offset: int, limit: int, whole_lines: bool) -> tuple[str, int]:
    """Text of the log from `offset` (at most `limit` bytes) and the offset after it; with
    `whole_lines`, up to the last newline (a line still being written waits for the next
    poll, and no character is cut in two)."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            data = log.read(limit)
    except FileNotFoundError:
        return "", offset
    if whole_lines and len(data) < limit:
        cut = data.rfind(b"\n") + 1
        data = data[:cut]
    return data.decode("utf-8", errors="replace"), offset + len(data)


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@router.get("/logs/{task_run_id}")
def log_page(request: Request, viewer: SignedIn, task_run_id: int) -> Response:
    """The log of one attempt, following it while it runs."""
    log = viewer.service.attempt_log(task_run_id)
    start = max(0, size_of(log.path) - FIRST_BYTES)
    text, offset = read_from(log.path, start, FIRST_BYTES, not log.ended)
    return pages_of(request).render(request, "log.html", viewer, {
        "log": log, "text": text, "offset": offset, "cut": start > 0,
        "exists": log.path.exists()})


@router.get("/logs/{task_run_id}/tail")
def tail(request: Request, viewer: SignedIn, task_run_id: int, offset: int = 0) -> Response:
    """What the log gained after `offset`, appended to the page; the poller stops once the
    attempt ended and everything was sent."""
    log = viewer.service.attempt_log(task_run_id)
    text, after = read_from(log.path, max(0, offset), TAIL_BYTES, not log.ended)
    done = log.ended and after >= size_of(log.path)
    return pages_of(request).render(request, "log_tail.html", viewer, {
        "log": log, "text": text, "offset": after, "done": done})


@router.get("/logs/{task_run_id}/download")
def download(viewer: SignedIn, task_run_id: int) -> Response:
    """The whole log as a file."""
    log = viewer.service.attempt_log(task_run_id)
    name = f"run-{log.run_id}-{log.task_key}"
    if log.iteration is not None:
        name += f"-iteration-{log.iteration}"
    name += f"-attempt-{log.attempt_number}.log"
    if not log.path.exists():
        return Response(b"", media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return FileResponse(log.path, media_type="text/plain; charset=utf-8", filename=name)
