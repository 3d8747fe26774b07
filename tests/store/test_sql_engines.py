"""Engines saying they are alive, on each database: alive within their lease, unresponsive
past it, stopped when they say so, the runs each holds, and forgotten after a day; the
metrics' count of them."""

from __future__ import annotations

from store_builders import T0, state_with

from headwater.core.plan import Plan
from headwater.ports import EngineBeat, JobRecord
from headwater.store import SqlStore
from headwater.testing import FakeClock


def beat(name: str, lease_seconds: float = 15) -> EngineBeat:
    return EngineBeat(name, f"/srv/{name}", "1.2.3", T0, lease_seconds)


def states(store: SqlStore) -> dict[str, tuple[str, int]]:
    return {e.name: (e.state, e.runs_held) for e in store.list_engines()}


def test_an_engine_is_alive_within_its_lease_then_unresponsive_or_stopped(
        leased: SqlStore, clock: FakeClock, job: JobRecord, plan: Plan) -> None:
    leased.engine_alive(beat("a"))
    leased.engine_alive(beat("b", lease_seconds=5))
    leased.create_run(job, state_with(plan), {}, "ONE_TIME", "ann", "/w", T0)
    [claim] = leased.claim_runs("a", 10, 15, T0, "ann")
    assert states(leased) == {"a": ("alive", 1), "b": ("alive", 0)}
    [found] = [e for e in leased.list_engines() if e.name == "a"]
    assert (found.home, found.version, found.started_time, found.last_seen) == (
        "/srv/a", "1.2.3", T0, T0)

    clock.advance(10)  # b's lease of 5 s passed without a beat; a beat again
    leased.engine_alive(beat("a"))
    assert states(leased) == {"a": ("alive", 1), "b": ("unresponsive", 0)}
    assert leased.live_counts(clock.now()).engines == {"alive": 1, "unresponsive": 1}

    leased.engine_stopped("a")
    leased.release_run(claim.run_id, claim.fence)
    assert states(leased) == {"a": ("stopped", 0), "b": ("unresponsive", 0)}

    leased.engine_alive(beat("a"))  # the same name again: alive again
    assert states(leased)["a"] == ("alive", 0)


def test_an_engine_unseen_for_a_day_is_forgotten(leased: SqlStore, clock: FakeClock) -> None:
    leased.engine_alive(beat("old"))
    clock.advance(24 * 3600 + 1)

    leased.engine_alive(beat("new"))

    assert states(leased) == {"new": ("alive", 0)}
