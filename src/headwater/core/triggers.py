"""When a job's schedule or trigger fires: pure decisions over the job's settings, what the
scheduler remembers of it (`TriggerState`), what it observed, and the time.

Each decision returns the new state and, when the job must run, a `Fire` whose `key` is
unique for that job: the store refuses a second run for a key it has seen, so engines that
evaluate the same trigger at once start one run between them, not one each.

- **schedule** (`quartz_cron_expression` in `timezone_id`): fires at each fire time; the key
  is the fire time. After downtime, the missed fire times give **one** run, for the latest of
  them (choice: a job down for a day does not start 24 hourly runs at once).
- **periodic** (`interval` `unit`): fires every interval from when the trigger became active
  (the scheduler picks the first time, as in Lakeflow); after downtime, once.
- **file_arrival**: new files (names never seen; not overwrites) under the watched folder.
  The files there when the trigger became active do not count. A run starts once no new
  file has arrived for `wait_after_last_change_seconds` and at least
  `min_time_between_triggers_seconds` after the previous run it started; files arriving
  together start one run.
- **table_update**: commits to the watched tables (a version that grew), `ANY_UPDATED` (the
  default) or `ALL_UPDATED` since the previous run; the same two timings.
- **job_completion**: every monitored job had a run end as `if_status` asks since the
  previous fire (`core/job_completion.py`).
- **continuous**: one run always active: when none is, a new one starts; after runs that
  failed in a row it waits `min(10 s * 2 ** (failures - 1), 10 min)`, and a run that
  succeeds resets that.

A paused schedule or trigger fires nothing; unpausing starts it afresh from that moment.

A job with the multi-trigger list `triggers` (a Lakeflow preview) has one trigger per entry,
each decided, paused and remembered on its own as if the job had only that one
(`trigger_views`): a run starts when any of them fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.core.cron import next_fire_times
from headwater.core.spec import JobSettings
from headwater.core.spec_common import PauseStatus
from headwater.core.spec_job import (
    CronSchedule,
    FileArrivalTrigger,
    PeriodicUnit,
    TableUpdateCondition,
    TableUpdateTrigger,
    TriggerSettings,
)
from headwater.core.trigger_info import normal_table

# The kinds of trigger a job may have, in the order they are looked at.
SCHEDULE, PERIODIC, FILE_ARRIVAL, TABLE_UPDATE, JOB_COMPLETION, CONTINUOUS = (
    "schedule", "periodic", "file_arrival", "table_update", "job_completion", "continuous")
# The kinds a job's `trigger` may set, one of them (`checks_triggers` refuses two).
TRIGGER_KINDS = (PERIODIC, FILE_ARRIVAL, TABLE_UPDATE, JOB_COMPLETION)
# With a model trigger, which is kept and counts as a kind but never fires (`unacted`).
MODEL = "model"
KEPT_TRIGGER_KINDS = (*TRIGGER_KINDS, MODEL)
# `Run.trigger` of the runs each kind starts (Jobs API `TriggerType`).
TRIGGER_TYPE = {SCHEDULE: "PERIODIC", PERIODIC: "PERIODIC", FILE_ARRIVAL: "FILE_ARRIVAL",
                TABLE_UPDATE: "TABLE", JOB_COMPLETION: "JOB_COMPLETION",
                CONTINUOUS: "CONTINUOUS"}
UNIT_SECONDS = {PeriodicUnit.MINUTES: 60, PeriodicUnit.HOURS: 3600, PeriodicUnit.DAYS: 86400,
                PeriodicUnit.WEEKS: 604800}
BACKOFF_FIRST, BACKOFF_MOST = timedelta(seconds=10), timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Fire:
    """Start a run: `key` names it among the job's runs, `info` goes on the run."""

    key: str
    trigger: str  # the run's `trigger`: PERIODIC, FILE_ARRIVAL, TABLE, JOB_COMPLETION, ...
    info: Mapping[str, Any] = field(default_factory=dict)
    logical_time: datetime | None = None  # `{{job.trigger.time}}`: the fire time


