"""The child side of a `notebook_task`: run a notebook, record its exit value or its error.

    python -m headwater.entrypoints.notebook <notebook path>

Databricks source-format notebooks (`.py`, and `.sql` ones whose cells are SQL) run here, in
this plain Python process (no kernel): the cells of `headwater.entrypoints.databricks_source`
run in order in one namespace that holds `dbutils`, `getArgument`, `display` (and a `spark`
that explains it is absent); `%md` cells are skipped, `%sql` cells run on the warehouse of
`HEADWATER_WAREHOUSE_URL` with the widgets bound to their `:name` markers (their rows kept as
`_sqldf`, `entrypoints.sql_cells`), `%sh` cells run with /bin/sh, `%run ./other` runs another
notebook (relative to the including one, inside the job directory) in the same namespace, its
`$name=value` arguments as its widgets. `.ipynb` notebooks run on an ipykernel through
nbclient (both installed with headwater), their `%sql` cells on the warehouse and their output
in the task's log; the kernel serves this attempt only, and is forked from this process when
its fork server had the kernel's libraries imported (`ipynb_kernel`).

The notebook's file is `HEADWATER_NOTEBOOK_PATH`, in this process and its kernel, for the
notebook context (`dbutils.notebook.entry_point.getDbutils().notebook().getContext()`).
`dbutils.notebook.run(path, ...)` runs another notebook through this entry point, in a child
process (`headwater.runtime.notebook_runs`), a relative path starting from this notebook's
folder. `dbutils.notebook.exit(value)` ends the notebook successfully. An exception fails it:
result.json gets `error` (the exception line) and `error_trace` (naming the cell and line), and
the process exits 1. The executed notebook is kept in the attempt directory, under `executed/`.
"""

from __future__ import annotations

import builtins
import os
import re
import shutil
import subprocess
import sys
import traceback
import uuid
import warnings
from pathlib import Path
from typing import Any

from headwater.entrypoints.databricks_source import (
    Cell,
    CellKind,
    NotebookFormatError,
    parse_notebook,
)
from headwater.entrypoints.ipynb_cells import (
    EXTENSION,
    databricks_cells,
    notebook_globals,
    print_outputs,
)
from headwater.entrypoints.operator import exception_line
from headwater.entrypoints.sql import NOTICE_VARIABLE, SqlProblem, warehouse_url
from headwater.entrypoints.sql_cells import run_sql_cell
from headwater.runtime import NotebookExit, channel
from headwater.runtime.dbutils import run_arguments
from headwater.runtime.notebook_context import NOTEBOOK_PATH_VARIABLE
from headwater.runtime.notebook_runs import NOTEBOOK_DIR_VARIABLE

__all__ = ["CellFailed", "SourceNotebook", "main"]

JOB_DIR_VARIABLE = "HEADWATER_JOB_DIR"  # as in headwater.runners.notebook
EXECUTED = "executed"


class CellFailed(Exception):  # a report for the task's result, not a bug
    """Raised when a cell fails; carries the result.json `error` and `error_trace`."""

    def __init__(self, error: str, trace: str) -> None:
        super().__init__(error)
        self.error, self.trace = error, trace


def _failure(error: BaseException, where: str, path: Path) -> CellFailed:
    """The result of a failed cell: the exception line and a trace without our frames."""
    summary = traceback.TracebackException.from_exception(error)
    frames = [f for f in summary.stack if f.filename != __file__]
    summary.stack = traceback.StackSummary.from_list(frames)
    lines = [f.lineno for f in frames if f.filename == os.fspath(path)]
    if isinstance(error, SyntaxError) and error.filename == os.fspath(path):
        lines.append(error.lineno)
    line = f", line {lines[-1]}" if lines and lines[-1] else ""
    trace = f"Error in {where}{line}:\n" + "".join(summary.format())
    return CellFailed(exception_line(error), trace)


