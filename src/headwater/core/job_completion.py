"""Job-completion triggers: start a run once every monitored job has had a run end as
`if_status` asks (Jobs API `trigger.job_completion`). Pure: the scheduler observes the runs.

What the trigger remembers lives in `TriggerState.upstream`, one entry per monitored job, in
the order of `jobs`:

- `seen_until`: the end time of the latest run of that job already looked at, and `counted`:
  the ids of the runs read that ended within `LOOK_BACK` of it. Each look reads the runs that
  ended since `LOOK_BACK` before `seen_until` (`look_from`) and skips those counted: a run
  whose end was stored late (another engine's commit came after a later run's) still counts,
  once. Runs that ended before the trigger became active (`TriggerState.since`) never count,
  and a restart or another engine carries on from here, so a completion is counted once and
  never lost.
- `last_match`: the latest run that ended as asked, as `CompletedJob` of the Jobs API
  (`job_id`, `run_id`, `completion_time`, `termination_code`); `pending` while it counts
  toward the next fire. A later run that ends otherwise does not take it back: it is shown as
  `non_matching` until the next match.
- `job_id` (the monitored job as found) and `missing` (no such job: deleted, or a name no
  job has).

The trigger fires once every entry is `pending`; the run's `trigger_info.job_completion`
lists those completions, and every entry starts waiting again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from headwater.core.refs_time import format_time
from headwater.core.spec import JobSettings
from headwater.core.spec_job import JobCompletionStatus, JobCompletionTrigger, MonitoredJob
from headwater.core.states import LifeCycleState, ResultState, status_of
from headwater.core.triggers import JOB_COMPLETION, Fire, TriggerState

__all__ = ["LOOK_BACK", "Completion", "completions_due", "job_completion_config", "look_from",
           "matches", "monitored_label", "seen_until", "trigger_state_json"]

# How much later than another run's a run's end may be stored though it ended first: the
# commits of two engines, and their clocks. Runs are read again this far back at each look.
LOOK_BACK = timedelta(minutes=2)
_SUCCEEDED = frozenset({ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES})
_FAILED = frozenset({ResultState.FAILED, ResultState.TIMEDOUT})


@dataclass(frozen=True, slots=True)
class Completion:
    """A run of a monitored job that ended."""

    job_id: int
    run_id: int
    life_cycle: str  # TERMINATED, SKIPPED or INTERNAL_ERROR
    result: str | None
    end_time: datetime

    @property
    def termination_code(self) -> str:
        """The run's `status.termination_details.code`, as the Jobs API names it."""
        result = ResultState(self.result) if self.result else ResultState.FAILED
        return str(status_of(LifeCycleState(self.life_cycle), result).code)

    def as_completed_job(self) -> dict[str, str]:
        """The Jobs API `CompletedJob` of this run (ids as strings, like the API)."""
        return {"job_id": str(self.job_id), "run_id": str(self.run_id),
                "completion_time": format_time(self.end_time, "iso_datetime"),
                "termination_code": self.termination_code}


def matches(if_status: JobCompletionStatus | None, completion: Completion) -> bool:
    """Whether a run ended as the trigger asks (`SUCCESS` when not set).

    SUCCESS: it succeeded, with or without failed tasks (as Lakeflow counts a run);
    FAILED: it failed or timed out, not a cancel; DONE: it ran and ended, however. A run
    skipped before it started (`max_concurrent_runs`) never ran, so it matches none.
    """
    if completion.life_cycle == LifeCycleState.SKIPPED:
        return False
    result = completion.result
    if if_status is JobCompletionStatus.DONE:
        return True
    if if_status is JobCompletionStatus.FAILED:
        return (result in _FAILED or completion.life_cycle == LifeCycleState.INTERNAL_ERROR)
    return result in _SUCCEEDED


def job_completion_config(settings: JobSettings) -> JobCompletionTrigger:
    config = settings.trigger.job_completion if settings.trigger else None
    assert config is not None
    return config


def monitored_label(job: MonitoredJob) -> str:
    """How a monitored job is named in messages: `job 12` or `job 'ingest'`."""
    return f"job {job.job_id}" if job.job_id else f"job {job.job_name!r}"


def seen_until(state: TriggerState, index: int) -> datetime:
    """The latest end time of a run of the `index`-th monitored job read so far (when the
    trigger became active, before any)."""
    entry = _entries(state, index + 1)[index]
    value = entry.get("seen_until")
    return state.since if value is None else datetime.fromisoformat(value)