@dataclass(frozen=True, slots=True)
class TriggerState:
    """What the scheduler remembers of one job's trigger between two looks.

    `kind` and `config` say which trigger (and which settings of it) the state is for: a
    state made for other settings is started afresh.
    """

    kind: str
    config: str  # the trigger's settings, canonical, e.g. "0 0 * * * ?|UTC"
    since: datetime  # when this trigger became active: the anchor of periodic fires
    last_fire: datetime | None = None  # the logical time (or wall time) of the last fire
    fires: int = 0  # how many runs it started
    seen: Mapping[str, int] = field(default_factory=dict)  # files or tables -> version
    changed: tuple[str, ...] = ()  # what changed since the last fire
    last_change: datetime | None = None  # when the latest change was seen
    observed: bool = False  # the watched files or tables were looked at once already
    failures: int = 0  # continuous: runs that failed in a row
    counted: int = 0  # continuous: the last run whose result `failures` counts
    upstream: Mapping[str, Any] = field(default_factory=dict)  # job completion: per job


def trigger_views(settings: JobSettings) -> list[JobSettings]:
    """The job once per trigger it has, each with only that one: itself for a job with the
    legacy `schedule`, `trigger` or `continuous` (or none); one per entry of `triggers`,
    the entry's pause status (and SQL condition) on its schedule, trigger or continuous."""
    if not settings.triggers:
        return [settings]
    views = []
    for entry in settings.triggers:
        paused, condition = entry.pause_status, entry.sql_condition
        schedule = None if entry.schedule is None else CronSchedule(
            quartz_cron_expression=entry.schedule.quartz_cron_expression,
            timezone_id=entry.schedule.timezone_id, pause_status=paused,
            sql_condition=condition)
        kinds = {kind: getattr(entry, kind) for kind in KEPT_TRIGGER_KINDS}
        trigger = TriggerSettings(**kinds, pause_status=paused,
                                  sql_condition=None if schedule else condition) \
            if any(v is not None for v in kinds.values()) else None
        continuous = None if entry.continuous is None else \
            entry.continuous.model_copy(update={"pause_status": paused})
        views.append(settings.model_copy(update={
            "schedule": schedule, "trigger": trigger, "continuous": continuous,
            "triggers": []}))
    return views


def entry_key(index: int) -> str:
    """What begins the fire keys of entry `index` of `triggers`: two entries may fire at the
    same instant, and each fire stays its own (and is found by it, `trigger_details`)."""
    return f"triggers[{index}] "


def trigger_paths(settings: JobSettings) -> list[tuple[str, JobSettings]]:
    """Each trigger of the job with where it is written: `trigger`, or `triggers[i]`."""
    views = trigger_views(settings)
    if not settings.triggers:
        return [("trigger", views[0])]
    return [(f"triggers[{index}]", view) for index, view in enumerate(views)]


def unacted(settings: JobSettings) -> list[tuple[str, str]]:
    """What of the job's triggers headwater keeps but never acts on, each with where it is
    written: a model trigger never fires (there is no model registry), and a SQL condition is
    not checked (there are no saved queries), so its schedule or trigger starts runs without
    it. Validation tells the user (a note, not an error: a bundle keeps deploying)."""
    found = []
    if settings.schedule is not None and settings.schedule.sql_condition is not None:
        found.append(("schedule.sql_condition", _UNCHECKED))
    entries: list[tuple[str, TriggerSettings]] = \
        [] if settings.trigger is None else [("trigger", settings.trigger)]
    entries += [(f"triggers[{index}]", entry) for index, entry in enumerate(settings.triggers)]
    for path, entry in entries:
        if entry.model is not None:
            found.append((f"{path}.model", "a model trigger fires on the versions of a Unity "
                          "Catalog model, which headwater does not have: it never fires"))
        if entry.sql_condition is not None:
            found.append((f"{path}.sql_condition", _UNCHECKED))
    return found


