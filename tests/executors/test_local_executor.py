"""LocalExecutor against real processes: exits, signals, logs, kills of whole trees."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from tests.executors.attempt_processes import (
    LAUNCH,
    alive,
    collect,
    descendants,
    key,
    parent_pid,
    python,
    read_pids,
    shell,
    spawner_children,
    wait_for,
)

from headwater.errors import InvalidRequest
from headwater.executors import LocalExecutor
from headwater.executors.local import TAG_VARIABLE
from headwater.ports import LaunchSpec, TaskExit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

GRACE = 0.5


def only_status(exit_: TaskExit) -> tuple[int | None, int | None, str | None, str | None]:
    return exit_.exit_code, exit_.signal, exit_.start_error, exit_.lost


# -- exits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 2, 255])
def test_exit_code_is_reported(executor: LocalExecutor, tmp_path: Path, code: int) -> None:
    executor.launch(key(), shell(tmp_path, f"exit {code}"))

    [exit_] = collect(executor, 1)

    assert exit_.key == key()
    assert only_status(exit_) == (code, None, None, None)
    assert exit_.at is not None and exit_.at.tzinfo is not None  # when the parent saw it
    assert executor.running() == 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_death_by_signal_reports_the_signal(
    executor: LocalExecutor, tmp_path: Path, signum: int
) -> None:
    executor.launch(key(), python(tmp_path, f"import os; os.kill(os.getpid(), {int(signum)})"))

    assert only_status(collect(executor, 1)[0]) == (None, signum, None, None)


def test_stdout_and_stderr_are_appended_to_the_log(executor: LocalExecutor, tmp_path: Path) -> None:
    # Given a log that already holds a line (the attempt directory made beforehand)
    spec = shell(tmp_path, "echo out; echo err >&2")
    spec.log_path.parent.mkdir(parents=True)
    spec.log_path.write_text("before\n")

    executor.launch(key(), spec)
    collect(executor, 1)

    # Then the attempt's output follows it, in order, nothing overwritten
    assert spec.log_path.read_text() == "before\nout\nerr\n"


def test_the_log_directory_is_created_and_the_log_is_private(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = shell(tmp_path, "echo out")
    executor.launch(key(), spec)
    collect(executor, 1)

    assert spec.log_path.read_text() == "out\n"
    assert spec.log_path.stat().st_mode & 0o777 == 0o600  # a task may print secrets


def test_the_environment_reaches_the_process(executor: LocalExecutor, tmp_path: Path) -> None:
    command = 'echo "$GREETING|$PATH_SET|${' + TAG_VARIABLE + ':+tagged}"'
    spec = shell(tmp_path, command, GREETING="hello world", PATH_SET="yes")
    executor.launch(key(), spec)
    collect(executor, 1)

    assert spec.log_path.read_text() == "hello world|yes|tagged\n"


def test_stdin_is_empty(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = shell(tmp_path, "cat; echo end")
    executor.launch(key(), spec)

    assert collect(executor, 1)[0].exit_code == 0
    assert spec.log_path.read_text() == "end\n"


def test_the_files_of_the_launch_are_there_before_the_start(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = shell(tmp_path, 'cat "$HEADWATER_ATTEMPT_DIR/context.json"')
    spec = LaunchSpec(spec.argv, spec.env, spec.cwd, spec.log_path,
                      files={"context.json": '{"run_id": 41}'})
    executor.launch(key(), spec)

    assert collect(executor, 1)[0].exit_code == 0
    assert spec.log_path.read_text() == '{"run_id": 41}'


def test_values_metrics_and_result_come_back_with_the_exit(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    command = """
        cd "$HEADWATER_ATTEMPT_DIR"
        echo '{"key": "rows", "value": 3}' >> values.jsonl
        echo '{"name": "seconds", "value": 1.5}' >> metrics.jsonl
        echo '{"notebook_output": "done"}' > result.json
        exit 4
    """
    executor.launch(key(), shell(tmp_path, command))

    [exit_] = collect(executor, 1)

    assert exit_.exit_code == 4
    assert exit_.values == '{"key": "rows", "value": 3}\n'
    assert exit_.metrics == '{"name": "seconds", "value": 1.5}\n'
    assert exit_.result == {"notebook_output": "done"}


@pytest.mark.parametrize("content", ["not json", "[1, 2]"])
def test_a_result_that_is_not_a_json_object_comes_back_empty(
    executor: LocalExecutor, tmp_path: Path, content: str
) -> None:
    executor.launch(key(), shell(tmp_path, f"echo '{content}' > \"$HEADWATER_ATTEMPT_DIR/result.json\""))

    [exit_] = collect(executor, 1)

    assert (exit_.exit_code, exit_.result, exit_.values, exit_.metrics) == (0, {}, None, None)


def test_fifty_parallel_attempts_are_each_reported_once(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    keys = [key(seq, run_id=7) for seq in range(50)]
    for each in keys:
        command = f"sleep 0.0{each.seq % 10}; exit {each.seq % 3}"
        executor.launch(each, shell(tmp_path, command, name=f"a{each.seq}"))
    assert executor.running() == 50

    exits = collect(executor, 50, timeout=60)

    assert sorted(e.key.seq for e in exits) == list(range(50))
    assert all(e.exit_code == e.key.seq % 3 for e in exits)
    assert executor.running() == 0
    assert executor.wait(0.1) == []


# -- one attempt, one run ----------------------------------------------------------------------


LEDGER = 'echo $$ >> "{ledger}"; sleep {seconds}; exit 3'


def test_launching_a_running_key_again_starts_nothing(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    spec = shell(tmp_path, LEDGER.format(ledger=ledger, seconds=0.3))
    first = executor.launch(key(), spec)

    assert executor.launch(key(), spec) == first
    assert executor.running() == 1
    assert collect(executor, 1)[0].exit_code == 3
    assert len(read_pids(ledger)) == 1


def test_launching_an_ended_attempt_again_reports_its_exit_and_starts_nothing(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    spec = shell(tmp_path, LEDGER.format(ledger=ledger, seconds=0))
    handle = executor.launch(key(), spec)
    [first] = collect(executor, 1)

    # When the engine sends the same StartTask again (say after a crash before it stored it)
    assert executor.launch(key(), spec) == handle

    # Then the recorded exit comes back again, and the task did not run twice
    assert collect(executor, 1) == [first]
    assert len(read_pids(ledger)) == 1


def test_two_executors_launching_one_attempt_run_it_once(tmp_path: Path) -> None:
    # Given two engines that both start attempt 1/1 in the same directory, at the same moment
    ledger = tmp_path / "ledger"
    spec = shell(tmp_path, LEDGER.format(ledger=ledger, seconds=0.3))
    with LocalExecutor(launch=LAUNCH) as first, LocalExecutor(launch=LAUNCH) as second:
        start = threading.Barrier(2)
        handles: list[str] = []

        def launch(executor: LocalExecutor) -> None:
            start.wait()
            handles.append(executor.launch(key(), spec))

        threads = [threading.Thread(target=launch, args=(e,)) for e in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then the task ran once, and both engines report the same exit
        [one] = collect(first, 1)
        [other] = collect(second, 1)
    assert len(read_pids(ledger)) == 1
    assert one == other
    assert one.exit_code == 3


def test_a_stale_engine_that_launches_late_runs_nothing(tmp_path: Path) -> None:
    # Given an engine whose launch is under way but frozen (its spawner stopped, as by
    # SIGSTOP), after it saw that no one had started the attempt yet
    ledger = tmp_path / "ledger"
    spec = shell(tmp_path, LEDGER.format(ledger=ledger, seconds=0.3))
    stale, fresh = LocalExecutor(launch=LAUNCH), LocalExecutor(launch=LAUNCH)
    try:
        before = spawner_children()
        stale.launch(key(9), shell(tmp_path, "true", name="warm-up"))  # starts its spawner
        [spawner] = spawner_children() - before
        psutil.Process(spawner).suspend()
        handles: list[str] = []
        late = threading.Thread(target=lambda: handles.append(stale.launch(key(), spec)))
        late.start()
        wait_for(lambda: (tmp_path / "attempts" / "attempt").exists())  # it passed its check

        # When another engine starts the attempt meanwhile, then the stale one wakes up
        handle = fresh.launch(key(), spec)
        psutil.Process(spawner).resume()
        late.join()

        # Then its parent lost the claim, and it watches the one that runs the attempt
        assert handles == [handle]

        # and the task ran once, the stale engine reporting the exit of the run that was
        exits = {e.key: e for e in collect(stale, 2)}
        [winner] = collect(fresh, 1)
        assert exits[key()] == winner
        assert len(read_pids(ledger)) == 1
    finally:
        stale.close()
        fresh.close()


def test_a_directory_of_another_attempt_is_refused(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = shell(tmp_path, "exit 0")
    executor.launch(key(1), spec)
    collect(executor, 1)

    with pytest.raises(InvalidRequest, match="belongs to attempt 1/1, not to 1/2"):
        executor.launch(key(2), spec)


# -- programs that cannot start ----------------------------------------------------------------


def test_a_missing_program_comes_back_as_a_start_error(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = LaunchSpec(["/no/such/program"], {}, tmp_path, tmp_path / "attempt" / "output.log")
    executor.launch(key(), spec)

    [exit_] = collect(executor, 1)

    assert (exit_.exit_code, exit_.signal, exit_.lost) == (None, None, None)
    assert exit_.start_error == (f"cannot start '/no/such/program' in {str(tmp_path)!r}: "
                                 "No such file or directory")


def test_a_missing_working_directory_comes_back_as_a_start_error(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = LaunchSpec(["/bin/true"], {}, tmp_path / "nowhere", tmp_path / "a" / "output.log")
    executor.launch(key(), spec)

    [exit_] = collect(executor, 1)

    assert exit_.exit_code is None
    assert exit_.start_error is not None and "nowhere" in exit_.start_error


# -- kills ---------------------------------------------------------------------------------------


TRAPS_TERM_WITH_CHILDREN = "trap '' TERM; sleep 60 & sleep 60 & echo $! >> pids; wait"


def start_stubborn_tree(executor: LocalExecutor, tmp_path: Path) -> list[int]:
    """A task that ignores SIGTERM, with two children; its parent and every process of it."""
    handle = executor.launch(key(), shell(tmp_path, TRAPS_TERM_WITH_CHILDREN))
    read_pids(tmp_path / "pids")
    parent = parent_pid(handle)
    wait_for(lambda: len(descendants(parent)) == 3)
    return [parent, *descendants(parent)]


def test_kill_takes_down_a_tree_that_ignores_sigterm(
    tmp_path: Path
) -> None:
    with LocalExecutor(launch=LAUNCH, kill_grace_seconds=GRACE) as executor:
        tree = start_stubborn_tree(executor, tmp_path)

        executor.kill(key(), GRACE)

        # Then it ends by SIGKILL after the grace and nothing of it survives
        assert only_status(collect(executor, 1)[0]) == (None, signal.SIGKILL, None, None)
    wait_for(lambda: not alive(tree))


@pytest.mark.parametrize(("task", "signum"), [
    ("sleep 60", signal.SIGTERM), (TRAPS_TERM_WITH_CHILDREN, signal.SIGKILL),
    ("python: import time; time.sleep(60)", signal.SIGTERM)])  # forked from a warm one
def test_the_parent_kills_at_the_task_timeout_with_no_engine_asking(
        tmp_path: Path, task: str, signum: int) -> None:
    # Given an attempt with a 0.5 s timeout, its executor closed at once (no engine to kill)
    source = task.removeprefix("python: ")
    made = python(tmp_path, source) if source != task else shell(tmp_path, task)
    spec = replace(made, timeout_seconds=0.5)
    with LocalExecutor(launch=LAUNCH, kill_grace_seconds=GRACE) as executor:
        handle = executor.launch(key(), spec)
    parent = parent_pid(handle)

    # Then its own parent stops it at its timeout: SIGTERM, and SIGKILL after the grace for
    # a tree that ignores it; its exit is recorded for the engine that comes next
    wait_for(lambda: not alive([parent]), timeout=15)
    record = json.loads((spec.attempt_dir / "exit.json").read_text())
    assert (record["exit_code"], record["signal"]) == (None, signum)


def test_a_shorter_grace_than_the_parents_is_enforced(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # Given an attempt whose parent would wait 10 s before its SIGKILL
    tree = start_stubborn_tree(executor, tmp_path)

    # When it is killed with a long grace, then again with a short one
    executor.kill(key(), 60)
    executor.kill(key(), 0.2)

    # Then the second kill's SIGKILL comes first
    assert collect(executor, 1, timeout=8)[0].signal == signal.SIGKILL
    wait_for(lambda: not alive(tree))


def test_kill_is_idempotent(tmp_path: Path) -> None:
    with LocalExecutor(launch=LAUNCH, kill_grace_seconds=GRACE) as executor:
        start_stubborn_tree(executor, tmp_path)
        threads = [threading.Thread(target=executor.kill, args=(key(), GRACE)) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert collect(executor, 1)[0].signal == signal.SIGKILL
        executor.kill(key(), GRACE)  # after the end: nothing to do
        executor.kill(key(5), GRACE)  # never launched: nothing to do
        assert executor.wait(0.1) == []


def test_kill_from_another_thread_wakes_a_blocked_wait(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.launch(key(), shell(tmp_path, "exec sleep 60"))
    timer = threading.Timer(0.2, executor.kill, (key(), 10.0))
    timer.start()

    [exit_] = executor.wait(30)

    assert only_status(exit_) == (None, signal.SIGTERM, None, None)


def test_children_keep_their_grace_when_the_leader_dies_first(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    # Given a leader that dies on SIGTERM and a child that needs a moment to clean up
    cleanup = "sleep 0.3; echo cleaned > marker; exit 0"
    command = f"(trap '{cleanup}' TERM; touch ready; while :; do sleep 0.05; done) & sleep 60"
    handle = executor.launch(key(), shell(tmp_path, command))
    wait_for((tmp_path / "ready").exists)  # the trap is set
    tree = descendants(parent_pid(handle))

    # When the attempt is killed with a generous grace
    executor.kill(key(), 10.0)

    # Then its end is reported once the child has finished cleaning up, not SIGKILLed
    assert only_status(collect(executor, 1)[0]) == (None, signal.SIGTERM, None, None)
    assert (tmp_path / "marker").read_text() == "cleaned\n"
    assert not alive(tree)


def test_leftover_group_members_die_with_their_leader(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.launch(key(), shell(tmp_path, "sleep 60 & echo $! > pids; exit 0"))
    [child] = read_pids(tmp_path / "pids")

    assert collect(executor, 1)[0].exit_code == 0
    assert not alive([child])  # gone before the exit was recorded


DAEMONIZE = textwrap.dedent("""
    import os, sys, time
    leader = os.getpid()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open("pids", "a") as out:
                out.write(f"{os.getpid()} {os.getsid(0)} {os.getpgid(0)} {leader}\\n")
            time.sleep(60)
        os._exit(0)
    os.wait()
