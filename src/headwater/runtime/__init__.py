"""The small library a task process imports: its parameters, task values, metrics, and a
`dbutils` compatible with Databricks notebooks.

    from headwater.runtime import dbutils, metrics, parameters, task_values

    table = parameters["table"]                       # task parameters over job parameters
    task_values.set("row_count", 42)                 # {{tasks.<key>.values.row_count}}
    task_values.get("ingest", "batch", default=None)  # a value an upstream task set
    metrics.record("rows", 42)
    sql("SELECT count(*) FROM bronze.orders")       # the task's SQL warehouse
    dbutils.widgets.get("table"); dbutils.notebook.exit("done")
    dbutils.notebook.run("./child", 600, {"day": "2026-11-24"})  # its exit value

Everything goes through the attempt's files (`HEADWATER_ATTEMPT_DIR`, see
`headwater.engine.attempts`). Standard library only, fast to import, and nothing from the engine or
the store.
"""

from headwater.runtime.api import (
    Metrics,
    Notebook,
    NotebookExit,
    Parameters,
    TaskValues,
    Warehouse,
)
from headwater.runtime.channel import Context, current_context
from headwater.runtime.dbutils import WidgetNotDefined, dbutils
from headwater.runtime.notebook_runs import NotebookRunFailed, NotebookRunTimedOut

__all__ = [
    "Context",
    "NotebookExit",
    "NotebookRunFailed",
    "NotebookRunTimedOut",
    "WidgetNotDefined",
    "current_context",
    "dbutils",
    "metrics",
    "notebook",
    "parameters",
    "sql",
    "task_values",
]

parameters = Parameters()
task_values = TaskValues()
metrics = Metrics()
notebook = Notebook()
sql = Warehouse()
