"""The kernel of an .ipynb attempt, with real attempts on a real LocalExecutor: fresh for each
attempt (nothing of one reaches the next), forked from the warm task under `launch="fork"`
and a new interpreter under `"spawn"`, and gone when its attempt ends, is cancelled or is
killed (see headwater.entrypoints.ipynb_kernel)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
from task_attempts import attempt_context, log_of, result_of
from tests.executors.attempt_processes import LAUNCH, alive, collect, kill_leftovers, wait_for

from headwater.core.spec import NotebookTask, Task
from headwater.entrypoints import ipynb_kernel
from headwater.executors import LocalExecutor
from headwater.executors.local import TAG_VARIABLE
from headwater.ports import AttemptKey, LaunchSpec, TaskContext
from headwater.runners import NotebookRunner

PREFIX = ipynb_kernel.SOCKETS_PREFIX

# Leaves what a notebook can leave behind in its process: a global, an environment variable,
# state in a module the fork server imported (and one it did not), the working directory.
LEAVE = [
    "x_left = 1",
    "import os, json, nbformat, headwater.runtime\n"
    "os.environ['HW_LEFT'] = '1'\n"
    "json.hw_left = nbformat.hw_left = headwater.runtime.hw_left = True",
    "os.chdir('/')",
]
LOOK = [
    "import os, sys, json, nbformat, headwater.runtime\n"
    "seen = {'global': 'x_left' in globals(), 'env': os.environ.get('HW_LEFT'),\n"
    "        'modules': [hasattr(m, 'hw_left') for m in (json, nbformat, headwater.runtime)],\n"
    "        'cwd': os.getcwd(), 'warm': 'headwater.entrypoints.ipynb_warm' in sys.modules,\n"
    "        'kernel': os.getpid(), 'task': os.getppid()}\n"
    "dbutils.notebook.exit(json.dumps(seen))",
]
# Records the kernel's pid and a child's of the kernel, then runs until killed.
STUCK = [
    "import os, subprocess, time\n"
    "child = subprocess.Popen(['sleep', '300'])\n"
    "open('pids', 'w').write(f'{os.getpid()} {child.pid}')",
    "time.sleep(300)",
]


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]  # type: ignore[no-untyped-call]
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]


def launch(workdir: Path, name: str, cells: list[str]) -> tuple[LaunchSpec, TaskContext]:
    write_notebook(workdir / f"{name}.ipynb", cells)
    context = attempt_context(workdir, name)
    task = Task(task_key=name, notebook_task=NotebookTask(notebook_path=f"{name}.ipynb"))
    return NotebookRunner().launch_spec(task, context), context


def output_of(context: TaskContext) -> dict[str, object]:
    result = result_of(context)
    assert "notebook_output" in result, (result, log_of(context))
    return json.loads(str(result["notebook_output"]["result"]))  # type: ignore[index]


def test_nothing_of_one_ipynb_attempt_reaches_the_next(tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    workdir.mkdir()
    leave, left = launch(workdir, "leave", LEAVE)
    look, looked = launch(workdir, "look", LOOK)
    try:
        with LocalExecutor(launch=LAUNCH) as executor:  # one fork server for both
            executor.launch(AttemptKey(1, 1), leave)
            assert collect(executor, 1, timeout=120)[0].exit_code == 0, log_of(left)
            executor.launch(AttemptKey(1, 2), look)
            assert collect(executor, 1, timeout=120)[0].exit_code == 0, log_of(looked)
    finally:
        kill_leftovers(tmp_path)

    seen = output_of(looked)
    assert seen["global"] is False
    assert seen["env"] is None
    assert seen["modules"] == [False, False, False]
    assert seen["cwd"] == str(workdir)  # the notebook's folder, not '/'


def test_the_kernel_is_forked_warm_under_fork_and_ends_with_its_attempt(
        tmp_path: Path) -> None:
    spec, context = launch(tmp_path, "look", LOOK)
    try:
        with LocalExecutor(launch=LAUNCH) as executor:
            executor.launch(AttemptKey(2, 1), spec)
            assert collect(executor, 1, timeout=120)[0].exit_code == 0, log_of(context)
            seen = output_of(context)
            # The attempt's exit is reported once its parent reaped everything it started.
            assert alive([int(str(seen["kernel"])), int(str(seen["task"]))]) == []
    finally:
        kill_leftovers(tmp_path)

    # Under fork the kernel is the warm task's child, forked; under spawn a new interpreter.
    assert seen["warm"] is (LAUNCH == "fork")
    assert list(tmp_path.glob("kernel-ipc*")) == []  # its sockets were not in the folder


def test_the_kernel_has_dbutils_and_runs_sql_cells_on_the_warehouse(tmp_path: Path) -> None:
    spec, context = launch(tmp_path, "sql", [
        "%sql\nCREATE TABLE numbers AS SELECT 1 AS n UNION ALL SELECT 2",
        "%sql\nSELECT sum(n) * 7 AS total FROM numbers",
        "dbutils.notebook.exit('done')",  # not imported: the kernel has it
    ])
    try:
        with LocalExecutor(launch=LAUNCH) as executor:
            executor.launch(AttemptKey(4, 1), spec)
            assert collect(executor, 1, timeout=120)[0].exit_code == 0, log_of(context)
    finally:
        kill_leftovers(tmp_path)

    assert result_of(context)["notebook_output"]["result"] == "done"
    assert "total\n21\n" in log_of(context)


def stuck_attempt(tmp_path: Path, executor: LocalExecutor,
                  key: AttemptKey) -> tuple[TaskContext, list[int]]:
    """Launch the STUCK notebook; its kernel's pid and the pid of the kernel's child."""
    spec, context = launch(tmp_path, "stuck", STUCK)
    executor.launch(key, spec)
    pids = tmp_path / "pids"
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2, timeout=120)
    recorded = [int(pid) for pid in pids.read_text().split()]
    assert alive(recorded) == recorded, log_of(context)
    return context, recorded


def tagged_processes(tag_prefix: bytes) -> list[int]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            entries = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(entry.startswith(tag_prefix) for entry in entries):
            found.append(int(environ.parent.name))
    return alive(found)


def test_a_cancelled_ipynb_attempt_leaves_no_kernel(tmp_path: Path) -> None:
    try:
        with LocalExecutor(launch=LAUNCH, kill_grace_seconds=1.0) as executor:
            key = AttemptKey(3, 1)
            context, pids = stuck_attempt(tmp_path, executor, key)
            assert context.attempt_dir is not None
            executor.kill(key, 1.0)  # what a cancel (and a timeout) asks of the executor
            exit_ = collect(executor, 1, timeout=30)[0]
            assert exit_.exit_code != 0 or exit_.signal is not None
            assert alive(pids) == []
            claim = json.loads((context.attempt_dir / "parent.json").read_text())
            assert tagged_processes(f"{TAG_VARIABLE}={claim['tag']}".encode()) == []
    finally:
        kill_leftovers(tmp_path)


def test_the_socket_folders_of_tasks_that_are_gone_are_swept(tmp_path: Path) -> None:
    # Given the kernel socket folders of a task that is gone (SIGKILLed: it removed nothing),
    # of one that runs, and folders that are not ours
    gone = subprocess.Popen(["true"])  # its pid names no process once it is reaped
    gone.wait()
    folders = {name: tmp_path / name for name in (
        f"{PREFIX}{gone.pid}-ab12", f"{PREFIX}{os.getpid()}-cd34", f"{PREFIX}old",
        "unrelated")}
    for folder in folders.values():
        (folder / "ipc-1").mkdir(parents=True)
    # When an .ipynb task starts its kernel (which sweeps first)
    ipynb_kernel.sweep_sockets(str(tmp_path))
    # Then only the folder of the task that is gone was removed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(list(folders)[1:])
