"""A run's snapshot as plain JSON data: for golden replays and for debugging dumps."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Any

from headwater.core.runstate import RunState


def snapshot_dict(state: RunState) -> dict[str, Any]:
    """Everything in `state` but its plan, with instants and enums as text."""
    body = {name: getattr(state, name) for name in state.__dataclass_fields__ if name != "plan"}
    body["task_runs"] = {str(seq): asdict(run) for seq, run in sorted(state.task_runs.items())}
    body["repairs"] = [asdict(repair) for repair in state.repairs]
    plain: dict[str, Any] = _plain(body)
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
