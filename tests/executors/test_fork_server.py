"""The fork server: a Python task forked from a warm interpreter gets what a spawned one gets,
nothing of the task before it, and the same end (exit codes, signals, trees, timeouts)."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.executors.attempt_processes import (
    alive,
    attempt_dir,
    collect,
    key,
    parent_pid,
    read_pids,
    spawner_children,
    wait_for,
)

from headwater.executors import LocalExecutor, proctree
from headwater.executors.local import TAG_VARIABLE
from headwater.ports import LaunchSpec, TaskExit

# What a task can see of how it was started, as JSON on its stdout.
PROBE = r'''
import json, os, signal, stat, sys, time
main = sys.modules["__main__"]
def kind(fd):
    mode = os.fstat(fd).st_mode
    return "fifo" if stat.S_ISFIFO(mode) else "chr" if stat.S_ISCHR(mode) else "file"
print(json.dumps({
    "argv": sys.argv, "orig_argv": sys.orig_argv, "path": sys.path,
    "executable": sys.executable, "flags": list(sys.flags),
    "main": {name: repr(main.__dict__[name]) for name in sorted(main.__dict__)
             if name in ("__name__", "__file__", "__package__", "__cached__", "__doc__")},
    "main_names": sorted(main.__dict__),
    "main_loader": type(main.__loader__).__name__ if not isinstance(main.__loader__, type)
                   else main.__loader__.__name__,
    "main_spec": None if main.__spec__ is None else main.__spec__.name,
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items()
            if k not in ("HEADWATER_ATTEMPT_TAG", "HEADWATER_ATTEMPT_DIR")},
    "tagged": bool(os.environ.get("HEADWATER_ATTEMPT_TAG")),
    "session_leader": os.getsid(0) == os.getpid() == os.getpgid(0),
    "signals": {s.name: str(signal.getsignal(s)) for s in signal.valid_signals()
                if isinstance(s, signal.Signals) and s not in (signal.SIGKILL, signal.SIGSTOP)},
    "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "stdin": [os.readlink("/proc/self/fd/0"), kind(0)],
    "stdout": [kind(1), os.path.samefile("/proc/self/fd/1", "/proc/self/fd/2")],
    "streams": [[s.encoding, s.errors, s.line_buffering, s.write_through,
                 type(s.buffer).__name__] for s in (sys.stdout, sys.stderr)],
    "umask": os.umask(0o22),
    "comm": open("/proc/self/comm").read().strip(),
    "tz": list(time.tzname),
    "gc": __import__("gc").isenabled(),
}, sort_keys=True))
'''


@pytest.fixture
def forking() -> Iterator[LocalExecutor]:
    with LocalExecutor(launch="fork") as local:
        yield local


@pytest.fixture
def spawning() -> Iterator[LocalExecutor]:
    with LocalExecutor(launch="spawn") as local:
        yield local


def run(executor: LocalExecutor, spec: LaunchSpec, seq: int = 1) -> tuple[TaskExit, str]:
    """Launch, wait for the exit; the exit and the attempt's log."""
    executor.launch(key(seq), spec)
    [exit_] = collect(executor, 1)
    return exit_, spec.log_path.read_text()


def task(tmp_path: Path, name: str, *words: str, env: dict[str, str] | None = None,
         options: tuple[str, ...] = ("-u",)) -> LaunchSpec:
    """`python [options] WORDS...` as a Python task in `tmp_path`."""
    directory = attempt_dir(tmp_path, name)
    return LaunchSpec([sys.executable, *options, *words], {**(env or {}),
                      "HEADWATER_ATTEMPT_DIR": str(directory)}, tmp_path,
                      directory / "output.log", python=True)


