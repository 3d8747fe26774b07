"""What an `.ipynb` notebook needs besides a kernel: Databricks' cell languages, and its output
in the task's log.

A notebook exported from Databricks writes a SQL cell as `%sql` on its first line (and a
notebook whose language is SQL has only SQL cells, `%python` marking the others); IPython would
read `%sql` as an unknown line magic. `databricks_cells` turns such cells into the `%%sql` cell
magic that this module defines when the kernel loads it as an IPython extension (with the
names of `notebook_globals` in the notebook's namespace): the cell runs as a `%sql` cell of a
source notebook does (`entrypoints.sql_cells`: on the task's warehouse, the widgets bound to
its `:name` markers, its rows printed and kept as `_sqldf`).
`%md` cells are documentation and are skipped. `dbutils.notebook.exit` stops the notebook
without IPython's warning about exiting (its exception is the notebook's way to end).

`print_outputs` writes what a cell printed or showed to this process's stdout and stderr, cell
by cell as they finish, so that `headwater runs logs` shows a notebook's output as it shows a
script's.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import Any

from headwater.entrypoints.sql import SqlProblem, warehouse_url
from headwater.entrypoints.sql_cells import run_sql_cell
from headwater.runtime import databricks_globals
from headwater.runtime.redaction import redact, redact_all
from headwater.runtime.shims import sitecustomize

__all__ = ["EXTENSION", "databricks_cells", "load_ipython_extension", "notebook_globals",
           "print_outputs"]

EXTENSION = __name__  # the IPython extension the kernel loads before the notebook's cells
_EXIT_WARNING = "To exit: use 'exit'"  # what IPython warns of a cell that raises SystemExit
_DATABRICKS = "application/vnd.databricks.v1+notebook"


def databricks_cells(notebook: Any) -> None:
    """Rewrite the code cells of `notebook` (an nbformat node) in place for IPython."""
    metadata = notebook.get("metadata", {}).get(_DATABRICKS, {})
    sql_notebook = str(metadata.get("language", "")).lower() == "sql"
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            cell["source"] = _ipython_source(str(cell.get("source", "")), sql_notebook)


def _ipython_source(source: str, sql_notebook: bool) -> str:
    first, _, rest = source.lstrip("\n").partition("\n")
    magic = first.strip().split(" ")[0]
    if magic == "%sql":
        return "%%sql\n" + first.strip()[len("%sql"):].strip() + "\n" + rest
    if magic in ("%md", "%md-sandbox"):
        return ""
    if magic == "%python":
        return rest
    if sql_notebook and not first.startswith("%") and source.strip():
        return "%%sql\n" + source
    return source


def notebook_globals() -> dict[str, Any]:
    """The names Databricks gives a notebook that headwater has
    (`headwater.runtime.databricks_globals`). Each notebook process (a source notebook's, a
    kernel) also gets the finders of the task's `sitecustomize`, so that `import pyspark` says
    it is absent as `spark` does, and `databricks.sdk.runtime` is headwater's."""
    sitecustomize.install()  # put there already as Python started, unless it ran without
    return databricks_globals.notebook_globals()


def load_ipython_extension(shell: Any) -> None:
    """IPython's hook for this module as an extension (`IPKernelApp.extensions`), in the
    kernel: `notebook_globals` in the notebook's namespace (but IPython's own `display`, which
    shows more), the `%%sql` cell magic, no warning for `dbutils.notebook.exit`, and the
    secrets the notebook read redacted from what its cells show and raise (what they print
    is, by `headwater.runtime.redaction`)."""
    names = notebook_globals()
    del names["display"]
    shell.push(names)

    def sql(line: str, cell: str) -> None:  # the `%%sql` cell magic
        try:  # (a `%sql` cell made one by `databricks_cells` keeps its line numbers)
            run_sql_cell(warehouse_url(), cell, shell.user_ns)
        except SqlProblem as problem:  # shown by IPython as the database's words alone
            shown = f"{type(problem).__name__}: {problem}"
            problem._render_traceback_ = lambda: shown.splitlines()  # type: ignore[attr-defined]
            raise

    shell.register_magic_function(sql, magic_kind="cell", magic_name="sql")
    # IPython warns "To exit: use 'exit', 'quit', or Ctrl-D." after a cell that raised
    # SystemExit, which `dbutils.notebook.exit` does to end the notebook.
    warnings.filterwarnings("ignore", message=_EXIT_WARNING, category=UserWarning)
    _redact_results(shell)


def _redact_results(shell: Any) -> None:
    """Redact a cell's shown values (`display`, its last expression) and its error, which
    reach the notebook as messages of their own rather than through `sys.stdout`."""
    formatter = shell.display_formatter
    format_value = formatter.format

    def format_redacted(*args: Any, **kwargs: Any) -> Any:
        data, metadata = format_value(*args, **kwargs)
        return redact_all(data), metadata

    formatter.format = format_redacted
    show_traceback = shell._showtraceback

    def show_redacted(kind: type, error: BaseException, lines: list[str]) -> Any:
        return show_traceback(kind, redact(str(error)), redact_all(lines))

    shell._showtraceback = show_redacted


def print_outputs(cell: Mapping[str, Any], **_: object) -> None:
    """nbclient's `on_cell_executed` hook: write the cell's outputs to stdout and stderr."""
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            stream = sys.stderr if output.get("name") == "stderr" else sys.stdout
            stream.write(_text(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            text = _text(output.get("data", {}).get("text/plain", ""))
            if text:
                sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    sys.stderr.flush()


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
