"""Bundle presets and deployment modes: what a target does to every job it makes.

The bundle's `presets`, then the chosen target's, set a name prefix, tags, the pause status of
schedules, triggers and continuous runs, and `max_concurrent_runs`. Following the Databricks CLI
(`ApplyTargetMode`, `ApplyPresets`):

- `mode: development` defaults the presets: the name prefix `[dev <short_name>] `, a `dev` tag,
  pause status PAUSED for a schedule, trigger or continuous that does not set its own, and
  `max_concurrent_runs: 4` where unset; the `presets` of the bundle and target change these;
- `mode: production` changes nothing. Databricks also checks, for production, that `run_as` is
  set and the Git branch matches; headwater does not.

A job's own settings win: presets only fill in what the job leaves unset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from headwater.core.bundle_model import (
    BundleProblem,
    BundleSource,
    ComposedJob,
    Definition,
    Origin,
    as_mapping,
    short_name,
)
from headwater.core.bundle_variables import ReferenceContext, Unresolved, fill_value
from headwater.core.checks import format_path
from headwater.core.load_messages import shown

PAUSE_STATUSES = ("PAUSED", "UNPAUSED")
DEVELOPMENT_CONCURRENT_RUNS = 4


@dataclass(frozen=True, slots=True)
class Presets:
    """What a target does to every job: `presets`, with the defaults of `mode: development`."""

    name_prefix: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    trigger_pause_status: str | None = None
    jobs_max_concurrent_runs: int | None = None


def target_presets(
    sources: Sequence[BundleSource],
    definitions: Sequence[Definition],
    context: ReferenceContext,
    problems: list[BundleProblem],
) -> Presets:
    """The bundle's `presets`, then the target's, filled in and checked; then the mode's."""
    sections = [(Origin(s.index, ("presets",)), s.data.get("presets")) for s in sources]
    sections += [
        (Origin(at.source, (*at.path, "presets")), d.get("presets")) for at, d in definitions
    ]
    written: dict[str, tuple[object, Origin]] = {}
    for at, section in sections:
        for key, value in as_mapping(section).items():
            written[key] = (value, Origin(at.source, (*at.path, key)))
    mode = next((d["mode"] for _, d in reversed(definitions) if "mode" in d), None)
    filled = {
        key: _filled_preset(value, origin, context, problems)
        for key, (value, origin) in written.items()
    }
    presets = _checked_presets(filled, written, problems)
    return _development(presets, context.user) if mode == "development" else presets


def _filled_preset(
    value: object, origin: Origin, context: ReferenceContext, problems: list[BundleProblem]
) -> object:
    try:
        return fill_value(value, context)
    except Unresolved as error:
        problems.append(BundleProblem(origin, format_path(origin.path), str(error)))
        return None


def _checked_presets(
    values: Mapping[str, object],
    written: Mapping[str, tuple[object, Origin]],
    problems: list[BundleProblem],
) -> Presets:
    def bad(key: str, message: str) -> None:
        origin = written[key][1]
        problems.append(BundleProblem(origin, format_path(origin.path), message))

    prefix, tags = values.get("name_prefix") or "", values.get("tags") or {}
    pause, runs = values.get("trigger_pause_status"), values.get("jobs_max_concurrent_runs")
    if not isinstance(prefix, str):
        bad("name_prefix", f"must be a string (got {shown(prefix)})")
        prefix = ""
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        bad("tags", f"must be a mapping of strings (got {shown(tags)})")
        tags = {}
    if pause is not None and pause not in PAUSE_STATUSES:
        bad("trigger_pause_status", f"must be PAUSED or UNPAUSED (got {shown(pause)})")
        pause = None
    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
        bad("jobs_max_concurrent_runs", f"must be an integer >= 1 (got {shown(runs)})")
        runs = None
    return Presets(
        prefix,
        {str(k): str(v) for k, v in tags.items()},
        str(pause) if pause else None,
        runs if isinstance(runs, int) else None,
    )


def _development(presets: Presets, user: str) -> Presets:
    """The presets of a `mode: development` target: its own, else the development defaults."""
    name = short_name(user)
    return Presets(
        presets.name_prefix or f"[dev {name}] ",
        {"dev": name, **presets.tags},
        presets.trigger_pause_status or "PAUSED",
        presets.jobs_max_concurrent_runs or DEVELOPMENT_CONCURRENT_RUNS,
    )


def apply_presets(job: ComposedJob, presets: Presets) -> None:
    """Prefix the name, add the tags it lacks, set unset pause statuses and concurrency."""
    data = job.data
    if not isinstance(data, dict):
        return
    name = data.get("name")
    if presets.name_prefix and (name is None or isinstance(name, str)):
        data["name"] = presets.name_prefix + (name or job.resource_name)
    if presets.tags and data.get("tags") is None:
        data["tags"] = {}
    tags = data.get("tags")
    if isinstance(tags, dict):
        tags.update({k: v for k, v in presets.tags.items() if not tags.get(k)})
    if presets.jobs_max_concurrent_runs and not data.get("max_concurrent_runs"):
        data["max_concurrent_runs"] = presets.jobs_max_concurrent_runs
    entries = data.get("triggers")  # the multi-trigger list: each entry has its own status
    sections = [data.get(key) for key in ("schedule", "trigger", "continuous")]
    for section in [*sections, *(entries if isinstance(entries, list) else [])]:
        if (
            presets.trigger_pause_status
            and isinstance(section, dict)
            and (not section.get("pause_status"))
        ):
            section["pause_status"] = presets.trigger_pause_status
