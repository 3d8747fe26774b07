"""The attempt parent and its spawner, driven through `Spawner` as the executor drives them."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.executors.attempt_processes import alive, read_pids, wait_for

from headwater.executors import parent
from headwater.executors.local import TAG_VARIABLE
from headwater.executors.spawner import Spawned, Spawner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

_launches = itertools.count(1)


@pytest.fixture
def spawner() -> Iterator[Spawner]:
    local = Spawner()
    yield local
    local.close()


def request(tmp_path: Path, command: str, name: str = "attempt",
            grace: float = 10.0) -> dict[str, object]:
    """A launch request as `LocalExecutor` sends it (its directory made beforehand)."""
    directory = tmp_path / "attempts" / name
    directory.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.parent-test.1.1.{next(_launches)}"
    return {"argv": ["/bin/sh", "-c", command], "env": {**os.environ, TAG_VARIABLE: tag},
            "cwd": str(tmp_path), "log": str(directory / "output.log"), "dir": str(directory),
            "grace": grace, "tag": tag, "key": [1, 1]}


def ended(spawned: Spawned, timeout: float = 10.0) -> None:
    """Wait until the attempt parent has ended, through its pidfd."""
    poller = select.poll()
    poller.register(spawned.pidfd, select.POLLIN)
    try:
        assert poller.poll(timeout * 1000), f"parent {spawned.pid} still runs"
    finally:
        os.close(spawned.pidfd)


def record(tmp_path: Path, name: str = "attempt") -> dict[str, object]:
    data = json.loads((tmp_path / "attempts" / name / parent.EXIT).read_text())
    assert isinstance(data, dict)
    return data


def test_of_two_parents_for_one_attempt_one_runs_it_and_the_other_writes_nothing(
    spawner: Spawner, tmp_path: Path
) -> None:
    # Given two parents started for the same attempt directory
    ledger = tmp_path / "ledger"
    launch = request(tmp_path, f"echo ran; echo $$ >> {ledger}; exit 3")
    first = spawner.spawn(launch)
    second = spawner.spawn(launch)

    # Then the first one claimed it and the second one ended at once, without running it
    assert (first.claim, second.claim) == (parent.CLAIMED, parent.LOST)
    ended(second)
    ended(first)
    claim = json.loads((tmp_path / "attempts" / "attempt" / parent.CLAIM).read_text())
    assert (claim["pid"], claim["start_ticks"]) == (first.pid, first.start_ticks)
    assert len(read_pids(ledger)) == 1
    assert (tmp_path / "attempts" / "attempt" / "output.log").read_text() == "ran\n"
    assert record(tmp_path)["exit_code"] == 3
    assert sorted(p.name for p in (tmp_path / "attempts" / "attempt").iterdir()) == [
        "exit.json", "output.log", "parent.json"]  # no temporary left behind


def test_a_parent_claims_its_attempt_only_once_out_of_the_engine_s_process_group(
    spawner: Spawner, tmp_path: Path
) -> None:
    # A kill of the engine's process group (a service manager stopping it, a test's
    # `killpg`) reaches the spawner and any child still in its group: a parent must have
    # left that group before its claim exists, or the attempt is lost with no exit record.
    spawned = spawner.spawn(request(tmp_path, "sleep 30"))

    claim = json.loads((tmp_path / "attempts" / "attempt" / parent.CLAIM).read_text())
    assert claim["session"] == claim["pid"] == spawned.pid
    assert os.getsid(spawned.pid) != os.getsid(spawner.pid or 0)
    os.kill(spawned.pid, signal.SIGUSR1)  # kill it now
    ended(spawned)


def test_the_exit_record_says_how_and_when_the_attempt_ended(
    spawner: Spawner, tmp_path: Path
) -> None:
    spawned = spawner.spawn(request(tmp_path, "kill -SEGV $$"))
    ended(spawned)

    data = record(tmp_path)
    assert set(data) == {"exit_code", "signal", "at", "start_error"}
    assert (data["exit_code"], data["signal"], data["start_error"]) == (None, 11, None)
    assert str(data["at"]).endswith("+00:00")


def test_the_parent_ignores_sigint_and_sighup_and_the_task_ignores_nothing(
    tmp_path: Path
) -> None:
    # Given an engine that ignores SIGHUP and SIGQUIT (as under nohup, or a shell's `&`)
    previous = [signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGHUP,
                                                                     signal.SIGQUIT)]
    try:
        spawner = Spawner()
    finally:
        signal.signal(signal.SIGHUP, previous[0])
        signal.signal(signal.SIGQUIT, previous[1])
    try:
        spawned = spawner.spawn(request(tmp_path, "echo $$ > pids; exec sleep 60"))
        [task] = read_pids(tmp_path / "pids")
        wait_for(lambda: psutil.Process(task).name() == "sleep")
    finally:
        spawner.close()

    # Then the task starts with every standard signal at its default, as a program expects
    # (glibc's posix_spawn leaves its own internal real-time signals, 32 and 33, ignored: a
    # glibc program installs handlers for those when it needs them)
    status = Path(f"/proc/{task}/status").read_text()
    ignored = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    assert int(ignored.split()[1], 16) & (1 << 31) - 1 == 0

    # And the parent outlives a Ctrl-C and a hang-up, then obeys SIGUSR1 (SIGKILL the tree)
    os.kill(spawned.pid, signal.SIGINT)
    os.kill(spawned.pid, signal.SIGHUP)
    os.kill(spawned.pid, signal.SIGUSR1)
    ended(spawned)
    assert record(tmp_path)["signal"] == signal.SIGKILL


def test_the_parent_sigkills_the_tree_by_itself_after_its_grace(
    spawner: Spawner, tmp_path: Path
) -> None:
    # Given an attempt whose task and child ignore SIGTERM, and no engine to finish a kill
    command = "trap '' TERM; sh -c 'trap \"\" TERM; sleep 60' & echo $! > pids; wait"
    spawned = spawner.spawn(request(tmp_path, command, grace=0.3))
    [child] = read_pids(tmp_path / "pids")
    spawner.close()

    # When its parent gets SIGTERM
    os.kill(spawned.pid, signal.SIGTERM)

    # Then after the grace the parent SIGKILLs the tree and records it
    ended(spawned)
    assert record(tmp_path)["signal"] == signal.SIGKILL
    assert not alive([child])


def test_the_parent_adopts_what_escapes_the_task(spawner: Spawner, tmp_path: Path) -> None:
    # Given a task whose grandchild left its session and lost its own parent
    command = "sh -c 'setsid sleep 60 & echo $! > pids'; sleep 60"
    spawned = spawner.spawn(request(tmp_path, command))
    [orphan] = read_pids(tmp_path / "pids")

    # Then it is re-parented to the attempt parent, the subreaper, not to init
    wait_for(lambda: psutil.Process(orphan).ppid() == spawned.pid)
    assert psutil.Process(spawned.pid).name() == "hw-attempt"
    os.kill(spawned.pid, signal.SIGUSR1)
    ended(spawned)
    assert not alive([orphan])


def test_the_program_is_found_on_the_tasks_own_path_or_relative_to_its_directory(
    spawner: Spawner, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for script in (tools / "hello", tmp_path / "local.sh"):
        script.write_text(f"#!/bin/sh\necho {script.name}\n")
        script.chmod(0o755)
    on_path = request(tmp_path, "", name="on-path")
    on_path["argv"] = ["hello"]
    on_path["env"] = {**os.environ, "PATH": f"{tools}:/usr/bin:/bin"}  # not the engine's PATH
    relative = request(tmp_path, "", name="relative")
    relative["argv"] = ["./local.sh"]

    for launch in (on_path, relative):
        ended(spawner.spawn(launch))

    assert (tmp_path / "attempts" / "on-path" / "output.log").read_text() == "hello\n"
    assert (tmp_path / "attempts" / "relative" / "output.log").read_text() == "local.sh\n"
    assert record(tmp_path, "on-path")["exit_code"] == 0


def test_a_log_that_cannot_be_opened_is_a_start_error(spawner: Spawner, tmp_path: Path) -> None:
    launch = request(tmp_path, "echo never")
    os.mkdir(str(launch["log"]))  # a directory where the log should be

    ended(spawner.spawn(launch))

    data = record(tmp_path)
    assert data["exit_code"] is None
    assert str(data["start_error"]).startswith(f"cannot open the log {launch['log']!r}")


def test_the_spawner_ignores_sigint_and_stops_at_eof_leaving_its_attempts(
    spawner: Spawner, tmp_path: Path
) -> None:
    first = spawner.spawn(request(tmp_path, "sleep 60", name="first"))
    serving = spawner.pid
    assert serving is not None

    os.kill(serving, signal.SIGINT)  # a Ctrl-C in the engine's terminal
    second = spawner.spawn(request(tmp_path, "sleep 60", name="second"))
    assert spawner.pid == serving

    spawner.close()  # the spawner reads EOF and exits; close reaps it
    assert not psutil.pid_exists(serving)
    assert alive([first.pid, second.pid]) == [first.pid, second.pid]
    for spawned in (first, second):
        os.close(spawned.pidfd)


def test_a_dead_spawner_is_replaced(spawner: Spawner, tmp_path: Path) -> None:
    ended(spawner.spawn(request(tmp_path, "true", name="first")))
    dead = spawner.pid
    assert dead is not None
    os.kill(dead, signal.SIGKILL)

    spawned = spawner.spawn(request(tmp_path, "exit 7", name="second"))

    assert spawned.claim == parent.CLAIMED
    assert spawner.pid not in (None, dead)
    ended(spawned)
    assert record(tmp_path, "second")["exit_code"] == 7


# A daemon as the textbook makes one: fork, setsid, fork again, let the middle process exit,
# clear the environment (no attempt tag to find it by), and ignore SIGTERM and SIGHUP.
DAEMONIZE = """
    env -i /bin/sh -c 'setsid /bin/sh -c "trap \\"\\" TERM HUP; sleep 60 & echo \\$! > pids" &'
    while [ ! -s pids ]; do sleep 0.01; done
"""


@pytest.mark.parametrize("ending", ["exits", "is terminated"])
def test_a_double_forked_setsid_daemon_with_no_environment_dies_with_its_attempt(
    spawner: Spawner, tmp_path: Path, ending: str
) -> None:
    # Given a task that leaves such a daemon behind, and then exits or is terminated
    then = "exit 0" if ending == "exits" else "sleep 60"
    spawned = spawner.spawn(request(tmp_path, DAEMONIZE + then, grace=0.5))
    [daemon] = read_pids(tmp_path / "pids")
    assert b"HEADWATER" not in Path(f"/proc/{daemon}/environ").read_bytes()
    if ending == "is terminated":
        os.kill(spawned.pid, signal.SIGTERM)

    # Then the attempt ends and the daemon is gone with it
    ended(spawned)
    assert not alive([daemon])