_UNCHECKED = ("a SQL condition runs a saved query of Databricks SQL, which headwater does not "
              "have: it is not checked, and runs start without it")


def active_trigger(settings: JobSettings) -> tuple[str, str] | None:
    """The job's unpaused trigger kind and its settings' text, or None (nothing fires)."""
    if settings.schedule is not None and settings.schedule.pause_status != PauseStatus.PAUSED:
        schedule = settings.schedule
        return SCHEDULE, f"{schedule.quartz_cron_expression}|{schedule.timezone_id}"
    trigger = settings.trigger
    if trigger is not None and trigger.pause_status != PauseStatus.PAUSED:
        for kind in TRIGGER_KINDS:
            config = getattr(trigger, kind)
            if config is not None:
                return kind, config.model_dump_json(exclude_none=True)
    continuous = settings.continuous
    if continuous is not None and continuous.pause_status != PauseStatus.PAUSED:
        return CONTINUOUS, ""
    return None


def fresh_state(settings: JobSettings, state: TriggerState | None, now: datetime,
                activated: datetime | None = None) -> TriggerState | None:
    """`state` if it still describes the job's active trigger; else a new one from `now`.

    A job-completion trigger starts from `activated` instead (when the job's settings were
    saved), if earlier: an upstream run that ends between the save and the first look counts.
    """
    active = active_trigger(settings)
    if active is None:
        return None
    kind, config = active
    if state is not None and (state.kind, state.config) == (kind, config):
        return state
    since = min(now, activated) if kind == JOB_COMPLETION and activated is not None else now
    return TriggerState(kind, config, since=since)


def clock_due(settings: JobSettings, state: TriggerState,
              now: datetime) -> tuple[TriggerState, Fire | None]:
    """A schedule or periodic trigger: the latest fire time not yet fired, if it has come."""
    due = _latest_due(settings, state, now)
    if due is None:
        return state, None
    kind = state.kind
    info: dict[str, Any] = {"scheduled_time": due.astimezone(UTC).isoformat()}
    if settings.schedule is not None and kind == SCHEDULE:  # `runs/get.schedule`: which fired
        info["schedule"] = settings.schedule.model_dump(mode="json", exclude_none=True)
    fire = Fire(f"{kind}:{due.astimezone(UTC).isoformat()}", TRIGGER_TYPE[kind], info,
                logical_time=due)
    return replace(state, last_fire=due, fires=state.fires + 1), fire


def _latest_due(settings: JobSettings, state: TriggerState, now: datetime) -> datetime | None:
    after = state.last_fire or state.since
    if state.kind == SCHEDULE:
        schedule = settings.schedule
        assert schedule is not None
        due: datetime | None = None
        while True:  # catch up to the newest fire time that has come, not every missed one
            found = next_fire_times(schedule.quartz_cron_expression, schedule.timezone_id,
                                    due or after, 64)
            passed = [instant for instant in found if instant <= now]
            if not passed:
                return due
            due = passed[-1]
            if len(passed) < len(found):
                return due
    periodic = settings.trigger.periodic if settings.trigger else None
    assert periodic is not None
    step = timedelta(seconds=periodic.interval * UNIT_SECONDS[periodic.unit])
    count = int((now - state.since) / step)
    latest = state.since + count * step
    return latest if count >= 1 and latest > after else None


def next_fire_time(settings: JobSettings, state: TriggerState | None,
                   now: datetime) -> datetime | None:
    """When the job's schedule or periodic trigger fires next (None for the other kinds)."""
    state = fresh_state(settings, state, now)
    if state is None or state.kind not in (SCHEDULE, PERIODIC):
        return None
    after = max(state.last_fire or state.since, now)
    if state.kind == SCHEDULE:
        schedule = settings.schedule
        assert schedule is not None
        found = next_fire_times(schedule.quartz_cron_expression, schedule.timezone_id, after, 1)
        return found[0] if found else None
    periodic = settings.trigger.periodic if settings.trigger else None
    assert periodic is not None
    step = timedelta(seconds=periodic.interval * UNIT_SECONDS[periodic.unit])
    return state.since + (int((after - state.since) / step) + 1) * step


