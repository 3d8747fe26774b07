"""Unused task environments and Git copies are pruned: those last used before the cutoff
that no process holds go, whole; one in use stays, even when old; an engine prunes them once
a pass, even while it keeps every run. Real folders, real lock files, real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from engine_world import World

from headwater.core.retention import RetentionPolicy
from headwater.engine.cache_pruning import prune_caches
from headwater.entrypoints.filelock import locked_if_free

NOW = datetime.now(UTC)
CUTOFF = NOW - timedelta(days=30)
# A process that holds a folder's lock shared, then becomes another program, as an attempt in
# a task environment does (`entrypoints/environment.py`).
HOLD_THEN_EXEC = (
    "import os, sys\n"
    "from pathlib import Path\n"
    "from headwater.entrypoints.filelock import hold_shared\n"
    "hold_shared(Path(sys.argv[1]))\n"
    "print('held', flush=True)\n"
    "os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)'])\n")


def cache(path: Path, days_ago: float, size: int = 100) -> Path:
    """A cache folder of `size` bytes, last used `days_ago` days ago."""
    (path / "lib").mkdir(parents=True)
    (path / "lib" / "module.py").write_bytes(b"x" * size)
    instant = (NOW - timedelta(days=days_ago)).timestamp()
    os.utime(path, (instant, instant))
    return path


@pytest.fixture
def holder() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes that hold a folder until the test ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def hold(holder: list[subprocess.Popen[str]], folder: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", HOLD_THEN_EXEC, str(folder)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    holder.append(process)
    return process


def test_a_shared_hold_lasts_through_exec_until_the_process_ends(
        tmp_path: Path, holder: list[subprocess.Popen[str]]) -> None:
    folder = tmp_path / "envs" / "a"
    process = hold(holder, folder)
    with locked_if_free(folder) as free:
        assert free is False  # the program it became holds it
    process.kill()
    process.wait()
    with locked_if_free(folder) as free:
        assert free is True


def test_unused_caches_go_and_those_in_use_or_used_lately_stay(
        tmp_path: Path, holder: list[subprocess.Popen[str]]) -> None:
    # Given, under a home: an environment and a Git copy unused for 40 days, one environment
    # used yesterday, one unused for 40 days but in use now, and what a crash left of a removal
    home = tmp_path / "home"
    old_env = cache(home / "envs" / "0123456789abcdef", days_ago=40, size=1000)
    old_git = cache(home / "git" / "fedcba9876543210.git", days_ago=40, size=500)
    recent = cache(home / "envs" / "1111111111111111", days_ago=1)
    in_use = cache(home / "envs" / "2222222222222222", days_ago=40)
    leftover = cache(home / "envs" / ".removing-3333333333333333", days_ago=0, size=7)
    hold(holder, in_use)

    # When a dry pass, then a pass, prune what was unused for 30 days
    dry = prune_caches(home, CUTOFF, dry_run=True)
    assert (dry.folders, dry.bytes) == (3, 1507)
    assert old_env.exists() and old_git.exists() and leftover.exists()
    pruned = prune_caches(home, CUTOFF)

    # Then the old ones and the leftover are gone whole; their lock files stay
    assert (pruned.folders, pruned.bytes) == (3, 1507)
    assert sorted(p.name for p in (home / "envs").iterdir() if p.is_dir()) == [
        recent.name, in_use.name]
    assert [p.name for p in (home / "git").iterdir()] == [f"{old_git.name}.lock"]
    assert Path(f"{old_env}.lock").is_file()
    assert prune_caches(home, CUTOFF).folders == 0  # nothing more to do
    assert prune_caches(tmp_path / "no-home", CUTOFF).folders == 0


def test_an_engine_prunes_unused_caches_even_when_it_keeps_every_run(world: World) -> None:
    # Given an engine's home with an environment unused for 40 days (by the engine's clock)
    env = world.tmp_path / "envs" / "0123456789abcdef"
    (env / "bin").mkdir(parents=True)
    instant = (world.clock.now() - timedelta(days=40)).timestamp()
    os.utime(env, (instant, instant))
    kept = world.tmp_path / "git" / "fedcba9876543210.git"
    kept.mkdir(parents=True)  # used just now

    # When an engine that keeps every run, and caches for 30 days, turns once
    policy = RetentionPolicy(runs_days=None, caches_days=30)
    world.engine("e1", retention=policy).step()

    # Then the environment is gone and the Git copy stays
    assert not env.exists() and kept.exists()
