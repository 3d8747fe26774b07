"""A job as the jobs list and the job page show it: its schedule in words, when it fires next,
whether it is paused, its owner, its tags, and its last runs as coloured squares (the run
matrix). Built from the `Job` document and the service's records. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.core.permissions import Grant, owner_of
from headwater.core.spec import JobSettings
from headwater.core.triggers import trigger_views
from headwater.design.words import timing_words
from headwater.ports import JobRecord, RunSummary
from headwater.web.views.formats import duration, instant, of_datetime
from headwater.web.views.states import Shown, summary_state

TIMING_FIELDS = ("schedule", "trigger", "continuous")


@dataclass(frozen=True, slots=True)
class RunSquare:
    """One run in the run matrix: its colour, and what hovering (or a screen reader) says."""

    run_id: int
    shown: Shown
    label: str


@dataclass(frozen=True, slots=True)
class JobRow:
    """One job of the jobs list."""

    job_id: int
    name: str
    timing: str  # the schedule, trigger or continuous mode in words
    next_fire: int  # epoch ms; 0 when it does not fire (none, or paused)
    paused: bool | None  # None: nothing to pause
    owner: str
    tags: Mapping[str, str]
    squares: Sequence[RunSquare]  # oldest first, as the matrix reads left to right
    deployed: bool  # deployed from files (a bundle or a job file)


def paused_of(settings: Mapping[str, Any]) -> bool | None:
    """Whether the job's schedule, trigger and continuous settings (or each entry of its
    `triggers`) are all paused; None when it has none of them."""
    found = [settings[name] for name in TIMING_FIELDS if isinstance(settings.get(name), dict)]
    found += [entry for entry in settings.get("triggers") or [] if isinstance(entry, dict)]
    if not found:
        return None
    return all(part.get("pause_status") == "PAUSED" for part in found)


def square(run: RunSummary) -> RunSquare:
    shown = summary_state(run.life_cycle, run.result)
    started = of_datetime(run.start_time)
    took = of_datetime(run.end_time) - started if run.end_time and run.start_time else None
    words = f"Run {run.run_id}: {shown.words}"
    if started:
        words += f", started {instant(started)}"
    if took is not None:
        words += f", took {duration(took)}"
    return RunSquare(run.run_id, shown, words)


def job_row(document: Mapping[str, Any], grants: Sequence[Grant],
            runs: Iterable[RunSummary]) -> JobRow:
    """The row of a `Job` document, with its access control list and its last runs (newest
    first, as `runs list` gives them)."""
    settings = document["settings"]
    extra = document.get("headwater", {})
    return JobRow(
        job_id=document["job_id"],
        name=settings.get("name") or "Untitled",
        timing=timing_words(JobSettings.model_validate(settings)),
        next_fire=int(extra.get("next_fire_time", 0)),
        paused=paused_of(settings),
        owner=owner_of(grants) or document.get("creator_user_name") or "",
        tags=dict(settings.get("tags") or {}),
        squares=[square(run) for run in reversed(list(runs))],
        deployed=extra.get("deployment_key") is not None,
    )


def matches(job: JobRecord, name: str, tag: str) -> bool:
    """Whether a job passes the list's filters: `name` anywhere in its name (any case), and
    `tag` a tag key, or `key:value` (`key=value`)."""
    if name and name.lower() not in job.name.lower():
        return False
    if not tag:
        return True
    tags = job.settings.get("tags") or {}
    assert isinstance(tags, dict)
    key, _, value = tag.replace("=", ":").partition(":")
    key, value = key.strip(), value.strip()
    if key not in tags:
        return False
    return not value or str(tags[key]) == value


@dataclass(frozen=True, slots=True)
class TriggerEntry:
    """One entry of a job's `triggers`, as the job page lists it: when it fires, in words, and
    the run it last started (if any) and when (epoch ms)."""

    words: str
    last_run_id: int | None
    last_fired: int | None


def trigger_entries(settings: JobSettings, document: Mapping[str, Any]) -> list[TriggerEntry]:
    """Each entry of the job's `triggers` with what `jobs/get` tells of it (`trigger_details`
    with its history); none for a job without the list."""
    details = list(document.get("trigger_details") or [])
    entries = []
    for index, view in enumerate(trigger_views(settings) if settings.triggers else []):
        detail = details[index] if index < len(details) else {}
        last = (detail.get("history") or {}).get("last_triggered") or {}
        entries.append(TriggerEntry(timing_words(view), last.get("run_id"),
                                    last.get("timestamp")))
    return entries


def upstream_states(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What the job's job-completion triggers saw of each monitored job: its one trigger's
    (`trigger_state`), or each entry's of `triggers` (`trigger_details`)."""
    seen = [document.get("trigger_state") or {},
            *((detail.get("state") or {}) for detail in document.get("trigger_details") or [])]
    return [job for state in seen
            for job in (state.get("job_completion") or {}).get("monitored_job_states") or []]


__all__ = ["JobRow", "RunSquare", "TriggerEntry", "job_row", "matches", "paused_of", "square",
           "trigger_entries", "upstream_states"]
