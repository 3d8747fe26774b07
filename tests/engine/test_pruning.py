"""Run-history retention in the engine: it prunes on its own, rows first and folders after,
outlasts a store that fails meanwhile, and the next pass completes a pass a crash cut short.

The real SQLite store on a fake clock; real folders under the test's logs directory.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from engine_world import World, step_until

from headwater.core.retention import RetentionPolicy
from headwater.engine.retention import RunsPruner
from headwater.errors import NotFound, StoreError

DAY = 24 * 3600.0
ONE_DAY = RetentionPolicy(runs_days=1, every=timedelta(minutes=10))


def finished_run(world: World, tasks: int = 2) -> int:
    """A run driven to its end by a short-lived engine (which prunes nothing)."""
    run_id = world.start(world.job(tasks=tasks, name=f"job{len(world.store.list_jobs())}"))
    step_until(lambda: world.result(run_id) == "SUCCESS", world.engine("driver"))
    return run_id


def folder(world: World, run_id: int) -> Path:
    return world.tmp_path / "logs" / str(run_id)


def make_folder(world: World, run_id: int, days_ago: float) -> Path:
    """A run folder with one log, last changed `days_ago` days before the clock's now."""
    path = folder(world, run_id) / "t0" / "attempt-0"
    path.mkdir(parents=True)
    (path / "output.log").write_text("hello\n")
    instant = (world.clock.now() - timedelta(days=days_ago)).timestamp()
    for each in (path / "output.log", path, path.parent, path.parent.parent):
        os.utime(each, (instant, instant))
    return path.parent.parent


def test_an_engine_prunes_old_runs_and_their_folders_on_its_own(world: World) -> None:
    # Given a run that ended two days ago and one that ended just now, with their files
    old = finished_run(world)
    world.clock.advance(2 * DAY)
    recent = finished_run(world)
    make_folder(world, old, days_ago=2)
    make_folder(world, recent, days_ago=0)

    # When an engine with a retention of one day starts
    engine = world.engine("e1", retention=ONE_DAY)
    engine.step()

    # Then the old run is gone from the lists, from lookups and from the disk; the recent stays
    assert [s.run_id for s in world.service.list_runs().items] == [recent]
    with pytest.raises(NotFound):
        world.service.run_document(old)
    assert not folder(world, old).exists()
    assert folder(world, recent).is_dir()
    [entry] = world.store.audit_entries(action="runs.pruned")
    assert entry.entry.details["runs"] == 1


def test_the_engine_looks_again_only_when_the_next_pass_is_due(world: World) -> None:
    # Given a run that is 5 minutes short of a day old, and an engine that pruned at its
    # start (the run was too young)
    run_id = finished_run(world)
    world.clock.advance(DAY - 5 * 60)
    engine = world.engine("e1", retention=ONE_DAY)
    engine.step()
    # When the run ages past the cutoff, and the engine turns before and after ten minutes
    world.clock.advance(6 * 60)
    engine.step()
    assert world.result(run_id) == "SUCCESS"  # not yet: the last pass was 6 minutes ago
    world.clock.advance(5 * 60)
    engine.step()
    # Then it is pruned on the first turn after the pass fell due
    assert world.store.existing_runs([run_id]) == set()


def test_the_engine_drives_its_runs_while_a_long_pass_goes_on_a_batch_a_turn(
        world: World) -> None:
    # Given three old runs, and an engine that prunes one run per batch
    olds = [finished_run(world) for _ in range(3)]
    world.clock.advance(2 * DAY)
    engine = world.engine("e1", retention=RetentionPolicy(runs_days=1, batch=1))
    # When a new run is started and the engine turns
    new = world.start(world.job(tasks=3, name="new"))
    engine.step()
    # Then one turn pruned one batch, and the new run goes on meanwhile
    assert len(world.store.existing_runs(olds)) == 2
    step_until(lambda: world.result(new) == "SUCCESS", engine)
    assert world.store.existing_runs(olds) == set()


