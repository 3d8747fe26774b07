"""CI's sample of the chaos suite: one round of every fault (PostgreSQL ones when
HEADWATER_TEST_POSTGRES_URL is set); `make chaos` runs them all, many times."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.chaos.faults import FAULTS, Fault
from tests.chaos.rounds import POSTGRES, run_round

SEED = int(os.environ.get("HEADWATER_CHAOS_SEED", "11"))
CASES = [pytest.param(fault, backend, id=f"{fault.inflict.__name__}-{backend}")
         for fault in FAULTS for backend in fault.backends]


@pytest.mark.parametrize(("fault", "backend"), CASES)
def test_every_invariant_holds_through_the_fault(fault: Fault, backend: str) -> None:
    if backend == "postgresql" and not POSTGRES:
        pytest.skip("set HEADWATER_TEST_POSTGRES_URL for the PostgreSQL rounds")
    # A folder another user may enter: one round runs an engine as `nobody` (read-only store)
    base = Path(tempfile.mkdtemp(prefix="headwater-chaos-"))
    base.chmod(0o755)
    result = run_round(fault, backend, SEED, base)
    if result.held:
        shutil.rmtree(base, ignore_errors=True)
    assert not result.error, f"{result.error}\n{result.kept}"
    failed = [f"{v.name}: {v.detail}" for v in result.verdicts if not v.held]
    assert not failed, "\n".join([*failed, result.kept])
    assert len(result.verdicts) == 9
