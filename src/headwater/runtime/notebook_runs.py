"""`dbutils.notebook.run`: run another notebook as a run of its own, wait for it, and return
the value it passed to `dbutils.notebook.exit`.

The notebook runs in a child process through the entry point of a `notebook_task` attempt
(`python -m headwater.entrypoints.notebook`), so that a source-format and an `.ipynb` notebook
run exactly as they would as a task, and report the same way: through an attempt directory of
their own, `notebook_runs/<name>-<random>/` inside the caller's. Its context.json gives the
child its widgets, exactly the `arguments` (no job parameters, no upstream task values: on
Databricks the child is a run of its own); its result.json brings back the exit value or the
error; the task values and metrics it sets stay there, as they are not the caller's. The
executed notebook is kept there too (under `executed/`).

The rest of the environment is inherited: secret scopes, DBFS, warehouse, job directory, and
the executor's tag of the attempt, by which the caller's own timeout or cancel finds and kills
the child with the caller. The `HEADWATER_PARAM_*` variables are not: they are the caller's
parameters, and the child's are its `arguments`.

The child leads a session of its own. When it ends, or runs past `timeout_seconds` (0: no
limit), what is left of it is killed, whole tree (`headwater.runtime.process_groups`). What it
prints reaches the caller's stdout line by line, each prefixed with `[<its directory>] `, so
that the task's log shows it and runs started together from threads can be told apart.

Outside a headwater run the child's directory is a temporary one, removed after.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

from headwater.runtime import channel
from headwater.runtime.process_groups import kill_tree
from headwater.runtime.written_paths import (
    NOTEBOOK_SUFFIXES,
    WORKSPACE_VARIABLE,
    candidates,
    first_found,
    leaves,
)

__all__ = ["NOTEBOOK_DIR_VARIABLE", "RUNS_FOLDER", "NotebookRunFailed", "NotebookRunTimedOut",
           "find_notebook", "run_notebook"]

NOTEBOOK_DIR_VARIABLE = "HEADWATER_NOTEBOOK_DIR"  # the running notebook's folder (entry point)
JOB_DIR_VARIABLE = "HEADWATER_JOB_DIR"  # as in headwater.entrypoints.notebook
RUNS_FOLDER = "notebook_runs"
_ENTRY_POINT = "headwater.entrypoints.notebook"
_PARAMETER_PREFIX = "HEADWATER_PARAM_"  # as in headwater.runners.environment
# Once the child's tree is dead its output ends at once, unless a daemon that escaped the
# tree still holds the pipe: its later output is not worth hanging the caller for.
_OUTPUT_GRACE_SECONDS = 5.0


class NotebookRunFailed(Exception):
    """Raised by `dbutils.notebook.run` when the notebook it ran failed (Databricks raises a
    `WorkflowException`); carries the notebook, its error and trace, and its directory."""

    def __init__(self, message: str, notebook: Path, error: str, trace: str,
                 directory: Path) -> None:
        super().__init__(message)
        self.notebook, self.error, self.trace, self.directory = notebook, error, trace, directory


class NotebookRunTimedOut(NotebookRunFailed):
    """Raised by `dbutils.notebook.run` when the notebook ran past its `timeout_seconds`; it
    was killed, with everything it started."""


def find_notebook(written: str, environ: Mapping[str, str] | None = None) -> Path:
    """The notebook `written` names: relative to the calling notebook's folder, inside the
    job's directory, or a `/Workspace/...` path; its suffix optional (see
    `headwater.runtime.written_paths`).

    Raises:
        ValueError: when a relative path leaves the job's directory.
        FileNotFoundError: when no such notebook exists, naming the paths tried.
    """
    environ = os.environ if environ is None else environ
    start = Path(environ.get(NOTEBOOK_DIR_VARIABLE) or os.getcwd())
    workspace = environ.get(WORKSPACE_VARIABLE)
    tried = candidates(written, start, NOTEBOOK_SUFFIXES, workspace)
    job_dir = environ.get(JOB_DIR_VARIABLE)
    if job_dir and leaves(written, tried[0], Path(job_dir)):
        raise ValueError(f"dbutils.notebook.run({written!r}): {os.fspath(tried[0])!r} is "
                         f"outside the job directory {job_dir!r}; use a path inside it or an "
                         "absolute path")
    found = first_found(tried)
    if found is not None:
        return found
    looked = ", ".join(repr(os.fspath(c)) for c in tried)
    raise FileNotFoundError(f"dbutils.notebook.run({written!r}): no notebook at {looked}; a "
                            f"relative path starts from the calling notebook's folder "
                            f"{os.fspath(start)!r}")


def run_notebook(written: str, timeout_seconds: float,
                 arguments: Mapping[str, object] | None = None) -> str:
    """Run the notebook `written` names with `arguments` as its widgets; its exit value.

    Returns:
        The string the notebook passed to `dbutils.notebook.exit`, or "" when it ended
        without calling it.

    Raises:
        ValueError: for a `timeout_seconds` that is not 0 or more seconds, or a path outside
            the job directory.
        FileNotFoundError: when there is no such notebook.
        NotebookRunTimedOut: when it ran past `timeout_seconds` (0: no limit) and was killed.
        NotebookRunFailed: when it failed, with its error.
    """
    notebook = find_notebook(written)
    limit = _time_limit(timeout_seconds)
    widgets = {str(name): str(value) for name, value in (arguments or {}).items()}
    with _run_directory(notebook) as directory:
        _write_context(directory, widgets)
        code = _run_child(written, notebook, directory, limit)
        return _outcome(written, notebook, directory, code)


def _time_limit(timeout_seconds: float) -> float | None:
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int | float) \
            or timeout_seconds < 0:
        raise ValueError(f"dbutils.notebook.run: timeout_seconds must be a number of seconds, "
                         f"0 for no limit, got {timeout_seconds!r}")
    return float(timeout_seconds) or None


@contextlib.contextmanager
def _run_directory(notebook: Path) -> Iterator[Path]:
    """The child's attempt directory: kept in the caller's, else temporary."""
    import tempfile  # here, not above: see `_run_child`

    caller = channel.current_directory()
    if caller is None:
        with tempfile.TemporaryDirectory(prefix=f"{notebook.stem}-") as temporary:
            yield Path(temporary)
        return
    (caller / RUNS_FOLDER).mkdir(exist_ok=True)
    yield Path(tempfile.mkdtemp(prefix=f"{notebook.stem}-", dir=caller / RUNS_FOLDER))


def _write_context(directory: Path, widgets: dict[str, str]) -> None:
    """The caller's identity, with `widgets` as the only parameters and nothing upstream."""
    context = dataclasses.replace(channel.current_context(), job_parameters={},
                                  task_parameters=widgets, task_values={})
    (directory / channel.CONTEXT).write_text(json.dumps(dataclasses.asdict(context)),
                                             encoding="utf-8")


