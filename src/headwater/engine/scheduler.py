"""`Scheduler`: every engine's look at the jobs' schedules and triggers, about once a second.

It reads the jobs that have an unpaused trigger (again every few seconds, so new jobs and
changed settings are seen), asks the pure `core.triggers` whether each must fire, and starts
the run through `Store.fire_trigger`: the trigger's new state (compare-and-set), the fire's
unique key and the run, in one transaction. Every engine looks at every job, and the store
lets exactly one of them start each run; one that lost re-reads the state.

What it observes (the files in a watched folder, the commits to the warehouses' tables) comes
from `observers.py`, and the runs of jobs that others' job-completion triggers
watch from the store, so the decisions stay pure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from headwater.core.job_completion import (
    Completion,
    completions_due,
    job_completion_config,
    look_from,
    monitored_label,
)
from headwater.core.new_run import new_run
from headwater.core.spec import JobSettings
from headwater.core.spec_job import MonitoredJob
from headwater.core.triggers import (
    CONTINUOUS,
    FILE_ARRIVAL,
    JOB_COMPLETION,
    PERIODIC,
    SCHEDULE,
    TABLE_UPDATE,
    Fire,
    LastRun,
    TriggerState,
    changes_due,
    clock_due,
    continuous_due,
    entry_key,
    fresh_state,
    normal_table,
    states_from_body,
    states_to_body,
    trigger_views,
)
from headwater.engine.observers import WarehouseCommits, watched_files, watched_folder
from headwater.engine.workdirs import job_folder
from headwater.errors import HeadwaterError
from headwater.ports import Clock, JobRecord, NewRun, Store

log = logging.getLogger(__name__)

LOOK_SECONDS = 0.25  # how often triggers are looked at (a cron fires within this of its time)
REFRESH_SECONDS = 5.0  # how often the jobs and their trigger states are read again
QUIET = timedelta(seconds=1)  # new files or commits settle this long before a run starts
ENDED_RUNS_LOOKED_AT = 100  # of a monitored job, at each look (the newest; a few are new)
PAUSED = "paused"  # the state of a paused trigger: unpaused, it starts afresh


@dataclass
class _Watched:
    """One job with a trigger (or several: `triggers`), as the scheduler last read it."""

    job: JobRecord
    settings: JobSettings
    version: int = 0  # of its stored trigger state (0: none stored yet)
    states: list[TriggerState | None] = field(default_factory=list)  # one per view
    problems: dict[int, str] = field(default_factory=dict)  # the last error of each, logged once

    def __post_init__(self) -> None:
        self.views = trigger_views(self.settings)  # the job once per trigger, with only it
        self.multi = bool(self.settings.triggers)
        self.states = self.states or [None] * len(self.views)

    def body(self, index: int, state: TriggerState) -> dict[str, Any]:
        """What to store once trigger `index` is in `state`."""
        states = list(self.states)
        states[index] = state
        return states_to_body(states, self.multi)


@dataclass
class Scheduler:
    """Fires schedules and triggers for the runs an engine then claims like any other."""

    store: Store
    clock: Clock
    warehouse_commits: Sequence[Path]  # every warehouse's commit log (observers)
    dbfs_dir: Path  # the folder tasks see as DBFS and the volumes (file-arrival URLs)
    watched: dict[int, _Watched] = field(default_factory=dict)
    job_ids: set[int] = field(default_factory=set)  # every job, as of the last refresh
    job_names: dict[str, list[int]] = field(default_factory=dict)  # ids by name, lower case
    missing_folders: set[tuple[int, Path]] = field(default_factory=set)  # warned of, by job
    next_look: datetime | None = None
    next_refresh: datetime | None = None
    last_end: datetime | None = None  # the latest end of any run, read once a look if needed
    last_end_read: bool = False

    def __post_init__(self) -> None:
        self.commits = WarehouseCommits(self.warehouse_commits)

    def due_at(self) -> datetime | None:
        return self.next_look

    def tick(self) -> None:
        """Look at every trigger if it is time to."""
        now = self.clock.now()
        if self.next_look is not None and now < self.next_look:
            return
        self.next_look = now + timedelta(seconds=LOOK_SECONDS)
        self.last_end_read = False
        if self.next_refresh is None or now >= self.next_refresh:
            self.next_refresh = now + timedelta(seconds=REFRESH_SECONDS)
            self.refresh()
        for watched in list(self.watched.values()):
            self.look(watched, now)

    def refresh(self) -> None:
        """Read the jobs with an unpaused trigger, and their stored states."""
        found: dict[int, _Watched] = {}
        self.job_ids, self.job_names = set(), {}
        for job in self.store.list_jobs():
            self.job_ids.add(job.job_id)
            self.job_names.setdefault(job.name.lower(), []).append(job.job_id)
            if not _may_trigger(job.settings):
                continue
            known = self.watched.get(job.job_id)
            if known is not None and known.job.version == job.version:
                found[job.job_id] = known
                continue
            found[job.job_id] = _Watched(job, JobSettings.model_validate(dict(job.settings)))
        stored = self.store.trigger_states(list(found))
        for job_id, watched in found.items():
            version, body = stored.get(job_id, (0, None))
            watched.version = version
            watched.states = states_from_body(body, len(watched.views))
        self.watched = found

    def look(self, watched: _Watched, now: datetime) -> None:
        """Decide for each trigger of one job; store what changed, start a run if one fires."""
        for index in range(len(watched.views)):
            self.look_at(watched, index, now)

    def look_at(self, watched: _Watched, index: int, now: datetime) -> None:
        """Decide for the job's trigger `index`."""
        view, known = watched.views[index], watched.states[index]
        state = fresh_state(view, known, now, watched.job.created_time)
        if state is None:  # paused: forget, so that unpausing starts afresh from then
            if known is not None and known.kind != PAUSED:
                self.store_state(watched, index, TriggerState(PAUSED, "", since=now), now)
            return
        try:
            new, fire = self.decide(watched, view, state, now)
        except (HeadwaterError, OSError) as error:
            if str(error) != watched.problems.get(index):
                watched.problems[index] = str(error)
                log.error("job %s: its trigger cannot be evaluated: %s", watched.job.job_id,
                          error, extra={"job_id": watched.job.job_id})
            return
        if fire is None and new == known:
            return
        if fire is None:
            self.store_state(watched, index, new, now)
            return
        if watched.multi:  # each entry's fires are its own: two entries may fire at once
            fire = replace(fire, key=entry_key(index) + fire.key)
        if self.fire(watched, fire, watched.body(index, new)):
            watched.version, watched.states[index] = watched.version + 1, new
        else:
            self.next_refresh = now  # another engine moved first: read its state again

    def store_state(self, watched: _Watched, index: int, state: TriggerState,
                    now: datetime) -> None:
        """Remember a trigger's new state, unless another engine changed it first."""
        if self.store.save_trigger_state(watched.job.job_id, watched.version,
                                         watched.body(index, state)):
            watched.version, watched.states[index] = watched.version + 1, state
        else:
            self.next_refresh = now

    def decide(self, watched: _Watched, settings: JobSettings, state: TriggerState,
               now: datetime) -> tuple[TriggerState, Fire | None]:
        kind = state.kind
        if kind in (SCHEDULE, PERIODIC):
            return clock_due(settings, state, now)
        if kind == FILE_ARRIVAL:
            trigger = settings.trigger.file_arrival if settings.trigger else None
            assert trigger is not None
            folder = watched_folder(trigger.url, job_folder(watched.job), self.dbfs_dir)
            self.warn_of_missing_folder(watched.job.job_id, folder, trigger.url)
            observed = watched_files(folder)
            return changes_due(settings, state, observed, now, QUIET)
        if kind == TABLE_UPDATE:
            table = settings.trigger.table_update if settings.trigger else None
            assert table is not None
            versions = self.commits.versions()
            observed = {name: versions.get(name, 0)
                        for name in (normal_table(t) for t in table.table_names)}
            return changes_due(settings, state, observed, now, QUIET, self.commits.times)
        if kind == JOB_COMPLETION:
            return completions_due(settings, state, self.completions(settings, state), now)
        assert kind == CONTINUOUS
        return continuous_due(state, *self.runs_of(watched.job.job_id), now)

    def warn_of_missing_folder(self, job_id: int, folder: Path, url: str) -> None:
        """Say once that a file-arrival trigger watches a folder that is not there (a typo
        in its url would otherwise never fire, without a word); again if it goes away."""
        if folder.is_dir():
            self.missing_folders.discard((job_id, folder))
        elif (job_id, folder) not in self.missing_folders:
            self.missing_folders.add((job_id, folder))
            log.warning("job %s's file_arrival trigger watches %s, which does not exist: it "
                        "fires once files arrive there; if that is not the folder meant, "
                        "correct file_arrival.url (%s)", job_id, folder, url)

    def completions(self, settings: JobSettings, state: TriggerState
                    ) -> list[tuple[int, list[Completion]] | None]:
        """Each monitored job's id and its runs that ended since the trigger last looked
        (None for a job that does not exist)."""
        found: list[tuple[int, list[Completion]] | None] = []
        for index, monitored in enumerate(job_completion_config(settings).jobs):
            job_id = self.monitored_id(monitored)
            if job_id is None:
                found.append(None)
                continue
            since = look_from(state, index)
            if not self.ended_after(since):  # no run of any job ended since: nothing to read
                found.append((job_id, []))
                continue
            ended = self.store.list_runs(job_id, limit=ENDED_RUNS_LOOKED_AT, completed_only=True,
                                         ended_after=since)
            found.append((job_id, [Completion(r.job_id, r.run_id, r.life_cycle, r.result,
                                              r.end_time)
                                   for r in ended if r.end_time is not None]))
        return found

    def ended_after(self, instant: datetime) -> bool:
        """Whether any run ended after `instant`: one cheap read a look, so that idle
        job-completion triggers cost no query per monitored job."""
        if not self.last_end_read:
            self.last_end, self.last_end_read = self.store.last_end_time(), True
        return self.last_end is not None and self.last_end > instant

    def monitored_id(self, monitored: MonitoredJob) -> int | None:
        """The id of a job a job-completion trigger watches, as of the last refresh."""
        if monitored.job_id:
            job_id = int(monitored.job_id)
            return job_id if job_id in self.job_ids else None
        named = self.job_names.get((monitored.job_name or "").lower(), [])
        if len(named) > 1:
            raise HeadwaterError(
                f"{len(named)} jobs are named {monitored.job_name!r} (ids "
                f"{', '.join(map(str, named))}), so {monitored_label(monitored)} is ambiguous; "
                "name the monitored job by its job_id, or rename the others")
        return named[0] if named else None

    def runs_of(self, job_id: int) -> tuple[int, LastRun | None]:
        """How many runs of the job are active, and its latest run that ended."""
        active = len(self.store.list_runs(job_id, limit=1000, active_only=True))
        return active, last_ended_run(self.store, job_id)

    def fire(self, watched: _Watched, fire: Fire, body: Mapping[str, Any]) -> bool:
        """Start the run a trigger fired; False if another engine started it first."""
        job = watched.job
        state, parameters = new_run(watched.settings, {})
        info = {**fire.info, "type": fire.trigger}
        if fire.logical_time is not None:
            info["time"] = fire.logical_time.isoformat()
        created = self.store.fire_trigger(
            NewRun(job, state, parameters, fire.trigger, job.creator or "headwater",
                   str(job_folder(job)), self.clock.now(), trigger_info=info),
            fire.key, watched.version, body)
        if created is not None:
            log.info("job %s: %s fired run %s (%s)", job.job_id, fire.trigger,
                     created.run_id, fire.key,
                     extra={"job_id": job.job_id, "run_id": created.run_id})
        return created is not None


def last_ended_run(store: Store, job_id: int) -> LastRun | None:
    """The job's latest run that ended, as a continuous trigger weighs it."""
    ended = store.list_runs(job_id, limit=1, completed_only=True)
    return LastRun(ended[0].run_id, ended[0].result, ended[0].end_time) if ended else None


def _may_trigger(settings: Mapping[str, Any]) -> bool:
    return any(settings.get(name) is not None for name in ("schedule", "trigger", "continuous")) \
        or bool(settings.get("triggers"))


__all__ = ["Scheduler", "last_ended_run"]
