"""What attempt parents leave in an attempt directory, read back by the engine's side.

`parent.py` writes parent.json (the claim: which process runs the attempt) and exit.json (how
it ended); the task writes values.jsonl, metrics.jsonl and result.json (names from
`headwater.runtime.channel`). Here they become an `AttemptClaim` and a `TaskExit`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from headwater.executors import parent
from headwater.executors.failures import failure_from_log
from headwater.ports import AttemptKey, TaskExit
from headwater.runtime.channel import METRICS, RESULT, VALUES

OUTPUT_LOG = "output.log"  # where the engine puts an attempt's log (engine.attempts.OUTPUT_LOG)

__all__ = ["AttemptClaim", "exit_of_record", "lost_exit", "read_claim", "read_exit"]


@dataclass(frozen=True, slots=True)
class AttemptClaim:
    """parent.json: the process that runs an attempt, and what an adopter needs to know."""

    pid: int
    start_ticks: int
    boot_id: str  # (pid, start ticks) names a process within one boot only
    tag: str  # the value of HEADWATER_ATTEMPT_TAG in the task's environment
    key: tuple[int, int] | None  # (run id, seq) of the attempt
    grace: float  # the parent SIGKILLs the tree this long after a SIGTERM

    @property
    def handle(self) -> str:
        """The executor's handle of the attempt: `pid:start_ticks` of its parent."""
        return f"{self.pid}:{self.start_ticks}"

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AttemptClaim:
        pid, ticks, key, grace = (data.get(name) for name in ("pid", "start_ticks", "key",
                                                                   "grace"))
        if not (isinstance(pid, int) and isinstance(ticks, int)):
            raise ValueError(f"not an attempt claim: {data!r}")
        pair = (int(key[0]), int(key[1])) if isinstance(key, list) and len(key) == 2 else None
        return cls(pid, ticks, str(data.get("boot_id", "")), str(data.get("tag", "")), pair,
                   float(grace) if isinstance(grace, int | float) else 0.0)


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def read_claim(directory: Path) -> AttemptClaim | None:
    """The attempt's claim; None when no parent claimed it.

    Raises:
        ValueError: when parent.json cannot be read or is not a claim.
    """
    data = _read_json(directory / parent.CLAIM)
    return None if data is None else AttemptClaim.from_json(data)


def read_exit(key: AttemptKey, directory: Path) -> TaskExit | None:
    """The attempt's recorded exit with what the task left; None when it recorded none.

    Raises:
        ValueError: when exit.json cannot be read.
    """
    record = _read_json(directory / parent.EXIT)
    return None if record is None else exit_of_record(key, directory, record)


def lost_exit(key: AttemptKey, directory: Path, reason: str) -> TaskExit:
    """A lost attempt's exit, with what the task left before it was lost."""
    left = exit_of_record(key, directory, {})
    return TaskExit(key=key, exit_code=None, values=left.values, metrics=left.metrics,
                    result=left.result, lost=reason)


def exit_of_record(key: AttemptKey, directory: Path, record: dict[str, object]) -> TaskExit:
    """An exit record (exit.json's, or a parent's notice) and what the task left in its
    directory, as a `TaskExit`; a failed attempt that wrote no error gets the one its log
    ends with (`failures.py`)."""
    code, signum, error = record.get("exit_code"), record.get("signal"), record.get("start_error")
    result = _read_result(directory / RESULT)
    from_log = isinstance(code, int) and code != 0 and signum is None and not result.get("error")
    if from_log:
        result = {**result, **failure_from_log(directory / OUTPUT_LOG)}
    return TaskExit(
        key=key,
        exit_code=code if isinstance(code, int) else None,
        signal=signum if isinstance(signum, int) else None,
        at=_instant(record.get("at")),
        values=_read_text(directory / VALUES),
        metrics=_read_text(directory / METRICS),
        result=result,
        start_error=error if isinstance(error, str) else None,
        error_from_log=from_log and "error" in result,
    )


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _read_text(path: Path) -> str | None:
    """A file the task wrote; None when it wrote none (or made it unreadable: a task's file
    must never stop the engine)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _read_result(path: Path) -> dict[str, object]:
    """result.json as a JSON object; `{}` when the task wrote none, or nothing valid."""
    text = _read_text(path)
    try:
        data = json.loads(text) if text is not None else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