def _child_environment(directory: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(_PARAMETER_PREFIX)}
    environment[channel.ATTEMPT_DIR_VARIABLE] = os.fspath(directory)
    return environment


def _run_child(written: str, notebook: Path, directory: Path, limit: float | None) -> int:
    """Run the notebook's process to its end (or its limit); its exit code."""
    # Imported here, not with the module: `headwater.runtime` is preloaded in every fork
    # server, and `threading` (which `subprocess` imports) and `random` (which `tempfile`
    # imports) each register a hook that every forked attempt parent and task then runs,
    # copying a hundred pages or so. Few tasks call `dbutils.notebook.run`.
    import subprocess
    import threading

    process = subprocess.Popen(
        [sys.executable, "-u", "-m", _ENTRY_POINT, os.fspath(notebook)], cwd=notebook.parent,
        env=_child_environment(directory), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True)
    assert process.stdout is not None
    copier = threading.Thread(target=_copy_lines, args=(process.stdout, f"[{directory.name}] "),
                              name=f"output of {directory.name}", daemon=True)
    copier.start()
    try:
        ended = _ends_within(process.pid, limit)
    finally:  # after the end, a timeout or an interrupt: nothing of it may outlive the call.
        # Its leader is not reaped yet, so that its pid still names its session and no other.
        kill_tree(process.pid)
        code = process.wait()
        copier.join(_OUTPUT_GRACE_SECONDS)
    if not ended:
        raise NotebookRunTimedOut(
            f"dbutils.notebook.run({written!r}): {notebook.name} ran past timeout_seconds="
            f"{limit:g} and was killed; give it more time (0 means no limit)",
            notebook, "timed out", "", directory)
    return code


def _ends_within(pid: int, limit: float | None) -> bool:
    """Whether the process `pid` ends within `limit` seconds (None: wait for its end). It is
    not reaped: a pidfd tells its end."""
    descriptor = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(descriptor, select.POLLIN)
        return bool(poller.poll(None if limit is None else limit * 1000))
    finally:
        os.close(descriptor)


def _copy_lines(stream: IO[bytes], prefix: str) -> None:
    """Write each line of the child's output to this process's stdout (hence the task's log,
    or the calling cell's output in an `.ipynb` kernel), after `prefix`."""
    with stream:
        for line in iter(stream.readline, b""):
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            sys.stdout.write(f"{prefix}{text}\n")  # one write: lines of threads do not mix
            sys.stdout.flush()


def _outcome(written: str, notebook: Path, directory: Path, code: int) -> str:
    result = _read_result(directory)
    output = result.get("notebook_output")
    if code == 0:
        return str(output.get("result", "")) if isinstance(output, dict) else ""
    error = str(result.get("error") or f"its process exited with code {code}")
    raise NotebookRunFailed(
        f"dbutils.notebook.run({written!r}): {notebook.name} failed: {error} (its output is "
        f"in this task's log, each line after [{directory.name}])",
        notebook, error, str(result.get("error_trace", "")), directory)


def _read_result(directory: Path) -> dict[str, object]:
    try:
        result = json.loads((directory / channel.RESULT).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return result if isinstance(result, dict) else {}
