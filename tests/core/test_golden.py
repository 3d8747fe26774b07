"""Golden event logs: stored event sequences replayed through `decide` must reproduce the
stored final snapshots. A failure here means the run semantics changed: if that was meant,
regenerate with `python -m tests.core.golden_scenarios` and review the snapshot diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.core.events import RepairRequested, event_from_dict
from headwater.core.machine import decide, initial_state
from headwater.core.plan import build_plan
from headwater.core.snapshot import snapshot_dict
from headwater.core.spec import JobSettings

GOLDEN = sorted(Path(__file__).with_name("golden").glob("*.json"))


def test_there_are_golden_logs() -> None:
    assert len(GOLDEN) >= 7


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_replaying_the_log_reproduces_the_snapshot(path: Path) -> None:
    golden = json.loads(path.read_text())
    plan = build_plan(JobSettings.model_validate(golden["job"]))
    state = initial_state(plan)
    for body in golden["events"]:
        event = event_from_dict(body)
        assert not isinstance(event, RepairRequested) or event.job_version == 1
        state = decide(state, event).state
    assert snapshot_dict(state) == golden["snapshot"]
