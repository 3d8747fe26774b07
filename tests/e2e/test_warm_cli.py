"""The warm CLI (`cli/warm.py`, `cli/entry.py`): the `headwater` console script hands its
command line to a warm interpreter, which runs it in a child as this process would have run
it: its environment, working directory, umask and streams, its exit status, its signals.

Each test names its own warm CLI (`HEADWATER_WARM_CLI=<unique>`) and stops it at the end.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.cli.entry import NOT_SERVED, _may_be_served
from headwater.cli.warm import running
from tests.child_env import child_env

HEADWATER = str(Path(sys.executable).with_name("headwater"))
TIMEOUT = 60


@pytest.fixture
def warm_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a command that a warm CLI of this test's own serves; at the end,
    `waiting_job`'s task is released and the warm CLI stopped, whatever the test did."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield {**child_env("DATABRICKS_"), "HEADWATER_WARM_CLI": name,
           "HEADWATER_HOME": str(tmp_path / ".headwater")}
    (tmp_path / "release").touch()
    for pid in running(name):
        os.kill(pid, signal.SIGKILL)


def listening(pid: int) -> bool:
    """Whether the warm CLI `pid` has bound its address (a client that connects is then
    served, once it has imported what it preloads)."""
    try:
        sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return False
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("@headwater-warm-cli-") and (
                f"socket:[{fields[6]}]" in sockets):
            return True
    return False


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def started_warm_cli(env: dict[str, str], cwd: Path) -> int:
    """Run a first command (run here, as no warm CLI is up), which starts one; its pid once
    it listens."""
    first = subprocess.run([HEADWATER, "--version"], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=TIMEOUT)
    assert first.returncode == 0, first.stderr
    wait_for(lambda: running(env["HEADWATER_WARM_CLI"]), "a warm CLI to start")
    (pid,) = running(env["HEADWATER_WARM_CLI"])
    wait_for(lambda: listening(pid), "the warm CLI to listen")
    served = subprocess.run([HEADWATER, "--version"], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=TIMEOUT)  # once it has imported what it preloads
    assert served.returncode == 0, served.stderr
    return pid


def served_child(warm_pid: int, argv: list[str]) -> int | None:
    """The pid of the warm CLI's child that runs `argv`, shown as the client's command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == warm_pid and [os.fsdecode(word) for word in cmdline if word][-len(argv):] \
                == argv:
            return int(entry.name)
    return None


def waiting_job(tmp_path: Path) -> Path:
    """A one-task job whose task writes what it was given, then waits for `release`."""
    (tmp_path / "wait.py").write_text(
        "import os, pathlib, time\n"
        "import resource\n"
        "nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]\n"
        "pathlib.Path('seen.txt').write_text(f\"{os.environ.get('TERM')} {os.nice(0)} {nofile}\")\n"
        "while not pathlib.Path('release').exists():\n"
        "    time.sleep(0.05)\n")
    job = tmp_path / "job.yml"
    job.write_text("resources:\n  jobs:\n    waits:\n      name: waits\n      tasks:\n"
                   "        - task_key: w\n          spark_python_task: {python_file: wait.py}\n")
    return job


RUN = [HEADWATER, "run", "job.yml"]


def served_run(tmp_path: Path, env: dict[str, str], **popen: Any
               ) -> tuple[subprocess.Popen[str], int, int]:
    """`headwater run` of `waiting_job` by a client with `env`, once its task has started:
    the client, its warm CLI's pid and the pid of the warm CLI's child that runs it."""
    warm = started_warm_cli(env, tmp_path)
    waiting_job(tmp_path)
    client = subprocess.Popen(RUN, cwd=tmp_path, env=env, text=True, **popen)
    wait_for(lambda: (tmp_path / "seen.txt").exists(), "the task to start")
    child = served_child(warm, RUN)
    assert child is not None, "the run is not the warm CLI's child"
    return client, warm, child


