"""The /proc reading and tree selection behind the local executor's kills."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from headwater.executors import proctree
from headwater.executors.proctree import ProcessInfo

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def info(pid: int, parent: int, group: int, session: int = 0, ticks: int = 100,
         state: str = "S") -> ProcessInfo:
    return ProcessInfo(pid, parent, group, session or group, ticks, state)


def test_parse_stat_survives_parentheses_and_spaces_in_the_command_name() -> None:
    fields = " ".join(str(n) for n in range(3, 53)).replace("3", "S", 1)
    data = f"42 (evil) (name ) {fields}\n".encode()

    parsed = proctree.parse_stat(42, data)

    assert parsed == ProcessInfo(pid=42, parent=4, group=5, session=6, start_ticks=22, state="S")


def test_parse_stat_rejects_a_truncated_line() -> None:
    assert proctree.parse_stat(42, b"42 (x) S 1 2") is None


def test_read_process_sees_ourselves_and_not_a_missing_pid() -> None:
    me = proctree.read_process(os.getpid())
    assert me is not None
    assert (me.pid, me.parent, me.group) == (os.getpid(), os.getppid(), os.getpgid(0))
    assert proctree.read_process(2**22 + 1) is None  # above the kernel's pid_max


def test_members_follow_groups_sessions_tags_and_descent() -> None:
    table = [
        info(10, 1, 10),                 # the leader
        info(11, 10, 10),                # in its group
        info(12, 10, 12, session=10),    # own group, same session
        info(13, 1, 13),                 # a daemon, found by its tag
        info(14, 13, 14),                # the daemon's child: descent
        info(15, 1, 15),                 # a stranger
        info(16, 10, 10, state="Z"),     # a zombie: nothing to kill
        info(os.getpid(), 10, 10),       # never ourselves
    ]

    found = proctree.members(table, leaders={10}, tagged={13})

    assert [p.pid for p in found] == [10, 11, 12, 13, 14]


def test_environ_has_matches_whole_entries_only() -> None:
    child = subprocess.Popen(["sleep", "5"], env={"TAG": "a.1.12"})
    try:
        # Right after exec the kernel may show no environment yet: "cannot tell".
        deadline = time.monotonic() + 5
        while proctree.environ_has(child.pid, [b"TAG=a.1.12"]) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert proctree.environ_has(child.pid, [b"TAG=a.1.12"])
        assert not proctree.environ_has(child.pid, [b"TAG=a.1.1"])  # a prefix is not a match
        assert not proctree.environ_has(child.pid, [b"AG=a.1.12"])
    finally:
        child.kill()
        child.wait()


def test_send_signal_spares_a_process_whose_start_time_differs() -> None:
    child = subprocess.Popen(["sleep", "5"])
    try:
        real = proctree.read_process(child.pid)
        assert real is not None
        impostor = ProcessInfo(real.pid, real.parent, real.group, real.session,
                               real.start_ticks + 1, real.state)
        proctree.send_signal(impostor, 9)
        assert child.poll() is None
        proctree.send_signal(real, 9)
        assert child.wait(5) == -9
    finally:
        child.kill()
        child.wait()


def tagged_sleeper(tag: str) -> subprocess.Popen[bytes]:
    """A shell, tagged as an attempt's processes are, with a child that left its session."""
    env = {"PATH": "/usr/bin:/bin", "HEADWATER_ATTEMPT_TAG": tag}
    return subprocess.Popen(["/bin/sh", "-c", "setsid sleep 60 & wait"], env=env,
                            start_new_session=True)


def wait_for_environ(pid: int, needle: bytes) -> None:
    deadline = time.monotonic() + 5
    while not proctree.environ_has(pid, [needle]):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_with_tag_suffix_finds_an_attempts_processes_whoever_launched_them() -> None:
    # Tags are `<executor prefix>.<run id>.<seq>.<launch number>` (see LocalExecutor)
    mine, other = tagged_sleeper("123.ab12.41.7.1"), tagged_sleeper("456.cd34.41.70.2")
    try:
        wait_for_environ(mine.pid, b"HEADWATER_ATTEMPT_TAG=123.ab12.41.7.1")
        wait_for_environ(other.pid, b"HEADWATER_ATTEMPT_TAG=456.cd34.41.70.2")
        found = proctree.with_tag_suffix(proctree.snapshot(), b"HEADWATER_ATTEMPT_TAG", b".41.7")
        assert mine.pid in {info.pid for info in found}
        assert other.pid not in {info.pid for info in found}
    finally:
        proctree.kill_tagged([b"HEADWATER_ATTEMPT_TAG=123.ab12.41.7.1",
                              b"HEADWATER_ATTEMPT_TAG=456.cd34.41.70.2"], 0)
        mine.wait()
        other.wait()


def test_kill_tagged_kills_the_tagged_and_what_left_their_session_only() -> None:
    # Given a tagged shell whose child left its session, and an untagged bystander
    tagged, bystander = tagged_sleeper("9.ff.1.1.1"), subprocess.Popen(["sleep", "60"])
    try:
        wait_for_environ(tagged.pid, b"HEADWATER_ATTEMPT_TAG=9.ff.1.1.1")
        deadline = time.monotonic() + 5
        while not [p for p in proctree.snapshot() if p.parent == tagged.pid]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        [child] = [p for p in proctree.snapshot() if p.parent == tagged.pid]
        since = proctree.read_process(tagged.pid)

        # When the tag is swept
        assert since is not None
        killed = proctree.kill_tagged([b"HEADWATER_ATTEMPT_TAG=9.ff.1.1.1"], since.start_ticks)

        # Then the shell and its child die, and the bystander lives
        assert killed >= 2
        assert tagged.wait(5) == -9
        assert bystander.poll() is None
        deadline = time.monotonic() + 5
        while (info := proctree.read_process(child.pid)) is not None and not info.gone:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        bystander.kill()
        bystander.wait()
        tagged.kill()
        tagged.wait()
