"""A notebook's `%sql` cell, run the same way in a source-format notebook (`entrypoints.notebook`)
and in an `.ipynb` one (the `%%sql` magic of `entrypoints.ipynb_cells`, in the kernel).

The SQL runs on the task's warehouse, in this process's session, with the widgets bound to its
`:name` markers. The rows it returned are printed (the first 50) and kept in the notebook's
namespace as `_sqldf`, as Databricks keeps the result of the last SQL cell for the Python
cells after it. A cell whose last statement returned no rows (DDL, an INSERT) prints nothing
and leaves `_sqldf` as it was.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from headwater.entrypoints.sql import run_script
from headwater.runtime import dbutils

__all__ = ["RESULT_NAME", "run_sql_cell"]

RESULT_NAME = "_sqldf"


def run_sql_cell(warehouse_url: str, source: str, namespace: MutableMapping[str, object]
                 ) -> None:
    """Run the cell's SQL; print its rows and keep them as `_sqldf` in `namespace`.

    Raises:
        SqlProblem: for a marker without a widget or a database error, naming the statement.
    """
    table = run_script(warehouse_url, source, dbutils.widgets.getAll(), session=True)
    if table is not None:
        print(table)  # its first rows (`Table.__str__`)
        namespace[RESULT_NAME] = table