""")


def daemon_pid(tmp_path: Path) -> int:
    pid, session, group, leader = read_pids(tmp_path / "pids")
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
    executor.launch(key(), python(tmp_path, source))

    # When the attempt ends
    assert collect(executor, 1)[0].exit_code == 0

    # Then the daemon is gone too
    assert not alive([daemon_pid(tmp_path)])


def test_a_setsid_child_is_killed_when_its_attempt_ends(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.launch(key(), shell(tmp_path, "setsid sleep 60 & echo $! > pids; sleep 0.2"))
    [child] = read_pids(tmp_path / "pids")

    assert collect(executor, 1)[0].exit_code == 0
    assert not alive([child])


def test_a_daemon_is_killed_with_its_attempt(executor: LocalExecutor, tmp_path: Path) -> None:
    executor.launch(key(), python(tmp_path, DAEMONIZE + "time.sleep(60)\n"))
    daemon = daemon_pid(tmp_path)

    executor.kill(key(), GRACE)

    assert collect(executor, 1)[0].signal == signal.SIGTERM
    assert not alive([daemon])


# -- the executor's own life ------------------------------------------------------------------


def test_release_leaves_the_attempt_running(executor: LocalExecutor, tmp_path: Path) -> None:
    handle = executor.launch(key(), shell(tmp_path, "sleep 60"))

    executor.release(key())

    assert executor.running() == 0
    assert executor.wait(0.1) == []
    assert alive([parent_pid(handle)])


def test_close_leaves_attempts_running_and_refuses_new_ones(tmp_path: Path) -> None:
    executor = LocalExecutor(launch=LAUNCH)
    handle = executor.launch(key(), shell(tmp_path, "sleep 60"))

    executor.close()

    assert alive([parent_pid(handle), *descendants(parent_pid(handle))])
    assert executor.running() == 0
    with pytest.raises(InvalidRequest, match="closed"):
        executor.launch(key(2), shell(tmp_path, "true", name="other"))
    executor.close()  # twice is harmless


def test_attempt_files_are_refused_when_they_are_not_plain_names(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = shell(tmp_path, "true")
    for name in ("../escape", "parent.json"):
        bad = LaunchSpec(spec.argv, spec.env, spec.cwd, spec.log_path, files={name: "{}"})
        with pytest.raises(InvalidRequest, match="cannot be an attempt file"):
            executor.launch(key(), bad)
    assert not (tmp_path / "escape").exists()


def test_exit_record_is_in_the_attempt_directory(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = shell(tmp_path, "exit 6")
    handle = executor.launch(key(), spec)
    collect(executor, 1)

    claim = json.loads((spec.attempt_dir / "parent.json").read_text())
    # The parent tells the engine first, then makes the record durable
    wait_for(lambda: (spec.attempt_dir / "exit.json").exists())
    record = json.loads((spec.attempt_dir / "exit.json").read_text())
    assert f"{claim['pid']}:{claim['start_ticks']}" == handle
    assert (record["exit_code"], record["signal"], record["start_error"]) == (6, None, None)
