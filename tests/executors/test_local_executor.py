"""LocalExecutor against real child processes: exits, signals, logs, kills of whole trees."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from headwater.errors import InvalidRequest
from headwater.executors import LocalExecutor
from headwater.executors.local import TAG_VARIABLE
from headwater.ports import AttemptKey, LaunchSpec, TaskExit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

GRACE = 0.5


@pytest.fixture
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(close_grace_seconds=0.2) as local:
        yield local


def shell(tmp_path: Path, command: str, log: str = "attempt.log", **env: str) -> LaunchSpec:
    return LaunchSpec(["/bin/sh", "-c", command], env, tmp_path, tmp_path / "logs" / log)


def python(tmp_path: Path, source: str, log: str = "attempt.log") -> LaunchSpec:
    code = textwrap.dedent(source)
    return LaunchSpec([sys.executable, "-c", code], {}, tmp_path, tmp_path / "logs" / log)


def collect(executor: LocalExecutor, count: int, timeout: float = 10.0) -> list[TaskExit]:
    """Wait until `count` exits were reported (or fail after `timeout`)."""
    exits: list[TaskExit] = []
    deadline = time.monotonic() + timeout
    while len(exits) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(exits)} of {count} exits after {timeout}s: {exits}"
        exits += executor.wait(left)
    return exits


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def alive(pids: list[int]) -> list[int]:
    """The pids that still name a running (not zombie) process."""
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def group_and_descendants(leader: int) -> list[int]:
    """Pids in the leader's process group or session, plus the leader's descendants."""
    found = {child.pid for child in psutil.Process(leader).children(recursive=True)}
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == leader or os.getsid(proc.pid) == leader:
                found.add(proc.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return sorted(found)


def read_pids(path: Path) -> list[int]:
    wait_for(lambda: path.exists() and path.read_text().endswith("\n"))
    return [int(word) for word in path.read_text().split()]


@pytest.mark.parametrize("code", [0, 1, 2, 255])
def test_exit_code_is_reported(executor: LocalExecutor, tmp_path: Path, code: int) -> None:
    key = AttemptKey(1, 1)
    executor.launch(key, shell(tmp_path, f"exit {code}"))

    assert collect(executor, 1) == [TaskExit(key=key, exit_code=code, signal=None)]
    assert executor.running() == 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_death_by_signal_reports_the_signal(
    executor: LocalExecutor, tmp_path: Path, signum: int
) -> None:
    key = AttemptKey(1, 1)
    executor.launch(key, python(tmp_path, f"import os; os.kill(os.getpid(), {int(signum)})"))

    assert collect(executor, 1) == [TaskExit(key=key, exit_code=None, signal=signum)]


def test_stdout_and_stderr_are_appended_to_the_log(executor: LocalExecutor, tmp_path: Path) -> None:
    # Given two attempts writing to the same log file, in a directory that does not exist yet
    log = tmp_path / "logs" / "attempt.log"
    executor.launch(AttemptKey(1, 1), shell(tmp_path, "echo out-1; echo err-1 >&2"))
    collect(executor, 1)
    executor.launch(AttemptKey(1, 2), shell(tmp_path, "echo out-2; echo err-2 >&2"))
    collect(executor, 1)

    # Then both attempts' output is there, in order, nothing overwritten
    assert log.read_text() == "out-1\nerr-1\nout-2\nerr-2\n"


def test_the_environment_reaches_the_process(executor: LocalExecutor, tmp_path: Path) -> None:
    command = 'echo "$GREETING|$PATH_SET|${' + TAG_VARIABLE + ':+tagged}"'
    spec = shell(tmp_path, command, GREETING="hello world", PATH_SET="yes")
    executor.launch(AttemptKey(1, 1), spec)
    collect(executor, 1)

    assert spec.log_path.read_text() == "hello world|yes|tagged\n"


def test_stdin_is_empty(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = shell(tmp_path, "cat; echo end")
    executor.launch(AttemptKey(1, 1), spec)
    assert collect(executor, 1)[0].exit_code == 0
    assert spec.log_path.read_text() == "end\n"


def test_fifty_parallel_attempts_are_each_reported_once(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    keys = [AttemptKey(7, seq) for seq in range(50)]
    for key in keys:
        executor.launch(key, shell(tmp_path, f"sleep 0.0{key.seq % 10}; exit {key.seq % 3}"))
    assert executor.running() == 50

    exits = collect(executor, 50)

    assert sorted(e.key.seq for e in exits) == list(range(50))
    assert all(e.exit_code == e.key.seq % 3 for e in exits)
    assert executor.running() == 0
    assert executor.wait(0.1) == []


def test_launching_a_running_key_again_starts_nothing(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    key = AttemptKey(1, 1)
    first = executor.launch(key, shell(tmp_path, "sleep 0.3"))
    assert executor.launch(key, shell(tmp_path, "exit 3")) == first
    assert executor.running() == 1
    assert collect(executor, 1) == [TaskExit(key=key, exit_code=0)]


def test_a_missing_working_directory_is_an_invalid_request(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = LaunchSpec(["/bin/true"], {}, tmp_path / "nowhere", tmp_path / "a.log")
    with pytest.raises(InvalidRequest, match="nowhere"):
        executor.launch(AttemptKey(1, 1), spec)
    assert executor.running() == 0


def test_is_alive_follows_the_process(executor: LocalExecutor, tmp_path: Path) -> None:
    handle = executor.launch(AttemptKey(1, 1), shell(tmp_path, "sleep 0.5"))
    pid, ticks = handle.split(":")

    assert executor.is_alive(handle)
    assert not executor.is_alive(f"{pid}:{int(ticks) + 1}")  # same pid, another process
    collect(executor, 1)
    assert not executor.is_alive(handle)


def test_is_alive_rejects_a_malformed_handle(executor: LocalExecutor) -> None:
    with pytest.raises(InvalidRequest, match="pid:start_ticks"):
        executor.is_alive("12345")


TRAPS_TERM_WITH_CHILDREN = "trap '' TERM; sleep 60 & sleep 60 & echo $! >> pids; wait"


def test_kill_takes_down_a_tree_that_ignores_sigterm(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # Given a task that ignores SIGTERM and has two children
    key = AttemptKey(1, 1)
    handle = executor.launch(key, shell(tmp_path, TRAPS_TERM_WITH_CHILDREN))
    leader = int(handle.split(":")[0])
    read_pids(tmp_path / "pids")
    wait_for(lambda: len(psutil.Process(leader).children()) == 2)
    tree = [*group_and_descendants(leader), leader]

    # When it is killed with a grace period
    started = time.monotonic()
    executor.kill(key, GRACE)
    assert time.monotonic() - started < GRACE  # kill does not wait for the grace

    # Then it ends by SIGKILL after the grace and nothing of it survives
    assert collect(executor, 1, timeout=GRACE + 5) == [
        TaskExit(key=key, exit_code=None, signal=signal.SIGKILL)
    ]
    wait_for(lambda: not alive(tree), timeout=GRACE + 2)
    assert not executor.is_alive(handle)


def test_kill_is_idempotent(executor: LocalExecutor, tmp_path: Path) -> None:
    key = AttemptKey(1, 1)
    executor.launch(key, shell(tmp_path, TRAPS_TERM_WITH_CHILDREN))
    read_pids(tmp_path / "pids")
    threads = [threading.Thread(target=executor.kill, args=(key, GRACE)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert collect(executor, 1, timeout=GRACE + 5)[0].signal == signal.SIGKILL
    executor.kill(key, GRACE)  # after the end: nothing to do
    assert executor.wait(0.1) == []


def test_kill_from_another_thread_wakes_a_blocked_wait(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    key = AttemptKey(1, 1)
    executor.launch(key, shell(tmp_path, "exec sleep 60"))
    timer = threading.Timer(0.2, executor.kill, (key, 10.0))
    timer.start()

    assert executor.wait(30) == [TaskExit(key=key, exit_code=None, signal=signal.SIGTERM)]


def test_children_keep_their_grace_when_the_leader_dies_first(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # Given a leader that dies on SIGTERM and a child that needs a moment to clean up
    cleanup = "sleep 0.3; echo cleaned > marker; exit 0"
    command = f"(trap '{cleanup}' TERM; touch ready; while :; do sleep 0.05; done) & sleep 60"
    key = AttemptKey(1, 1)
    handle = executor.launch(key, shell(tmp_path, command))
    wait_for((tmp_path / "ready").exists)  # the trap is set
    tree = group_and_descendants(int(handle.split(":")[0]))

    # When the attempt is killed with a generous grace
    executor.kill(key, 10.0)

    # Then its end is reported once the child has finished cleaning up, not SIGKILLed
    assert collect(executor, 1, timeout=10) == [TaskExit(key=key, exit_code=None, signal=15)]
    assert (tmp_path / "marker").read_text() == "cleaned\n"
    assert not alive(tree)


def test_leftover_group_members_die_with_their_leader(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.launch(AttemptKey(1, 1), shell(tmp_path, "sleep 60 & echo $! > pids; exit 0"))
    [child] = read_pids(tmp_path / "pids")

    assert collect(executor, 1)[0].exit_code == 0
    wait_for(lambda: not alive([child]), timeout=2)


DAEMONIZE = textwrap.dedent("""
    import os, sys, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open("pids", "a") as out:
                out.write(f"{os.getpid()} {os.getsid(0)} {os.getpgid(0)}\\n")
            time.sleep(60)
        os._exit(0)
    os.wait()
