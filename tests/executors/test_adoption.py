"""Attempts outlive their executor: a later LocalExecutor adopts them, ended, alive or lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.executors.attempt_processes import (
    LAUNCH,
    alive,
    attempt_dir,
    collect,
    descendants,
    key,
    parent_pid,
    read_pids,
    shell,
    spawner_children,
    wait_for,
)

from headwater.errors import AttemptOutOfSight
from headwater.executors import LocalExecutor

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

WAITS_THEN_LEAVES_FILES = """
    while [ ! -e go ]; do sleep 0.02; done
    cd "$HEADWATER_ATTEMPT_DIR"
    echo '{"key": "rows", "value": 3}' >> values.jsonl
    echo '{"name": "seconds", "value": 2}' >> metrics.jsonl
    echo '{"notebook_output": "ok"}' > result.json
    exit 4
"""

TREE = """
    sleep 60 & echo $! >> pids
    setsid sleep 60 & echo $! >> pids
    sh -c 'sleep 60 & echo $! >> pids' &
    echo $$ >> pids
    wait
"""


def test_an_attempt_outlives_its_executor_and_spawner_and_is_adopted_alive(
    tmp_path: Path,
) -> None:
    # Given an attempt whose executor closed and whose spawner was SIGKILLed
    spec = shell(tmp_path, WAITS_THEN_LEAVES_FILES)
    first = LocalExecutor(launch=LAUNCH)
    before = spawner_children()
    handle = first.launch(key(), spec)
    [spawner] = spawner_children() - before
    os.kill(spawner, signal.SIGKILL)
    first.close()
    assert alive([parent_pid(handle)])

    # When a new executor adopts it
    with LocalExecutor(launch=LAUNCH) as second:
        assert second.adopt(key(), handle, spec.attempt_dir) == handle
        assert second.running() == 1
        assert second.wait(0.05) == []
        (tmp_path / "go").touch()

        # Then its exit comes from the new executor, with everything the task left
        [exit_] = collect(second, 1)
    assert (exit_.key, exit_.exit_code, exit_.signal, exit_.lost) == (key(), 4, None, None)
    assert exit_.values == '{"key": "rows", "value": 3}\n'
    assert exit_.metrics == '{"name": "seconds", "value": 2}\n'
    assert exit_.result == {"notebook_output": "ok"}


def test_an_attempt_that_ended_while_no_one_watched_is_adopted_as_ended(
    tmp_path: Path,
) -> None:
    # Given an attempt that ended after its executor had closed
    spec = shell(tmp_path, 'echo \'{"key": "k", "value": 1}\' > "$HEADWATER_ATTEMPT_DIR/values.jsonl"; exit 3')
    with LocalExecutor(launch=LAUNCH) as first:
        handle = first.launch(key(), spec)
    wait_for((spec.attempt_dir / "exit.json").exists)
    recorded = json.loads((spec.attempt_dir / "exit.json").read_text())["at"]

    # When a new executor adopts it, then its recorded exit is ready at once
    with LocalExecutor(launch=LAUNCH) as second:
        assert second.adopt(key(), handle, spec.attempt_dir) == handle
        assert second.running() == 1
        [exit_] = second.wait(0)
        assert second.running() == 0
    assert (exit_.exit_code, exit_.signal, exit_.lost) == (3, None, None)
    assert exit_.values == '{"key": "k", "value": 1}\n'
    assert exit_.at is not None and exit_.at.isoformat() == recorded


def test_a_parent_killed_mid_attempt_is_adopted_as_lost_and_nothing_of_it_survives(
    tmp_path: Path,
) -> None:
    # Given an attempt with children in and out of its session, whose parent was SIGKILLed
    # while no executor watched
    spec = shell(tmp_path, TREE)
    with LocalExecutor(launch=LAUNCH) as first:
        handle = first.launch(key(), spec)
    tree = read_pids(tmp_path / "pids", count=4)
    os.kill(parent_pid(handle), signal.SIGKILL)
    wait_for(lambda: not alive([parent_pid(handle)]))
    assert alive(tree) == tree

    # When a new executor adopts it
    with LocalExecutor(launch=LAUNCH) as second:
        assert second.adopt(key(), handle, spec.attempt_dir) == handle
        [exit_] = collect(second, 1)

    # Then it is lost, and every process of it is gone
    assert (exit_.exit_code, exit_.signal) == (None, None)
    assert exit_.lost is not None and "is gone and it recorded no exit" in exit_.lost
    wait_for(lambda: not alive(tree))


def test_a_parent_killed_while_watched_is_reported_lost(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    handle = executor.launch(key(), shell(tmp_path, TREE))
    tree = read_pids(tmp_path / "pids", count=4)

    os.kill(parent_pid(handle), signal.SIGKILL)

    [exit_] = collect(executor, 1)
    assert exit_.lost is not None and exit_.exit_code is None
    wait_for(lambda: not alive(tree))


def test_adopting_an_attempt_that_never_started_returns_none(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # Its directory may not exist, or hold only what the engine wrote before the launch
    prepared = attempt_dir(tmp_path, "prepared")
    prepared.mkdir(parents=True)
    (prepared / "context.json").write_text("{}")

    assert executor.adopt(key(1), None, attempt_dir(tmp_path, "missing")) is None
    assert executor.adopt(key(2), "12345:678", prepared) is None
    assert executor.running() == 0


def test_adopting_a_launched_attempt_without_a_folder_here_says_it_is_out_of_sight(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # A handle is recorded only after a parent claimed the attempt in its folder: no folder
    # here means it ran under another home, not that it never started (nor that it is lost)
    with pytest.raises(AttemptOutOfSight, match="another HEADWATER_HOME"):
        executor.adopt(key(3), "12345:678", attempt_dir(tmp_path, "elsewhere"))
    assert executor.running() == 0


def test_an_attempt_of_an_earlier_boot_is_lost(executor: LocalExecutor, tmp_path: Path) -> None:
    # Given a claim naming a process that exists now (ourselves), but from another boot
    directory = attempt_dir(tmp_path)
    directory.mkdir(parents=True)
    me = Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()
    claim = {"pid": os.getpid(), "start_ticks": int(me[19]), "boot_id": "an-earlier-boot",
             "tag": "no-such-tag", "key": [1, 1], "grace": 1.0}
    (directory / "parent.json").write_text(json.dumps(claim))

    assert executor.adopt(key(), None, directory) == f"{claim['pid']}:{claim['start_ticks']}"

    [exit_] = executor.wait(0)
    assert exit_.lost is not None


def test_kill_through_a_new_executor_after_adoption(tmp_path: Path) -> None:
    # Given an attempt that ignores SIGTERM, launched by an executor whose parents wait 30 s
    # before their own SIGKILL, then adopted by another executor
    with LocalExecutor(launch=LAUNCH, kill_grace_seconds=30) as first:
        handle = first.launch(key(), shell(tmp_path, "trap '' TERM; sleep 60 & echo $! > pids; wait"))
        read_pids(tmp_path / "pids")
    tree = [parent_pid(handle), *descendants(parent_pid(handle))]
    with LocalExecutor(launch=LAUNCH) as second:
        second.adopt(key(), handle, attempt_dir(tmp_path))

        # When the new executor kills it with a short grace
        second.kill(key(), 0.3)

        # Then it is SIGKILLed after that grace, not the parent's 30 s
        [exit_] = collect(second, 1, timeout=10)
    assert exit_.signal == signal.SIGKILL
    wait_for(lambda: not alive(tree))


def test_a_kill_completes_after_its_executor_closed(tmp_path: Path) -> None:
    # Given an attempt that ignores SIGTERM, killed by an executor that closes right after
    with LocalExecutor(launch=LAUNCH, kill_grace_seconds=0.3) as first:
        handle = first.launch(key(), shell(tmp_path, "trap '' TERM; sleep 60 & echo $! > pids; wait"))
        read_pids(tmp_path / "pids")
        tree = [parent_pid(handle), *descendants(parent_pid(handle))]
        first.kill(key(), 60)

    # Then its parent SIGKILLs it by itself after the grace, and records it
    record = attempt_dir(tmp_path) / "exit.json"
    wait_for(record.exists, timeout=10)
    assert json.loads(record.read_text())["signal"] == signal.SIGKILL
    wait_for(lambda: not alive(tree))


def test_an_attempt_is_adopted_once(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = shell(tmp_path, "sleep 0.2; exit 5")
    with LocalExecutor(launch=LAUNCH) as first:
        handle = first.launch(key(), spec)

    assert executor.adopt(key(), handle, spec.attempt_dir) == handle
    assert executor.adopt(key(), None, spec.attempt_dir) == handle
    assert executor.launch(key(), spec) == handle
    assert executor.running() == 1
    assert [e.exit_code for e in collect(executor, 1)] == [5]
    assert executor.wait(0.3) == []


def test_a_released_attempt_is_reported_by_the_executor_that_adopts_it(tmp_path: Path) -> None:
    spec = shell(tmp_path, "while [ ! -e go ]; do sleep 0.02; done; exit 2")
    with LocalExecutor(launch=LAUNCH) as first, LocalExecutor(launch=LAUNCH) as second:
        handle = first.launch(key(), spec)
        first.release(key())
        second.adopt(key(), handle, spec.attempt_dir)
        (tmp_path / "go").touch()

        assert [e.exit_code for e in collect(second, 1)] == [2]
        assert first.wait(0.1) == []


def test_a_reused_pid_is_never_taken_for_a_lost_attempt_s_parent(tmp_path: Path) -> None:
    # Given an attempt whose parent and task are gone, and whose parent's pid now belongs to
    # an unrelated process that leads a session and group of its own (a reused pid: the
    # kernel gives it out again; here parent.json is pointed at it, which is the same thing)
    spec = shell(tmp_path, "sleep 60")
    with LocalExecutor(launch=LAUNCH) as first:
        handle = first.launch(key(), spec)
    wait_for((spec.attempt_dir / "parent.json").exists)
    old_parent = parent_pid(handle)
    old_tree = [old_parent, *descendants(old_parent)]
    for pid in old_tree:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(old_tree))
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        claim = json.loads((spec.attempt_dir / "parent.json").read_text())
        claim["pid"] = bystander.pid
        (spec.attempt_dir / "parent.json").write_text(json.dumps(claim))

        # When a new executor adopts the attempt
        with LocalExecutor(launch=LAUNCH) as second:
            second.adopt(key(), f"{bystander.pid}:{claim['start_ticks']}", spec.attempt_dir)
            [exit_] = collect(second, 1)

        # Then it is lost (the pid's start time differs), and the bystander lives on
        assert exit_.lost is not None and f"pid {bystander.pid}) is gone" in exit_.lost
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
