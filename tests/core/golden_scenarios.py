"""The scenarios behind the golden event logs in tests/core/golden/.

`python -m tests.core.golden_scenarios` rewrites the files from a simulation. Do that only
when a semantic change is intended, and read the diff of the snapshots: it is the change.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from headwater.core.events import RepairRequested, event_to_dict
from headwater.core.machine import decide
from headwater.core.plan import build_plan
from headwater.core.snapshot import snapshot_dict
from headwater.core.spec import JobSettings
from headwater.testing import T0, Script, simulate

GOLDEN = Path(__file__).with_name("golden")


def shell(key: str, *deps: str, **fields: Any) -> dict[str, Any]:
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "shell_command_task": {"command": "true"}, **fields}


SCENARIOS: dict[str, dict[str, Any]] = {
    "retries_then_success": {
        "tasks": [shell("ingest", max_retries=3, min_retry_interval_millis=1000),
                  shell("report", "ingest")],
        "scripts": {"ingest": ["fail", "fail", "ok"]},
    },
    "failure_handled_by_alert": {
        "tasks": [shell("ingest"), shell("report", "ingest"),
                  shell("alert", "ingest", run_if="AT_LEAST_ONE_FAILED"),
                  shell("cleanup", "report", "alert", run_if="ALL_DONE")],
        "scripts": {"ingest": ["fail"]},
    },
    "condition_branches": {
        "tasks": [{"task_key": "check", "condition_task": {"op": "GREATER_THAN_OR_EQUAL",
                                                           "left": "12.0", "right": "12"}},
                  shell("big", "check:true"), shell("small", "check:false"),
                  shell("after_small", "small")],
    },
    "for_each_with_retries": {
        "tasks": [{"task_key": "loop", "for_each_task": {
            "inputs": '["a", "b", "c", "d"]', "concurrency": 2,
            "task": shell("item", max_retries=1)}}],
        "scripts": {"item": ["fail", "ok"]},
    },
    "timeout_and_disabled": {
        "tasks": [shell("slow", timeout_seconds=2), shell("off", disabled=True),
                  shell("after", "slow", "off", run_if="NONE_FAILED")],
        "scripts": {"slow": ["hang"]},
    },
    "cancel_with_cleanup": {
        "tasks": [shell("long"), shell("next", "long"),
                  shell("cleanup", "long", run_if="ALL_DONE")],
        "scripts": {"long": ["hang"]},
        "cancel_at": 3,
    },
    "repair_after_failure": {
        "tasks": [shell("extract"), shell("load", "extract"), shell("report", "load")],
        "scripts": {"load": ["fail"]},
        "repair": ["load"],
    },
}


def _with_dependencies(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for task in tasks:
        for dep in task.get("depends_on", []):
            name, _, outcome = dep["task_key"].partition(":")
            dep["task_key"] = name
            if outcome:
                dep["outcome"] = outcome
    return tasks


def record(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Simulate a scenario; return its job, event log and final snapshot."""
    job = {"name": name, "tasks": _with_dependencies(spec["tasks"])}
    plan = build_plan(JobSettings.model_validate(job))
    scripts = {k: Script(tuple(v)) for k, v in spec.get("scripts", {}).items()}
    cancel = spec.get("cancel_at")
    sim = simulate(plan, scripts, cancel_at=timedelta(seconds=cancel) if cancel else None)
    events, state = list(sim.events), sim.state
    if "repair" in spec:  # the repaired tasks now succeed
        repair = RepairRequested(T0 + timedelta(hours=1), 1000, 1, tuple(spec["repair"]))
        events.append(repair)
        state = decide(state, repair).state
        events, state = _finish_repair(events, state)
    return {"job": job, "events": [event_to_dict(e) for e in events],
            "snapshot": snapshot_dict(state)}


def _finish_repair(events: list[Any], state: Any) -> tuple[list[Any], Any]:
    """Play the repair to its end: every started attempt succeeds one second later."""
    from headwater.core.events import TaskStarted, TaskSucceeded
    from headwater.core.states import LifeCycleState

    at = events[-1].at
    while not state.is_terminal:
        pending = [r for r in state.task_runs.values() if r.life_cycle is LifeCycleState.PENDING]
        running = [r for r in state.task_runs.values() if r.life_cycle is LifeCycleState.RUNNING]
        at += timedelta(seconds=1)
        event = (TaskStarted(at, pending[0].seq, "sim") if pending
                 else TaskSucceeded(at, running[0].seq))
        events.append(event)
        state = decide(state, event).state
    return events, state


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, spec in SCENARIOS.items():
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(record(name, spec), indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
