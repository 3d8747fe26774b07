"""How a state looks on a page: the state a document shows, its tone (the colour), a symbol
for who cannot tell colours apart (and for a printout), and words.

The state comes from the Jobs API documents (`state.result_state` once terminal, else
`state.life_cycle_state`), never derived again here. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# tone: the colour family a state is drawn in (see static/app.css `.tone-*`).
_TONES = {
    "SUCCESS": "ok", "SUCCESS_WITH_FAILURES": "ok",
    "FAILED": "bad", "TIMEDOUT": "bad", "INTERNAL_ERROR": "bad",
    "CANCELED": "stopped",
    "EXCLUDED": "skip", "DISABLED": "skip", "UPSTREAM_FAILED": "skip",
    "UPSTREAM_CANCELED": "skip", "SKIPPED": "skip", "MAXIMUM_CONCURRENT_RUNS_REACHED": "skip",
    "RUNNING": "run", "TERMINATING": "run",
    "PENDING": "wait", "QUEUED": "wait", "BLOCKED": "wait", "WAITING_FOR_RETRY": "wait",
}
_SYMBOLS = {"ok": "✓", "bad": "✗", "stopped": "■", "skip": "\u2013", "run": "▶", "wait": "…",
            "none": "·"}
_WORDS = {
    "SUCCESS": "Succeeded", "SUCCESS_WITH_FAILURES": "Succeeded with failures",
    "FAILED": "Failed", "TIMEDOUT": "Timed out", "INTERNAL_ERROR": "Internal error",
    "CANCELED": "Cancelled", "EXCLUDED": "Excluded", "DISABLED": "Disabled",
    "UPSTREAM_FAILED": "Upstream failed", "UPSTREAM_CANCELED": "Upstream cancelled",
    "SKIPPED": "Skipped", "MAXIMUM_CONCURRENT_RUNS_REACHED": "Skipped (concurrency)",
    "RUNNING": "Running", "TERMINATING": "Terminating", "PENDING": "Pending",
    "QUEUED": "Queued", "BLOCKED": "Blocked", "WAITING_FOR_RETRY": "Waiting for retry",
}
ACTIVE_TONES = frozenset({"run", "wait"})


@dataclass(frozen=True, slots=True)
class Shown:
    """A state as drawn: its name, tone, symbol and words."""

    state: str
    tone: str
    symbol: str
    words: str

    @property
    def active(self) -> bool:
        return self.tone in ACTIVE_TONES


def shown(state: str | None) -> Shown:
    """How `state` (a life cycle or result state name) is drawn."""
    if not state:
        return Shown("", "none", _SYMBOLS["none"], "Not run")
    tone = _TONES.get(state, "none")
    return Shown(state, tone, _SYMBOLS[tone], _WORDS.get(state, state.title()))


def state_of(document: Mapping[str, Any]) -> str:
    """The state a `Run` or task run document shows: its result once over, else where it is."""
    legacy = document.get("state") or {}
    return str(legacy.get("result_state") or legacy.get("life_cycle_state") or "")


def shown_of(document: Mapping[str, Any]) -> Shown:
    return shown(state_of(document))


def summary_state(life_cycle: str, result: str | None) -> Shown:
    """How a `runs list` line (life cycle and result) is drawn."""
    return shown(result or life_cycle)


__all__ = ["Shown", "shown", "shown_of", "state_of", "summary_state"]