def look_from(state: TriggerState, index: int) -> datetime:
    """The runs of the `index`-th monitored job that ended after this are read at each look:
    `LOOK_BACK` before `seen_until`, as a run's end may be stored that much later than a run
    that ended after it (on another engine); those read already are known by id. Never before
    the trigger became active."""
    return max(state.since, seen_until(state, index) - LOOK_BACK)


def completions_due(settings: JobSettings, state: TriggerState,
                    ended: Sequence[tuple[int, Sequence[Completion]] | None],
                    now: datetime) -> tuple[TriggerState, Fire | None]:
    """Note the runs that ended; fire once every monitored job has a pending completion.

    `ended[i]` is the `i`-th monitored job's id and its runs that ended after
    `seen_until(state, i)`, or None when no such job exists.
    """
    config = job_completion_config(settings)
    entries = _entries(state, len(config.jobs))
    for entry, found in zip(entries, ended, strict=True):
        if found is None:
            entry["missing"] = True
            continue
        job_id, runs = found
        entry.update(job_id=job_id, missing=False)
        _note(entry, config.if_status, runs)
    upstream = {str(i): entry for i, entry in enumerate(entries)}
    if not all(entry.get("pending") for entry in entries):
        return replace(state, upstream=upstream), None
    fires = state.fires + 1
    info = {"job_completion": {"completed_jobs": [entry["last_match"] for entry in entries]}}
    for entry in entries:
        entry["pending"] = False
    fire = Fire(f"{JOB_COMPLETION}:{fires}", "JOB_COMPLETION", info, logical_time=now)
    return replace(state, upstream=upstream, fires=fires, last_fire=now), fire


def trigger_state_json(settings: JobSettings, state: TriggerState | None) -> dict[str, Any]:
    """`trigger_state.job_completion` of `jobs/get`: what the trigger saw of each job."""
    config = job_completion_config(settings)
    current = state if state is not None and state.kind == JOB_COMPLETION else None
    entries = _entries(current, len(config.jobs)) if current else [{} for _ in config.jobs]
    states = []
    for job, entry in zip(config.jobs, entries, strict=True):
        body: dict[str, Any] = {"job_id": str(entry.get("job_id") or job.job_id or ""),
                                "has_seen_completion": bool(entry.get("pending"))}
        if "missing" in entry:
            body["is_deleted"] = bool(entry["missing"])
        match = entry.get("last_match")
        if match:
            body.update(last_seen_run_id=match["run_id"],
                        last_seen_completion_time=match["completion_time"],
                        last_seen_result=match["termination_code"])
        if entry.get("non_matching"):
            body["latest_non_matching_result"] = entry["non_matching"]
        if job.job_name:
            body["headwater_job_name"] = job.job_name
        states.append(body)
    return {"job_completion": {"monitored_job_states": states}}


def _note(entry: dict[str, Any], if_status: JobCompletionStatus | None,
          runs: Sequence[Completion]) -> None:
    """Note in a monitored job's entry the runs that ended, each once (by id, in `counted`).

    One stored late (it ended before a run already read) still counts: a match makes the
    entry pending, though it does not replace a newer pending match, nor clear a newer
    non-matching result, and a late non-match shows nothing.
    """
    counted = dict(entry.get("counted") or {})  # run id -> end time, of the recent ones
    read_to = entry.get("seen_until")
    for run in sorted(runs, key=lambda r: r.end_time):  # so the newest is noted last
        if str(run.run_id) in counted:
            continue
        counted[str(run.run_id)] = run.end_time.isoformat()
        late = read_to is not None and run.end_time < datetime.fromisoformat(read_to)
        if not late:
            entry["seen_until"] = run.end_time.isoformat()
        if matches(if_status, run):
            if not (late and entry.get("pending")):
                entry.update(last_match=run.as_completed_job(), pending=True)
            if not late:
                entry.pop("non_matching", None)
        elif not late:
            entry["non_matching"] = run.termination_code
    if "seen_until" in entry:  # those read again at the next look (`look_from`) stay known
        oldest = datetime.fromisoformat(entry["seen_until"]) - LOOK_BACK
        counted = {run_id: end for run_id, end in counted.items()
                   if datetime.fromisoformat(end) > oldest}
    entry["counted"] = counted


def _entries(state: TriggerState | None, count: int) -> list[dict[str, Any]]:
    """Copies of the state's per-job entries, one for each of `count` monitored jobs."""
    upstream: Mapping[str, Any] = state.upstream if state is not None else {}
    return [dict(upstream.get(str(i)) or {}) for i in range(count)]