def changes_due(settings: JobSettings, state: TriggerState, observed: Mapping[str, int],
                now: datetime, quiet: timedelta = timedelta(0),
                commit_times: Mapping[str, datetime] | None = None,
                ) -> tuple[TriggerState, Fire | None]:
    """A file-arrival or table-update trigger: note what changed, fire once it settled.

    `observed` maps each watched file (to its size) or table (to its version). `quiet` is
    the least time without a new change before a run starts, whatever the settings say:
    the scheduler's look interval, so that files dropped together start one run.
    `commit_times` has each table's latest commit, for the run's `trigger_info`.
    """
    trigger = settings.trigger
    assert trigger is not None
    timing: FileArrivalTrigger | TableUpdateTrigger | None
    if state.kind == FILE_ARRIVAL:
        timing = trigger.file_arrival
        new = [name for name in observed if name not in state.seen]
    else:
        timing = trigger.table_update
        new = [name for name, version in observed.items()
               if version > state.seen.get(name, 0)]
    assert timing is not None
    first_look = not state.observed
    state = replace(state, seen=dict(observed), observed=True)
    if first_look:  # what is there when the trigger starts does not count
        return state, None
    if new:
        state = replace(state, changed=tuple(sorted({*state.changed, *new})), last_change=now)
    wait = max(timedelta(seconds=timing.wait_after_last_change_seconds or 0), quiet)
    if not state.changed or not _settled(wait, timing.min_time_between_triggers_seconds,
                                         state, now):
        return state, None
    if state.kind == TABLE_UPDATE and not _all_updated_if_asked(settings, state):
        return state, None
    return _fire_changes(state, trigger, now, commit_times or {})


def _settled(wait: timedelta, between: int | None, state: TriggerState, now: datetime) -> bool:
    quiet = state.last_change is None or now - state.last_change >= wait
    spaced = state.last_fire is None or now - state.last_fire >= timedelta(seconds=between or 0)
    return quiet and spaced


def _all_updated_if_asked(settings: JobSettings, state: TriggerState) -> bool:
    config = settings.trigger.table_update if settings.trigger else None
    assert config is not None
    if config.condition != TableUpdateCondition.ALL_UPDATED:
        return True
    return set(_normal_tables(config.table_names)) <= set(state.changed)


def _fire_changes(state: TriggerState, trigger: Any, now: datetime,
                  commit_times: Mapping[str, datetime]) -> tuple[TriggerState, Fire]:
    fires = state.fires + 1
    if state.kind == FILE_ARRIVAL:
        info: dict[str, Any] = {"file_arrival": {"location": trigger.file_arrival.url,
                                                 "files": list(state.changed)}}
        kind = "FILE_ARRIVAL"
    else:  # what `{{job.trigger.table_update.<table>.version|commit_timestamp}}` read
        tables = {name: {"version": state.seen.get(name, 0),
                         **({"commit_timestamp": commit_times[name].isoformat()}
                            if name in commit_times else {})}
                  for name in state.changed}
        info = {"table_update": {"updated_tables": list(state.changed), "tables": tables}}
        kind = "TABLE"
    fire = Fire(f"{state.kind}:{fires}", kind, info, logical_time=now)
    return replace(state, fires=fires, last_fire=now, changed=()), fire


@dataclass(frozen=True, slots=True)
class LastRun:
    """The job's latest run that ended, as a continuous trigger weighs it."""

    run_id: int
    result: str | None
    end_time: datetime | None


def continuous_due(state: TriggerState, active_runs: int, last: LastRun | None,
                   now: datetime) -> tuple[TriggerState, Fire | None]:
    """A continuous job: start a run when none is active, backing off after failures."""
    if active_runs:
        return state, None
    state = counted(state, last)
    until = backoff_until(state, last)
    if until is not None and now < until:
        return state, None
    fires = state.fires + 1
    fire = Fire(f"{CONTINUOUS}:{fires}", "CONTINUOUS", {}, logical_time=now)
    return replace(state, fires=fires, last_fire=now), fire


