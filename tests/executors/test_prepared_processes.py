"""Processes forked ahead of their request: a spawner's next attempt parent (`_Spare`) and, in
a fork server, that parent's next task (`PreparedTask`). They wait, having claimed and run
nothing; one that died is replaced at the launch that needs it, and none outlives its server.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import psutil
from tests.executors.attempt_processes import (
    alive,
    attempt_dir,
    collect,
    descendants,
    key,
    spawner_children,
    wait_for,
)

from headwater.executors import LocalExecutor
from headwater.ports import LaunchSpec

WARM = "import sys; print('warm' if 'headwater.runtime' in sys.modules else 'cold')"


def warm_task(tmp_path: Path, name: str) -> LaunchSpec:
    directory = attempt_dir(tmp_path, name)
    return LaunchSpec([sys.executable, "-c", WARM], {}, tmp_path, directory / "output.log",
                      python=True)


def waiting(server: int) -> tuple[int, int]:
    """The fork server's spare parent and the task that spare prepared, once both wait and
    nothing else is left under the server: the last launch's attempt parent, also the
    server's child, may still be ending (the engine hears of its task's exit before it ends).
    Each look is one reading of the tree, which changes meanwhile."""
    found: list[tuple[int, int]] = []

    def only_the_pair() -> bool:
        try:
            parents = {pid: psutil.Process(pid).ppid() for pid in descendants(server)}
        except psutil.NoSuchProcess:
            return False
        spares = [pid for pid, parent in parents.items() if parent == server]
        prepared = [pid for pid, parent in parents.items() if parent in spares]
        if len(parents) == len(spares) + len(prepared) == 2 and len(spares) == 1:
            found.append((spares[0], prepared[0]))
        return bool(found)

    wait_for(only_the_pair)
    return found[0]


def launch_and_wait(executor: LocalExecutor, tmp_path: Path, seq: int) -> str:
    spec = warm_task(tmp_path, f"t{seq}")
    executor.launch(key(seq), spec)
    [exit_] = collect(executor, 1)
    assert (exit_.exit_code, exit_.lost, exit_.start_error) == (0, None, None)
    return spec.log_path.read_text().strip()


def test_a_fork_server_keeps_a_parent_and_its_task_ready_and_none_outlives_it(
        tmp_path: Path) -> None:
    # Given a fork server that ran one task
    executor = LocalExecutor(launch="fork")
    before = spawner_children("zygote.py")
    assert launch_and_wait(executor, tmp_path, 1) == "warm"
    [server] = spawner_children("zygote.py") - before

    # Then a parent and the task it prepared wait for the next launch, having claimed nothing
    spare, prepared = waiting(server)
    assert not list((tmp_path / "attempts").glob("*/parent.json"))[1:]  # only t1's claim

    # When the executor closes (the fork server reads EOF)
    executor.close()

    # Then the server, its spare parent and the prepared task all end
    wait_for(lambda: not alive([server, spare, prepared]))


def test_a_prepared_task_or_spare_parent_that_died_is_replaced_at_the_next_launch(
        tmp_path: Path) -> None:
    with LocalExecutor(launch="fork") as executor:
        before = spawner_children("zygote.py")
        assert launch_and_wait(executor, tmp_path, 1) == "warm"
        [server] = spawner_children("zygote.py") - before

        # When the prepared task is killed, the next launch still runs its task forked
        spare, prepared = waiting(server)
        psutil.Process(prepared).send_signal(signal.SIGKILL)
        wait_for(lambda: not alive([prepared]))
        assert launch_and_wait(executor, tmp_path, 2) == "warm"

        # And when the spare parent itself is killed, another parent is forked for the launch
        spare, prepared = waiting(server)
        psutil.Process(spare).send_signal(signal.SIGKILL)
        wait_for(lambda: not alive([spare, prepared]))
        assert launch_and_wait(executor, tmp_path, 3) == "warm"