class SourceNotebook:
    """Runs a source-format notebook and the notebooks it includes in one namespace.

    Args:
        workdir: the job's directory; `%run` may not leave it.
        warehouse_url: where `%sql` cells run.
        keep: where executed notebooks are copied; None outside a run.
    """

    def __init__(self, workdir: Path, warehouse_url: str, keep: Path | None) -> None:
        self.workdir, self.warehouse_url, self.keep = workdir, warehouse_url, keep
        self.namespace: dict[str, Any] = {
            "__name__": "__main__", "__builtins__": builtins, **notebook_globals()}

    def run(self, path: Path, included_by: tuple[str, ...] = ()) -> None:
        """Run every cell of `path`. Raises `CellFailed`, or `NotebookExit` to stop."""
        name = path.name
        where_prefix = f" (included by %run in {' <- '.join(reversed(included_by))})"
        default = CellKind.SQL if path.suffix.lower() == ".sql" else CellKind.PYTHON
        try:
            cells = parse_notebook(path.read_text(encoding="utf-8"), name, default)
        except NotebookFormatError as error:
            raise CellFailed(f"NotebookFormatError: {error}", str(error)) from None
        self._keep(path)
        for cell in cells:
            where = f"cell {cell.number} of {name}" + (where_prefix if included_by else "")
            try:
                self._run_cell(path, cell, (*included_by, f"cell {cell.number} of {name}"))
            except (CellFailed, NotebookExit):
                raise
            except SystemExit as error:
                if error.code in (0, None):
                    raise NotebookExit("") from None
                raise _failure(error, where, path) from None
            except SqlProblem as error:  # the database's words are the whole story
                line = exception_line(error)
                raise CellFailed(line, f"Error in {where}:\n{line}\n") from None
            except Exception as error:
                raise _failure(error, where, path) from None

    def _run_cell(self, path: Path, cell: Cell, chain: tuple[str, ...]) -> None:
        if cell.kind is CellKind.PYTHON:
            source = "\n" * (cell.first_line - 1) + cell.source  # file line numbers
            exec(compile(source, os.fspath(path), "exec"), self.namespace)  # noqa: S102
        elif cell.kind is CellKind.SQL:  # with the file's line numbers, as a Python cell
            run_sql_cell(self.warehouse_url, "\n" * (cell.first_line - 1) + cell.source,
                         self.namespace)
        elif cell.kind is CellKind.SHELL:  # in the notebook's folder, like its Python cells
            subprocess.run(["/bin/sh", "-c", cell.source], check=True)
        elif cell.kind is CellKind.RUN:
            target = self._include(path, cell.source, chain)
            with run_arguments(cell.arguments):
                self.run(target, chain)

    def _include(self, including: Path, written: str, chain: tuple[str, ...]) -> Path:
        base = Path(os.path.abspath(self.workdir))
        path = Path(os.path.normpath(including.parent / written))
        if not Path(written).is_absolute() and not path.is_relative_to(base):
            raise ValueError(f"%run {written}: leaves the job directory {os.fspath(base)!r}")
        for candidate in (path, path.with_name(path.name + ".py")):
            if candidate.is_file():
                if any(link.endswith(f" of {candidate.name}") for link in chain[:-1]):
                    raise ValueError(f"%run {written}: includes itself ({' -> '.join(chain)})")
                return candidate
        raise FileNotFoundError(f"%run {written}: no notebook at {os.fspath(path)!r}[.py]")

    def _keep(self, path: Path) -> None:
        if self.keep is not None:
            self.keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.keep / path.name)


def _fail(failure: CellFailed) -> int:
    channel.update_result({"error": failure.error, "error_trace": failure.trace})
    print(failure.trace, file=sys.stderr, end="" if failure.trace.endswith("\n") else "\n")
    return 1


def run_source(path: Path) -> int:
    """Run a source-format notebook; the process's exit code."""
    if os.environ.get(NOTICE_VARIABLE):
        print(os.environ[NOTICE_VARIABLE], file=sys.stderr)
    directory = channel.current_directory()
    job_dir = Path(os.environ.get(JOB_DIR_VARIABLE) or Path.cwd())
    notebook = SourceNotebook(job_dir, warehouse_url(),
                              directory / EXECUTED if directory else None)
    try:
        notebook.run(path)
    except NotebookExit:
        return 0
    except CellFailed as failure:
        return _fail(failure)
    return 0


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_IN = re.compile(r"Cell In\[(\d+)\]")