def script(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / "scripts" / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return str(path)


def forked(log: str) -> bool:
    """Whether the task that printed `log` (with FORKED_MARK first) was forked."""
    return log.startswith("warm=True")


FORKED_MARK = 'import sys; print(f"warm={\'headwater.runtime\' in sys.modules}", flush=True)\n'


# -- a forked task gets what a spawned task gets ---------------------------------------------


def probe_both(tmp_path: Path, forking: LocalExecutor, spawning: LocalExecutor,
               words: list[str], cwd: Path | None = None) -> tuple[dict[str, object], ...]:
    results = []
    for index, executor in enumerate((spawning, forking)):
        spec = task(tmp_path, f"probe-{index}", *words)
        if cwd is not None:
            spec = LaunchSpec(spec.argv, spec.env, cwd, spec.log_path, python=True)
        exit_, log = run(executor, spec, seq=index + 1)
        assert exit_.exit_code == 0, log
        results.append(json.loads(log))
    return tuple(results)


def test_a_forked_script_sees_what_a_spawned_script_sees(
        tmp_path: Path, forking: LocalExecutor, spawning: LocalExecutor) -> None:
    # Given a script reached through a symbolic link and a relative path, with arguments
    probe = script(tmp_path, "probe", PROBE)
    (tmp_path / "link.py").symlink_to(probe)
    # When it runs spawned and forked
    spawned, forked_ = probe_both(tmp_path, forking, spawning, ["link.py", "a b", "--c"])
    # Then it sees the same interpreter, process and environment
    assert forked_ == spawned
    assert spawned["path"][0] == str(tmp_path / "scripts")  # the link resolved, as python does
    assert spawned["tagged"] and spawned["session_leader"]


def test_ps_shows_a_forked_task_by_its_own_command_line(
        tmp_path: Path, forking: LocalExecutor, spawning: LocalExecutor) -> None:
    # Given a script that reads its command line as ps reads it (NUL bytes at the end are
    # the forked task's room left over, which ps shows as nothing)
    shown = script(tmp_path, "shown", "import json\nprint(json.dumps(open("
                   "'/proc/self/cmdline', 'rb').read().rstrip(b'\\0').decode().split('\\0')))\n")
    # When it runs spawned and forked, with arguments
    spawned, forked_ = probe_both(tmp_path, forking, spawning, [shown, "a b", "--c"])
    # Then both show its own command line, not the fork server's
    assert forked_ == spawned
    assert spawned[-3:] == [str(shown), "a b", "--c"]


def test_a_forked_task_of_an_engine_that_ignores_signals_ignores_none(
        tmp_path: Path) -> None:
    # Given an engine that ignores SIGHUP and SIGQUIT (under nohup, or a shell's `&`) as its
    # fork server starts (and so the server, and the attempt parents it forks, ignore them)
    probe = script(tmp_path, "probe", PROBE)
    ignored = (signal.SIGHUP, signal.SIGQUIT)
    previous = [signal.signal(signum, signal.SIG_IGN) for signum in ignored]
    try:
        with LocalExecutor(launch="fork") as forking, \
                LocalExecutor(launch="spawn") as spawning:
            spawned, forked_ = probe_both(tmp_path, forking, spawning, [probe])
    finally:
        for signum, handler in zip(ignored, previous, strict=True):
            signal.signal(signum, handler)
    # Then the forked task has every signal as a new interpreter has it, as a spawned one
    assert forked_["signals"] == spawned["signals"]
    assert spawned["signals"]["SIGHUP"] == spawned["signals"]["SIGQUIT"] == str(signal.SIG_DFL)


def test_a_forked_module_and_code_see_what_spawned_ones_see(
        tmp_path: Path, forking: LocalExecutor, spawning: LocalExecutor) -> None:
    script(tmp_path, "probe_module", PROBE)
    spawned, forked_ = probe_both(tmp_path, forking, spawning, ["-m", "probe_module", "x"],
                                  cwd=tmp_path / "scripts")
    assert forked_ == spawned
    spawned, forked_ = probe_both(tmp_path, forking, spawning, ["-c", PROBE, "y"])
    assert forked_ == spawned


def test_python_tasks_are_forked_from_a_warm_interpreter_and_others_are_spawned(
        tmp_path: Path, forking: LocalExecutor) -> None:
    mark = script(tmp_path, "mark", FORKED_MARK)
    before = spawner_children("zygote.py")
    _, log = run(forking, task(tmp_path, "forked", mark), seq=1)
    assert forked(log)
    assert len(spawner_children("zygote.py") - before) == 1
    # An option the fork server does not take, and a task that is not marked Python, spawn
    _, log = run(forking, task(tmp_path, "isolated", mark, options=("-I",)), seq=2)
    assert log == "warm=False\n"
    plain = task(tmp_path, "plain", mark)
    _, log = run(forking, LaunchSpec(plain.argv, plain.env, plain.cwd, plain.log_path), seq=3)
    assert log == "warm=False\n"


def test_spawn_mode_starts_every_task_anew(tmp_path: Path, spawning: LocalExecutor) -> None:
    _, log = run(spawning, task(tmp_path, "spawned", script(tmp_path, "mark", FORKED_MARK)))
    assert log == "warm=False\n"


def test_a_task_that_changes_the_start_up_environment_gets_a_fork_server_of_its_own(
        tmp_path: Path, forking: LocalExecutor, spawning: LocalExecutor) -> None:
    # Given a task that fixes the hash seed, which an interpreter reads only as it starts
    source = FORKED_MARK + "import sys; print(sys.flags.hash_randomization, hash('headwater'))\n"
    path = script(tmp_path, "seeded", source)
    _, log = run(forking, task(tmp_path, "plain", path), seq=1)
    first = log.splitlines()[1]
    _, forked_log = run(forking, task(tmp_path, "seeded", path, env={"PYTHONHASHSEED": "0"}),
                        seq=2)
    _, spawned_log = run(spawning, task(tmp_path, "seeded-spawned", path,
                                        env={"PYTHONHASHSEED": "0"}), seq=3)
    # Then it is still forked, from a server started with that seed: as if spawned
    assert forked(forked_log)
    assert forked_log.splitlines()[1] == spawned_log.splitlines()[1] != first
    assert forked_log.splitlines()[1].startswith("0 ")


def test_a_task_that_asks_for_preloaded_modules_gets_a_fork_server_that_imported_them(
        tmp_path: Path, forking: LocalExecutor) -> None:
    source = FORKED_MARK + "import sys; print('colorsys' in sys.modules)\n"
    path = script(tmp_path, "preloaded", source)
    before = spawner_children("zygote.py")
    plain = task(tmp_path, "plain", path)
    preloading = task(tmp_path, "preloading", path)
    preloading = LaunchSpec(preloading.argv, preloading.env, preloading.cwd,
                            preloading.log_path, python=True, preload=("colorsys",))
    _, plain_log = run(forking, plain, seq=1)
    _, preloaded_log = run(forking, preloading, seq=2)
    _, again_log = run(forking, LaunchSpec(plain.argv, plain.env, plain.cwd,
                                           attempt_dir(tmp_path, "again") / "output.log",
                                           python=True), seq=3)
    # Both forked, from two servers: the other tasks do not carry what one task asked for
    assert plain_log == again_log == "warm=True\nFalse\n"
    assert preloaded_log == "warm=True\nTrue\n"
    assert len(spawner_children("zygote.py") - before) == 2


# -- nothing of one task reaches the next ---------------------------------------------------


LEAVES_TRACES = FORKED_MARK + """
import os, sys, headwater.runtime
headwater.runtime.LEFT_BEHIND = "global"
sys.modules["left_behind"] = sys
sys.path.append("/left/behind")
os.chdir("/")
fd = os.open(os.devnull, os.O_RDONLY)
os.set_inheritable(fd, True)
os.environ["LEFT_BEHIND"] = "1"
print("fd", fd)
"""

FINDS_NOTHING = FORKED_MARK + """
import os, sys, headwater.runtime
print(json.dumps({
    "global": hasattr(headwater.runtime, "LEFT_BEHIND"),
    "module": "left_behind" in sys.modules, "path": "/left/behind" in sys.path,
    "cwd": os.getcwd(), "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "env": "LEFT_BEHIND" in os.environ}))
""".replace("import os, sys, headwater.runtime\nprint", "import json, os, sys, headwater.runtime\nprint")


def test_a_task_leaves_nothing_visible_to_the_next_one(
        tmp_path: Path, forking: LocalExecutor) -> None:
    # Given a task that sets a global, changes sys.modules and sys.path, changes directory,
    # leaks an inheritable descriptor and sets an environment variable
    exit_, log = run(forking, task(tmp_path, "first", script(tmp_path, "leaves", LEAVES_TRACES)))
    assert exit_.exit_code == 0 and forked(log), log
    # When the next task runs from the same fork server
    exit_, log = run(forking, task(tmp_path, "second", script(tmp_path, "finds", FINDS_NOTHING)),
                     seq=2)
    # Then it finds none of it
    assert exit_.exit_code == 0 and forked(log), log
    found = json.loads(log.splitlines()[1])
    assert found == {"global": False, "module": False, "path": False, "cwd": str(tmp_path),
                     "fds": [0, 1, 2, 3], "env": False}


# -- the end of a task: as the interpreter ends it --------------------------------------------


ENDINGS = {
    "sys.exit message": ("import sys\nsys.exit('going away')\n", 1),
    "exit code": ("raise SystemExit(300)\n", 44),
    "negative code": ("import sys\nsys.exit(-1)\n", 255),
    "exception": ("def f():\n    raise ValueError('bad row')\nf()\n", 1),
    "syntax error": ("x = (\n", 1),
    "os._exit": ("import os\nprint('before', flush=True)\nos._exit(7)\n", 7),
    "atexit and threads": (
        "import atexit, threading, time\n"
        "atexit.register(print, 'atexit ran')\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done'))).start()\n", 0),
    "unclosed file": (
        "import sys\nf = open(sys.argv[1], 'w')\nf.write('flushed at exit')\nprint('x')\n", 0),
    "unclosed file in an imported module": (
        "import os\nhere = os.path.dirname(os.path.abspath(__file__))\n"
        "with open(os.path.join(here, 'leaves_open.py'), 'w') as module:\n"
        "    module.write(\"import sys\\nf = open(sys.argv[1], 'w')\\nf.write('flushed')\\n\")\n"
        "import leaves_open\n", 0),
    "stdout buffered": ("import sys\nsys.stdout.write('no newline')\n", 0),
    "keyboard interrupt": ("raise KeyboardInterrupt\n", None),
    "segfault": ("import ctypes\nctypes.string_at(0)\n", None),
}


@pytest.mark.parametrize("name", list(ENDINGS))
def test_a_forked_task_ends_as_a_spawned_one(
        tmp_path: Path, forking: LocalExecutor, spawning: LocalExecutor, name: str) -> None:
    source, code = ENDINGS[name]
    path = script(tmp_path, "ending", source)
    outcomes = []
    for index, executor in enumerate((spawning, forking)):
        written = tmp_path / f"written-{index}"
        exit_, log = run(executor, task(tmp_path, f"end-{index}", path, str(written)),
                         seq=index + 1)
        left = written.read_text() if written.exists() else None
        outcomes.append((exit_.exit_code, exit_.signal, log, left))
    assert outcomes[1] == outcomes[0]
    if code is not None:
        assert outcomes[0][0] == code
    else:
        assert outcomes[0][1] in (signal.SIGINT, signal.SIGSEGV)


# -- trees, kills and lost parents ------------------------------------------------------------


DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(sys.argv[1], "a") as pids:
            pids.write(f"{os.getpid()}\\n")
        time.sleep(60)
    os._exit(0)
while not os.path.exists(sys.argv[1]):  # the daemon is up: the task may end
    time.sleep(0.01)
"""


def test_a_daemon_forked_by_a_forked_task_is_killed_when_the_task_ends(
        tmp_path: Path, forking: LocalExecutor) -> None:
    pids = tmp_path / "pids"
    exit_, _ = run(forking, task(tmp_path, "daemon", script(tmp_path, "daemon", DAEMON),
                                 str(pids)))
    assert exit_.exit_code == 0
    daemon = read_pids(pids)
    wait_for(lambda: not alive(daemon))


IGNORES_SIGTERM = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)
with open(sys.argv[1], "w") as pids:
    pids.write(f"{os.getpid()}\\n")
time.sleep(60)
"""


def test_a_kill_takes_down_a_forked_tree_that_ignores_sigterm(tmp_path: Path) -> None:
    with LocalExecutor(launch="fork", kill_grace_seconds=0.5) as executor:
        handle = executor.launch(key(), task(tmp_path, "stubborn",
                                             script(tmp_path, "stubborn", IGNORES_SIGTERM),
                                             str(tmp_path / "pids")))
        [leader] = read_pids(tmp_path / "pids")
        tree = [leader, *[p for p in _children(leader)]]
        executor.kill(key(), 0.5)
        [exit_] = collect(executor, 1)
    assert exit_.signal == signal.SIGKILL
    wait_for(lambda: not alive(tree))
    # The parent tells the engine of the exit before it makes exit.json durable, so it may
    # still be syncing when the exit is collected: it ends soon after, not at once.
    wait_for(lambda: not alive([parent_pid(handle)]))


FORKS_AND_WAITS = """
import os, sys, time
child = os.fork()
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()}\\n")
time.sleep(60)
"""


def test_a_forked_task_and_its_forks_carry_the_tag_and_die_with_a_lost_attempt(
        tmp_path: Path) -> None:
    # Given a forked task and a child it forked (neither ran exec), whose parent was
    # SIGKILLed while no executor watched
    spec = task(tmp_path, "lost", script(tmp_path, "forks", FORKS_AND_WAITS), str(tmp_path / "p"))
    with LocalExecutor(launch="fork") as first:
        handle = first.launch(key(), spec)
    tree = read_pids(tmp_path / "p", count=2)
    claim = json.loads((spec.attempt_dir / "parent.json").read_text())
    needle = f"{TAG_VARIABLE}={claim['tag']}".encode()
    assert all(proctree.environ_has(pid, [needle]) for pid in tree)
    os.kill(parent_pid(handle), signal.SIGKILL)
    wait_for(lambda: not alive([parent_pid(handle)]))
    # When a new executor adopts the attempt, then it is lost and nothing of it survives
    with LocalExecutor(launch="fork") as second:
        second.adopt(key(), handle, spec.attempt_dir)
        [exit_] = collect(second, 1)
    assert exit_.lost is not None
    wait_for(lambda: not alive(tree))


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_a_task_whose_fork_server_cannot_start_is_spawned(
        tmp_path: Path, forking: LocalExecutor) -> None:
    # Given a task whose PYTHONPATH breaks a module the fork server needs (not the task)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ctypes.py").write_text("raise ImportError('broken on purpose')\n")
    path = script(tmp_path, "mark", FORKED_MARK)
    # When it is launched, twice, then it runs all the same: spawned
    for seq in (1, 2):
        exit_, log = run(forking, task(tmp_path, f"broken-{seq}", path,
                                       env={"PYTHONPATH": str(broken)}), seq=seq)
        assert (exit_.exit_code, log) == (0, "warm=False\n")


# -- the environment: the task's defined one, never the engine's --------------------------------


SHOWS_ENVIRONMENT = FORKED_MARK + """
import json, os
print(json.dumps({"environ": dict(os.environ),
                  "block": open("/proc/self/environ", "rb").read().decode(errors="replace")}))
"""


def test_a_forked_task_gets_exactly_the_defined_environment_and_no_secret_of_the_engine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an engine whose environment holds a secret, and the defined task environment
    monkeypatch.setenv("MY_API_SECRET", "canary-secret-44c2")
    monkeypatch.setenv("EDITOR", "vi")
    defined = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_PROFILE": "etl"}
    with LocalExecutor(launch="fork", task_env=defined) as executor:
        before = spawner_children("zygote.py")
        # When a Python task is forked from the fork server
        spec = task(tmp_path, "env", script(tmp_path, "env", SHOWS_ENVIRONMENT),
                    env={"MODE": "full"})
        exit_, log = run(executor, spec)
        [server] = spawner_children("zygote.py") - before
        server_block = Path(f"/proc/{server}/environ").read_bytes()

    # Then its environment is the defined one plus its own, as a spawned task's is
    assert exit_.exit_code == 0 and forked(log), log
    seen = json.loads(log.splitlines()[1])
    tag = seen["environ"].pop(TAG_VARIABLE)
    assert tag and seen["environ"] == {**defined, "MODE": "full",
                                       "HEADWATER_ATTEMPT_DIR": str(spec.attempt_dir)}
    # and neither its own start-up block nor its fork server's holds the engine's secret
    for block in (seen["block"], server_block.decode(errors="replace")):
        assert "canary-secret-44c2" not in block and "EDITOR=" not in block


WAITS_FOR_GO = FORKED_MARK + """
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
sys.exit(4)
"""


def test_a_forked_task_outlives_its_executor_and_fork_server_and_is_adopted(
        tmp_path: Path) -> None:
    # Given a forked task whose fork server was SIGKILLed and whose executor closed
    go = tmp_path / "go"
    spec = task(tmp_path, "outlives", script(tmp_path, "waits", WAITS_FOR_GO), str(go))
    first = LocalExecutor(launch="fork")
    before = spawner_children("zygote.py")
    handle = first.launch(key(), spec)
    [server] = spawner_children("zygote.py") - before
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not alive([server]))
    first.close()
    assert alive([parent_pid(handle)])

    # When a new executor adopts it and the task is let go
    with LocalExecutor(launch="fork") as second:
        assert second.adopt(key(), handle, spec.attempt_dir) == handle
        assert second.wait(0.05) == []
        go.touch()
        [exit_] = collect(second, 1)

    # Then its own exit is reported: it ran from the fork server to its end
    assert (exit_.exit_code, exit_.lost) == (4, None)
    assert forked(spec.log_path.read_text())