def _umask_nice_and_limit() -> None:
    os.umask(0o077)
    os.nice(1)
    resource.setrlimit(resource.RLIMIT_NOFILE, (700, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def test_a_served_run_has_the_clients_environment_directory_umask_and_status(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    # Given a client with its own variables (its warm CLI has neither), umask, niceness and
    # limit of open files
    env = {**warm_env, "TERM": "from-the-client", "HEADWATER_HOME": str(tmp_path / "home")}
    # When it runs a job, by a path relative to its working directory, the run is the warm
    # CLI's child, shown with the client's command line (`served_run`)
    client, _, _ = served_run(tmp_path, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=_umask_nice_and_limit)
    (tmp_path / "release").touch()
    out, err = client.communicate(timeout=TIMEOUT)
    # And the run used the client's variables, umask, niceness and limits, and the client
    # ends as it did
    assert client.returncode == 0, err
    assert "ended SUCCESS" in out
    assert (tmp_path / "home" / "headwater.db").exists()
    assert (tmp_path / "seen.txt").read_text() == f"from-the-client {os.nice(0) + 1} 700"
    assert (tmp_path / "seen.txt").stat().st_mode & 0o077 == 0


def test_a_served_command_gives_the_output_and_exit_code_of_one_run_here(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    started_warm_cli(warm_env, tmp_path)
    (tmp_path / "bad.yml").write_text("resources:\n  jobs:\n    j:\n      tasks:\n"
                                      "        - task_key: a\n          depends_on: [{task_key: b}]\n"
                                      "          notebook_task: {notebook_path: n}\n")
    served = subprocess.run([HEADWATER, "validate", "bad.yml"], cwd=tmp_path, env=warm_env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    here = subprocess.run([HEADWATER, "validate", "bad.yml"], cwd=tmp_path,
                          env={**warm_env, "HEADWATER_WARM_CLI": "0"},
                          capture_output=True, text=True, timeout=TIMEOUT)

    assert served.returncode == here.returncode == 1
    assert "bad.yml:6:" in served.stderr
    assert (served.stdout, served.stderr) == (here.stdout, here.stderr)


def test_ctrl_c_at_the_client_cancels_the_served_run(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    client, _, _ = served_run(tmp_path, warm_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)

    client.send_signal(signal.SIGINT)
    out, _ = client.communicate(timeout=TIMEOUT)

    assert "Ctrl-C: cancelling run" in out
    assert "ended CANCELED" in out
    assert client.returncode == 1


def test_a_killed_client_takes_its_served_command_with_it(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    client, warm, _ = served_run(tmp_path, warm_env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)

    client.kill()
    client.wait(timeout=TIMEOUT)

    wait_for(lambda: served_child(warm, RUN) is None, "the served command to be killed")


def test_a_client_ends_by_the_signal_that_ended_its_command(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    client, _, child = served_run(tmp_path, warm_env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)

    os.kill(child, signal.SIGKILL)

    assert client.wait(timeout=TIMEOUT) == -signal.SIGKILL


def test_an_out_of_date_warm_cli_steps_aside_for_a_new_one(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    # Given a warm CLI whose path holds a directory of this test's
    extra = tmp_path / "extra"
    extra.mkdir()
    env = {**warm_env, "PYTHONPATH": str(extra)}
    old = started_warm_cli(env, tmp_path)
    # When a package is installed there (the directory changes)
    time.sleep(0.01)  # a new modification time, however coarse the file system's clock
    (extra / "new_package.py").write_text("")
    # Then the next command still runs, here, and the old warm CLI leaves for a new one
    done = subprocess.run([HEADWATER, "--version"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("headwater, version")
    wait_for(lambda: old not in running(env["HEADWATER_WARM_CLI"]), "the old one to leave")
    wait_for(lambda: running(env["HEADWATER_WARM_CLI"]), "a new one")


def test_a_warm_cli_keeps_nothing_open_of_the_command_that_started_it(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    # A shell's `$(headwater ...)` reads until every writer of its pipe has closed it.
    read_end, write_end = os.pipe()
    first = subprocess.Popen([HEADWATER, "--version"], cwd=tmp_path, env=warm_env,
                             stdout=subprocess.DEVNULL, pass_fds=(write_end,))
    os.close(write_end)
    assert first.wait(timeout=TIMEOUT) == 0
    wait_for(lambda: running(warm_env["HEADWATER_WARM_CLI"]), "a warm CLI to start")
    (warm,) = running(warm_env["HEADWATER_WARM_CLI"])
    wait_for(lambda: listening(warm), "the warm CLI to listen")

    ready, _, _ = select.select([read_end], [], [], TIMEOUT)
    assert ready and os.read(read_end, 1) == b""  # every writer gone, the warm CLI too
    os.close(read_end)


def test_a_command_in_another_mount_namespace_gets_a_warm_cli_of_its_own(
        tmp_path: Path, warm_env: dict[str, str]) -> None:
    # Containers sharing the host's network share its abstract socket names: a command must
    # not run in another container's files.
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode:
        pytest.skip("this machine lets no process make a mount namespace")
    outside = started_warm_cli(warm_env, tmp_path)

    inside = subprocess.run(["unshare", "--mount", HEADWATER, "--version"], cwd=tmp_path,
                            env=warm_env, capture_output=True, text=True, timeout=TIMEOUT)

    assert inside.returncode == 0, inside.stderr
    wait_for(lambda: len(running(warm_env["HEADWATER_WARM_CLI"])) == 2, "a second warm CLI")
    assert outside in running(warm_env["HEADWATER_WARM_CLI"])


def test_a_container_s_first_process_starts_no_warm_cli(tmp_path: Path,
                                                        warm_env: dict[str, str]) -> None:
    # A container's one command (PID 1) ends the container, and every process in it: a warm
    # CLI started for a next command would only cost it CPU and memory while it runs.
    if subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                      capture_output=True).returncode:
        pytest.skip("this machine lets no process make a pid namespace")
    # The job's task lists the warm CLIs of the namespace while the command still runs
    # (the pattern's brackets keep grep and its shell out of what it finds).
    (tmp_path / "job.yml").write_text(
        "resources:\n  jobs:\n    first:\n      name: first\n      tasks:\n"
        "        - task_key: look\n          shell_command_task:\n            command: "
        "grep -l 'cli[.]warm import serve' /proc/[0-9]*/cmdline > found; true\n")

    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", HEADWATER, "run",
                           "job.yml"], cwd=tmp_path, env=warm_env, capture_output=True,
                          text=True, timeout=TIMEOUT)

    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "found").read_text() == ""


def test_turned_off_no_warm_cli_starts(tmp_path: Path, warm_env: dict[str, str]) -> None:
    env = {**warm_env, "HEADWATER_WARM_CLI": "0"}
    for _ in range(2):
        done = subprocess.run([HEADWATER, "--version"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr
    time.sleep(0.5)  # what a started one would take to show

    assert running("0") == []


@pytest.mark.parametrize("args", [["server", "--port", "1"], ["engine"], ["secrets", "put"],
                                  ["--version", "engine"]])
def test_services_and_prompts_are_never_served(args: list[str]) -> None:
    assert sorted(NOT_SERVED) == ["engine", "secrets", "server"]
    assert not _may_be_served(args, os.environ)  # type: ignore[arg-type]


def test_other_commands_are_served_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_WARM_CLI", "on")
    assert _may_be_served(["run", "server.yml"], os.environ)  # type: ignore[arg-type]
    monkeypatch.setenv("HEADWATER_WARM_CLI", "off")
    assert not _may_be_served(["run", "server.yml"], os.environ)  # type: ignore[arg-type]


def test_the_console_script_imports_only_what_the_interpreter_has_loaded_already() -> None:
    # The client is what every command pays before the warm CLI takes over.
    code = ("import sys; before = set(sys.modules); import headwater.cli.entry; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, check=True)

    assert done.stdout.split() == ["__future__", "headwater", "headwater.cli",
                                   "headwater.cli.entry"]