""")


def daemon_pid(tmp_path: Path, leader: int) -> int:
    pid, session, group = read_pids(tmp_path / "pids")
    assert session != leader and group != leader  # it really left the attempt's session
    return pid


def test_a_double_forked_daemon_is_killed_when_its_attempt_ends(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # Given a task that daemonizes a grandchild (fork, setsid, fork) and exits 0
    source = DAEMONIZE + textwrap.dedent("""
        while not (os.path.exists("pids") and open("pids").read().endswith("\\n")):
            time.sleep(0.01)
    """)
    handle = executor.launch(AttemptKey(1, 1), python(tmp_path, source))
    leader = int(handle.split(":")[0])

    # When the attempt ends
    assert collect(executor, 1)[0].exit_code == 0

    # Then the daemon is gone too
    daemon = daemon_pid(tmp_path, leader)
    wait_for(lambda: not alive([daemon]), timeout=2)


def test_a_daemon_is_killed_with_its_attempt(executor: LocalExecutor, tmp_path: Path) -> None:
    key = AttemptKey(1, 1)
    handle = executor.launch(key, python(tmp_path, DAEMONIZE + "time.sleep(60)\n"))
    daemon = daemon_pid(tmp_path, int(handle.split(":")[0]))

    executor.kill(key, GRACE)

    assert collect(executor, 1, timeout=GRACE + 5)[0].signal == signal.SIGTERM
    wait_for(lambda: not alive([daemon]), timeout=GRACE + 2)


def test_close_kills_everything(tmp_path: Path) -> None:
    executor = LocalExecutor(close_grace_seconds=0.2)
    leaders = []
    for seq in range(3):
        handle = executor.launch(AttemptKey(1, seq), shell(tmp_path, TRAPS_TERM_WITH_CHILDREN))
        leaders.append(int(handle.split(":")[0]))
    pids = tmp_path / "pids"
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 3)
    tree = [pid for leader in leaders for pid in group_and_descendants(leader)] + leaders

    executor.close()

    wait_for(lambda: not alive(tree), timeout=2)
    assert executor.running() == 0
    with pytest.raises(InvalidRequest, match="closed"):
        executor.launch(AttemptKey(2, 1), shell(tmp_path, "true"))
    executor.close()  # twice is harmless


def test_a_restarted_engine_kills_an_attempt_by_its_key(tmp_path: Path) -> None:
    # Given an attempt launched by one engine whose start was never recorded (no handle)
    first = LocalExecutor()
    pids = tmp_path / "pids"
    first.launch(AttemptKey(5, 3), shell(tmp_path, f"sleep 60 & echo $! >> {pids}; "
                                                   f"echo $$ >> {pids}; wait"))
    other = first.launch(AttemptKey(5, 4), shell(tmp_path, "sleep 60", log="other.log"))
    deadline = time.monotonic() + 10
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    # When another executor (a restarted engine) kills the orphans of attempt (5, 3)
    LocalExecutor().kill_orphan(None, AttemptKey(5, 3), wait_seconds=5)
    # Then that attempt's processes are gone, and the other attempt's process is untouched
    for pid in (int(p) for p in pids.read_text().split()):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert first.is_alive(other)
    first.close()
