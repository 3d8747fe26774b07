"""The chaos suite: rounds of faults, each on a fresh store, each followed by the invariant
checks; a table of rounds, faults and invariants at the end.

    python -m tests.chaos.rounds [--kill-rounds 20] [--rounds 3] [--backend sqlite ...]

(`make chaos`). PostgreSQL rounds run when HEADWATER_TEST_POSTGRES_URL names a database the
suite may wipe. The exit status is 1 when any invariant failed in any round. CI runs a sample
(tests/chaos/test_chaos.py): one round of each fault.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.faults import FAULTS, Fault
from tests.chaos.invariants import Verdict, check_all, outbox
from tests.chaos.world import World, make_world, remove_world

POSTGRES = os.environ.get("HEADWATER_TEST_POSTGRES_URL")


@dataclass
class Round:
    fault: Fault
    backend: str
    seed: int
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""  # the trace of a round that broke before its checks
    kept: str = ""  # where a failed round's files are

    @property
    def held(self) -> bool:
        return not self.error and all(v.held for v in self.verdicts)


def run_round(fault: Fault, backend: str, seed: int, base: Path) -> Round:
    """One round: the world, the fault, every run ended, the invariants. Kept on failure."""
    result = Round(fault, backend, seed)
    started = time.monotonic()
    world = make_world(base, backend, POSTGRES, **fault.world)
    try:
        expected = fault.inflict(world, random.Random(seed))
        documents = world.cluster.wait_ended(world.runs, timeout=300)
        _wait_for_alerts(world)
        world.cluster.stop_all()
        result.verdicts = check_all(world, documents, expected)
    except Exception:  # a round that breaks is a failed round, reported with its trace
        result.error = traceback.format_exc(limit=5)
    finally:
        world.close()
    result.seconds = time.monotonic() - started
    if result.held:
        remove_world(world)
    else:
        result.kept = f"(the round's files are kept in {world.workdir})"
    return result


def _wait_for_alerts(world: World, patience: float = 60.0) -> None:
    """Until the outbox holds nothing pending (the sender retries on its own schedule)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if not [r for r in outbox(world) if r["status"] == "PENDING"]:
            return
        time.sleep(0.5)


def plan(kill_rounds: int, rounds: int, backends: list[str]) -> list[tuple[Fault, str]]:
    planned = []
    for fault in FAULTS:
        count = kill_rounds if fault.inflict.__name__ == "kill_engines" else rounds
        for backend in fault.backends:
            if backend in backends and (backend != "postgresql" or POSTGRES):
                planned += [(fault, backend)] * count
    return planned


def table(results: list[Round]) -> str:
    """Markdown: one row per fault and backend, the rounds run and each invariant held."""
    names = [v.name for r in results for v in r.verdicts]
    invariants = list(dict.fromkeys(names))
    lines = ["| fault | store | rounds | seconds (max) | " + " | ".join(invariants) + " |",
             "|---|---|---|---|" + "---|" * len(invariants)]
    groups: dict[tuple[str, str], list[Round]] = {}
    for result in results:
        groups.setdefault((result.fault.name, result.backend), []).append(result)
    for (fault, backend), group in groups.items():
        cells = []
        for name in invariants:
            held = sum(1 for r in group for v in r.verdicts if v.name == name and v.held)
            cells.append(f"{held}/{len(group)}")
        seconds = max(r.seconds for r in group)
        broken = sum(1 for r in group if r.error)
        label = fault + (f" ({broken} broke)" if broken else "")
        lines.append(f"| {label} | {backend} | {len(group)} | {seconds:.0f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kill-rounds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each other fault")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    backends = args.backend or ["sqlite", "postgresql"]
    if "postgresql" in backends and not POSTGRES:
        print("(no HEADWATER_TEST_POSTGRES_URL: the PostgreSQL rounds are left out)")
    base = Path(tempfile.mkdtemp(prefix="headwater-chaos-"))
    base.chmod(0o755)
    results = []
    for number, (fault, backend) in enumerate(plan(args.kill_rounds, args.rounds, backends)):
        seed = args.seed + number
        result = run_round(fault, backend, seed, base)
        results.append(result)
        failed = [v for v in result.verdicts if not v.held]
        print(f"round {number + 1}: {fault.name} on {backend}, seed {seed}: "
              f"{'held' if result.held else 'FAILED'} in {result.seconds:.0f} s", flush=True)
        for verdict in failed:
            print(f"    {verdict.name}: {verdict.detail}")
        if result.error:
            print("    " + result.error.replace("\n", "\n    "))
        if result.kept:
            print("    " + result.kept)
    print()
    print(table(results))
    return 0 if all(r.held for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