def test_the_engine_outlasts_a_store_that_fails_while_it_prunes(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an old run, and a store whose pruning fails once (a database restarting)
    old = finished_run(world)
    world.clock.advance(2 * DAY)
    real = world.store.prune_runs
    calls: list[int] = []

    def failing_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("the database is restarting")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.store, "prune_runs", failing_once)
    engine = world.engine("e1", retention=ONE_DAY)
    new = world.start(world.job(tasks=2, name="new"))

    # When the engine turns: the failure is logged, and the next turn tries again
    step_until(lambda: world.result(new) == "SUCCESS"
               and not world.store.existing_runs([old]), engine)

    # Then the run it drives ended and the old run went at the second try
    assert len(calls) >= 2


def test_a_bug_while_pruning_ends_the_pass_not_the_engine(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a store whose pruning hits a bug of ours
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(world.store, "prune_runs", broken)
    engine = world.engine("e1", retention=ONE_DAY)
    new = world.start(world.job(tasks=2, name="new"))

    # When the engine turns: the run it drives still ends
    step_until(lambda: world.result(new) == "SUCCESS", engine)

    # And the pass was given up until the next is due
    assert engine.pruner is not None
    assert engine.pruner.report is None
    assert engine.pruner.next_pass is not None


def test_a_crash_between_rows_and_files_is_completed_by_the_next_prune(world: World) -> None:
    # Given an old run whose rows were pruned, and then the process was killed before its
    # folder went (the first half of a pass, called alone)
    old = finished_run(world)
    world.clock.advance(2 * DAY)
    before = world.clock.now() - timedelta(days=1)
    world.store.prune_runs(before, world.clock.now(), "ann", 100)
    make_folder(world, old, days_ago=2)  # its files, last written when it ran
    # and folders the next pass must leave alone: one of a run not in this store that was
    # written just now (a run being created, or another store's), one of a live run, and
    # an operator's folder
    fresh = make_folder(world, 9999, days_ago=0)
    live = finished_run(world)
    make_folder(world, live, days_ago=2)
    mine = world.tmp_path / "logs" / "keep-me"
    mine.mkdir()

    # When the next pass runs
    report = RunsPruner(world.store, world.tmp_path / "logs", ONE_DAY, "ann").prune(
        world.clock.now(), before)

    # Then the orphan folder is gone, and only it
    assert not folder(world, old).exists()
    assert (report.runs, report.folders, report.bytes) == (0, 1, len("hello\n"))
    assert fresh.is_dir() and folder(world, live).is_dir() and mine.is_dir()


def test_a_folder_half_removed_by_a_killed_prune_is_finished_by_the_next(world: World) -> None:
    # Given the folder of a pruned run, of which a killed prune removed one file of two (its
    # folders' times are now, its files' times are when the run wrote them)
    old = finished_run(world)
    world.clock.advance(2 * DAY)
    before = world.clock.now() - timedelta(days=1)
    world.store.prune_runs(before, world.clock.now(), "ann", 100)
    attempt = make_folder(world, old, days_ago=2) / "t0" / "attempt-0"
    (attempt / "context.json").write_text("{}")
    instant = (world.clock.now() - timedelta(days=2)).timestamp()
    os.utime(attempt / "context.json", (instant, instant))
    (attempt / "output.log").unlink()

    # When the next pass runs, the folder goes
    RunsPruner(world.store, world.tmp_path / "logs", ONE_DAY, "ann").prune(
        world.clock.now(), before)
    assert not folder(world, old).exists()


def test_a_dry_pass_counts_and_removes_nothing(world: World) -> None:
    old = finished_run(world)
    make_folder(world, old, days_ago=0)
    world.clock.advance(2 * DAY)
    report = RunsPruner(world.store, world.tmp_path / "logs", ONE_DAY, "ann").prune(
        world.clock.now(), world.clock.now() - timedelta(days=1), dry_run=True)
    assert (report.runs, report.folders) == (1, 1)
    assert world.store.existing_runs([old]) == {old}
    assert folder(world, old).is_dir()