def run_ipynb(path: Path) -> int:
    """Run an `.ipynb` notebook on an ipykernel of its own; the process's exit code.

    Its `%sql` cells run on the warehouse, and what its cells print goes to this process's
    output, cell by cell (see `headwater.entrypoints.ipynb_cells`). The kernel is forked
    from this process when it can be (see `headwater.entrypoints.ipynb_kernel`).
    """
    # Imported only for .ipynb notebooks: they take a while to load (unless the fork server
    # of .ipynb tasks had imported them).
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from headwater.entrypoints import ipynb_kernel

    kernel = ipynb_kernel.start(EXTENSION)  # first: a forked kernel boots meanwhile
    try:
        notebook = _read_ipynb(nbformat, path)
        databricks_cells(notebook)
        client = NotebookClient(notebook, km=kernel, timeout=None,
                                resources={"metadata": {"path": os.getcwd()}},
                                on_cell_executed=print_outputs)
        try:
            client.execute()
        except CellExecutionError as error:
            if error.ename != NotebookExit.__name__:
                return _fail(_ipynb_failure(notebook, path.name, error.ename, error.evalue))
        finally:
            _tidy_exit(notebook)
            _keep_ipynb(notebook, path.name)
    finally:
        kernel.discard()
    return 0


def _read_ipynb(nbformat: Any, path: Path) -> Any:
    """The notebook, each cell with an id: nbformat 4.5 asks for them, many writers leave
    them out, and nbformat would warn of each such notebook in the task's log."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cell is missing an id field")
        notebook = nbformat.read(path, as_version=4)
    if (notebook.nbformat, notebook.nbformat_minor) >= (4, 5):
        for cell in notebook.cells:
            if "id" not in cell:
                cell["id"] = uuid.uuid4().hex[:8]
    return notebook


def _ipynb_failure(notebook: Any, name: str, ename: str, evalue: str) -> CellFailed:
    """The failure the notebook's error output shows (where the kernel redacted the secrets
    the notebook read), else the one its reply names."""
    number, lines = 0, [f"{ename}: {evalue}"]
    executed = {}  # IPython's `Cell In[n]` is the n-th cell run: its number in the notebook
    for index, cell in enumerate(notebook.cells, start=1):
        if cell.get("execution_count"):
            executed[str(cell["execution_count"])] = index
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                number, lines = index, [_ANSI.sub("", line) for line in output["traceback"]]
                evalue = output.get("evalue", evalue)
    lines = [_CELL_IN.sub(lambda m: f"Cell {executed.get(m[1], m[1])}", line) for line in lines]
    trace = f"Error in cell {number} of {name}:\n" + "\n".join(lines) + "\n"
    return CellFailed(f"{ename}: {evalue}", trace)


def _tidy_exit(notebook: Any) -> None:
    """Drop the error IPython shows for `dbutils.notebook.exit` (the kernel does not warn of
    it, see `ipynb_cells.load_ipython_extension`)."""
    for cell in notebook.cells:
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if o.get("ename") != NotebookExit.__name__]


def _keep_ipynb(notebook: Any, name: str) -> None:
    import nbformat

    directory = channel.current_directory()
    if directory is not None:
        (directory / EXECUTED).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, directory / EXECUTED / name)  # type: ignore[no-untyped-call]


def main(argv: list[str]) -> int:
    """Run the notebook at `argv[0]`; 0 when it succeeded or exited, 1 when it failed."""
    if len(argv) != 1:
        print("usage: python -m headwater.entrypoints.notebook NOTEBOOK", file=sys.stderr)
        return 2
    path = Path(argv[0])
    # Where `dbutils.notebook.run` starts a relative path, and the notebook context's
    # `notebookPath`, in this process or its kernel.
    os.environ[NOTEBOOK_DIR_VARIABLE] = os.path.abspath(path.parent)
    os.environ[NOTEBOOK_PATH_VARIABLE] = os.path.abspath(path)
    return run_ipynb(path) if path.suffix == ".ipynb" else run_source(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