def counted(state: TriggerState, last: LastRun | None) -> TriggerState:
    """A continuous trigger's state once it counted the job's latest ended run: a failure in
    a row more, or none after a success (a run that ended before the trigger began counts not)."""
    if last is not None and last.run_id != state.counted and last.end_time is not None \
            and last.end_time >= state.since:
        succeeded = last.result in ("SUCCESS", "SUCCESS_WITH_FAILURES")
        return replace(state, counted=last.run_id,
                       failures=0 if succeeded else state.failures + 1)
    return state


def backoff_until(state: TriggerState, last: LastRun | None) -> datetime | None:
    """Until when a continuous job backs off after the runs that failed in a row (`counted`):
    `min(10 s * 2 ** (failures - 1), 10 min)` after the last ended; None when none failed."""
    if not state.failures or last is None or last.end_time is None:
        return None
    wait: timedelta = min(BACKOFF_FIRST * 2 ** (state.failures - 1), BACKOFF_MOST)
    return last.end_time + wait


def _normal_tables(names: list[str]) -> list[str]:
    return [normal_table(name) for name in names]


def state_to_dict(state: TriggerState) -> dict[str, Any]:
    """A JSON-ready dict of a trigger state (instants as ISO text)."""
    return {
        "kind": state.kind, "config": state.config, "since": state.since.isoformat(),
        "last_fire": None if state.last_fire is None else state.last_fire.isoformat(),
        "fires": state.fires, "seen": dict(state.seen), "changed": list(state.changed),
        "last_change": None if state.last_change is None else state.last_change.isoformat(),
        "observed": state.observed, "failures": state.failures, "counted": state.counted,
        "upstream": dict(state.upstream),
    }


def state_from_dict(body: Mapping[str, Any]) -> TriggerState:
    """The inverse of `state_to_dict`."""
    def instant(key: str) -> datetime | None:
        value = body.get(key)
        return None if value is None else datetime.fromisoformat(value)

    since = instant("since")
    assert since is not None
    return TriggerState(body["kind"], body["config"], since, instant("last_fire"),
                        body.get("fires", 0), dict(body.get("seen") or {}),
                        tuple(body.get("changed") or ()), instant("last_change"),
                        bool(body.get("observed")), body.get("failures", 0),
                        body.get("counted", 0), dict(body.get("upstream") or {}))


def states_from_body(body: Mapping[str, Any] | None, count: int) -> list[TriggerState | None]:
    """The state of each of a job's `count` triggers (`trigger_views`) from its stored body:
    one state for a job with one trigger, `{"triggers": [...]}` for the multi-trigger list (a
    state stored for other settings is kept here and started afresh by `fresh_state`)."""
    if body is None:
        return [None] * count
    entries = list(body["triggers"]) if "triggers" in body else [body]
    entries = (entries + [None] * count)[:count]
    return [None if entry is None else state_from_dict(entry) for entry in entries]


def states_to_body(states: list[TriggerState | None], multi: bool) -> dict[str, Any]:
    """The body `states_from_body` reads: the one state of a job with one trigger (which
    must be set), or the list of a multi-trigger job's."""
    if not multi:
        assert states[0] is not None
        return state_to_dict(states[0])
    return {"triggers": [None if state is None else state_to_dict(state) for state in states]}


__all__ = [
    "CONTINUOUS", "FILE_ARRIVAL", "JOB_COMPLETION", "KEPT_TRIGGER_KINDS", "MODEL", "PERIODIC",
    "SCHEDULE", "TABLE_UPDATE", "TRIGGER_KINDS", "Fire", "LastRun", "TriggerState",
    "active_trigger", "backoff_until", "changes_due", "clock_due", "continuous_due", "counted",
    "entry_key", "fresh_state", "next_fire_time", "normal_table", "state_from_dict",
    "state_to_dict", "states_from_body", "states_to_body", "trigger_paths", "trigger_views",
    "unacted",
]
