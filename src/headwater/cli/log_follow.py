"""`headwater runs logs --follow`: print a task's log as it grows, until its attempt ends.

It reads what the service gives (the log file on the local store,
`/api/2.2/headwater/runs/logs` through a server) every half second and prints what was added
since. The attempt followed is the one asked for (`--attempt`, `--repair`), else the latest:
when the task is retried, a line says how the attempt ended, and the new attempt's log follows
under a line that names it. It ends when the attempt (without `--attempt`: the task, retries
and all) has ended, or the run has, with a line saying how the last attempt followed ended.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Watched:
    """What the run says of the followed attempt now."""

    attempt: int | None  # its attempt_number; None until it exists
    repair: int | None  # the repair it runs in (an iteration: its for-each's); None as above
    ended: bool  # nothing more will be written (it ended, or the run ended without it)
    outcomes: dict[int, str] = field(default_factory=dict)  # how each ended, by attempt number


def watched(service: Any, run_id: int, task_key: str, attempt: int | None,
            iteration: int | None, repair: int | None = None) -> Watched:
    """The attempt to follow, and whether following it is over: within repair `repair`, or
    by default the latest repair of the task, as `runs logs` picks one without --follow."""
    document = service.run_document(run_id)
    run_over = "result_state" in document.get("state", {})
    entries = [t for t in document.get("tasks", []) if t["task_key"] == task_key
               and repair in (None, t.get("repair_number", 0))]
    if not entries:
        return Watched(None, None, run_over)
    in_repair = entries[-1].get("repair_number", 0)
    entries = [t for t in entries if t.get("repair_number", 0) == in_repair]
    if iteration is not None:
        parent = service.run_document(entries[-1]["run_id"])
        entries = [t for t in parent.get("iterations", []) if t.get("iteration") == iteration]
    outcomes = {t["attempt_number"]: _outcome(t["state"]) for t in entries
                if "result_state" in t["state"]}
    if attempt is not None:
        entries = [t for t in entries if t["attempt_number"] == attempt]
    if not entries:
        return Watched(None, None, run_over, outcomes)
    latest = entries[-1]  # a retry is a new entry, waiting: not ended
    return Watched(latest["attempt_number"], in_repair,
                   run_over or "result_state" in latest["state"], outcomes)


def _outcome(state: dict[str, Any]) -> str:
    message = state.get("state_message")
    return f"{state['result_state']}: {message}" if message else state["result_state"]


def _ended_line(watched: Watched, attempt: int) -> bytes:
    outcome = watched.outcomes.get(attempt)
    return f"--- attempt {attempt} ended {outcome} ---\n".encode() if outcome else b""


def follow(service: Any, run_id: int, task_key: str, attempt: int | None,
           iteration: int | None, repair: int | None = None) -> Iterator[bytes]:
    """The followed log, a chunk at a time as it grows, until following it is over."""
    shown, following = 0, Watched(None, None, False)

    def added() -> Iterator[bytes]:
        nonlocal shown
        data = b"".join(service.log_chunks(run_id, task_key, following.attempt, iteration,
                                           following.repair))
        if len(data) < shown:
            shown = 0  # the log was cut to its cap from the start: show what it holds
        if len(data) > shown:
            yield data[shown:]
            shown = len(data)

    while True:
        # Looked at before the read: the read after the end holds everything written.
        now = watched(service, run_id, task_key, attempt, iteration, repair)
        if now.attempt is not None and now.attempt != following.attempt:
            if following.attempt is not None:  # retried: the end of the attempt that ended first
                yield from added()
                yield _ended_line(now, following.attempt)
                yield f"--- attempt {now.attempt} ---\n".encode()
            following, shown = now, 0
        if following.attempt is not None:
            yield from added()
        if now.ended:
            if following.attempt is not None:
                yield _ended_line(now, following.attempt)
            return
        time.sleep(POLL_SECONDS)


__all__ = ["follow", "watched"]
