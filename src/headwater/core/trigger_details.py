"""What `jobs/get` tells of a job's triggers when asked: pure views, in the Jobs API's shapes,
of what the scheduler remembers of each trigger (`TriggerState`) and of the runs they started.

- `trigger_state` (`include_trigger_state`) for a job's one `trigger` (`TriggerStateProto`):
  its pause status and, by kind, what a file-arrival, table-update or job-completion trigger
  saw.
- `trigger_details` for the multi-trigger list `triggers` (a Lakeflow preview), one entry per
  trigger in their order (`TriggerDetails`): its `state` with `include_trigger_state`
  (`PerTriggerState`: its pause status and the one variant of its kind), its `history` with
  `include_trigger_history`.

headwater lists a watched folder (`using_file_events` false) and reads the tables' commit logs
(`using_scalable_monitoring` false). It keeps no record of the looks that started nothing or
failed, only of the runs a trigger started (`trigger_fires`), so a history has
`last_triggered` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.core.job_completion import trigger_state_json as job_completion_state
from headwater.core.spec import JobSettings
from headwater.core.spec_common import PauseStatus
from headwater.core.spec_job import TableUpdateTrigger
from headwater.core.triggers import (
    CONTINUOUS,
    FILE_ARRIVAL,
    JOB_COMPLETION,
    KEPT_TRIGGER_KINDS,
    MODEL,
    PERIODIC,
    SCHEDULE,
    TABLE_UPDATE,
    LastRun,
    TriggerState,
    backoff_until,
    counted,
    fresh_state,
    next_fire_time,
    normal_table,
)

__all__ = ["LastFire", "per_trigger_state", "trigger_history", "trigger_state"]

_FILE_ARRIVAL = {"using_file_events": False}


@dataclass(frozen=True, slots=True)
class LastFire:
    """The run a trigger started last, and when (a row of `trigger_fires`)."""

    run_id: int
    fired_time: datetime


def trigger_state(view: JobSettings, state: TriggerState | None,
                  now: datetime) -> dict[str, Any] | None:
    """`trigger_state` of a job with a `trigger` (a view of `trigger_views`), or None."""
    trigger = view.trigger
    if trigger is None:
        return None
    body: dict[str, Any] = {"pause_status": str(trigger.pause_status or PauseStatus.UNPAUSED)}
    live = fresh_state(view, state, now)
    if trigger.file_arrival is not None:
        body["file_arrival"] = dict(_FILE_ARRIVAL)
    elif trigger.table_update is not None:
        body["table"] = _table(trigger.table_update, live)
    elif trigger.job_completion is not None:
        body.update(job_completion_state(view, live))
    return body


def per_trigger_state(view: JobSettings, state: TriggerState | None, now: datetime,
                      last_run: LastRun | None = None) -> dict[str, Any]:
    """`trigger_details[i].state` of one entry of `triggers` (its view): its pause status and
    the variant of its kind; `last_run` is the job's latest ended run (for a continuous one's
    back-off)."""
    live = fresh_state(view, state, now)
    kind, trigger = _kind(view), view.trigger
    variant: dict[str, Any] = {}
    if kind == PERIODIC:
        fire = next_fire_time(view, state, now)
        variant = {} if fire is None else {"next_run_time": _ms(fire)}
    elif kind == FILE_ARRIVAL:
        variant = dict(_FILE_ARRIVAL)
    elif kind == TABLE_UPDATE and trigger is not None and trigger.table_update is not None:
        variant = _table(trigger.table_update, live)
    elif kind == JOB_COMPLETION:
        variant = job_completion_state(view, live)[JOB_COMPLETION]
    elif kind == CONTINUOUS:
        variant = _continuous(live, last_run, now)
    paused = next((s.pause_status for s in (view.schedule, view.continuous, trigger)
                   if s is not None), None)
    return {"pause_status": str(paused or PauseStatus.UNPAUSED), kind: variant}


def trigger_history(view: JobSettings, last: LastFire | None) -> dict[str, Any]:
    """`trigger_details[i].history`: the run the entry last started, if any."""
    if last is None:
        return {}
    return {"last_triggered": {"timestamp": _ms(last.fired_time), "run_id": last.run_id,
                               "description": _FIRED.get(_kind(view), "")}}


def _kind(view: JobSettings) -> str:
    """The kind of a view's one trigger, named as `PerTriggerState`'s variants are."""
    if view.schedule is not None:
        return SCHEDULE
    if view.continuous is not None:
        return CONTINUOUS
    trigger = view.trigger
    return next((kind for kind in KEPT_TRIGGER_KINDS
                 if trigger is not None and getattr(trigger, kind) is not None), MODEL)


_FIRED = {  # why a trigger of each kind started a run, in words
    SCHEDULE: "the schedule's fire time came",
    PERIODIC: "the periodic trigger's interval passed",
    FILE_ARRIVAL: "new files arrived and settled",
    TABLE_UPDATE: "the watched tables were updated",
    JOB_COMPLETION: "every monitored job had a run end as asked",
    CONTINUOUS: "no run of the continuous job was active",
}


def _table(config: TableUpdateTrigger, state: TriggerState | None) -> dict[str, Any]:
    """`TableTriggerState`: each watched table, and whether it was updated since the last run
    the trigger started (or since it began)."""
    changed = set(state.changed) if state is not None and state.kind == TABLE_UPDATE else set()
    return {"last_seen_table_states": [
        {"table_name": name, "has_seen_updates": normal_table(name) in changed}
        for name in config.table_names], "using_scalable_monitoring": False}


def _continuous(state: TriggerState | None, last: LastRun | None,
                now: datetime) -> dict[str, Any]:
    """`ContinuousTriggerState`: the runs that failed in a row and, while it backs off, when
    the next starts (epoch milliseconds)."""
    if state is None or state.kind != CONTINUOUS:
        return {"consecutive_failures": 0, "is_backing_off": False}
    state = counted(state, last)
    until = backoff_until(state, last)
    backing_off = until is not None and now < until
    return {"consecutive_failures": state.failures, "is_backing_off": backing_off,
            **({"next_attempt_ms": _ms(until)} if backing_off and until else {})}


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
