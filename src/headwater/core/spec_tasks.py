"""The task-type payloads of a `Task` (`notebook_task`, `sql_task`, ...), except `for_each_task`,
which nests a whole `Task` and so lives beside it in `core/spec.py`.

Shapes follow the Jobs API 2.2; `shell_command_task` and `run_job_task.job_name` are headwater
extensions.
"""

from __future__ import annotations

import warnings
from enum import StrEnum

from pydantic import StrictInt

from headwater.core.spec_common import Model, Source, Text


class ConditionTaskOp(StrEnum):
    """How a condition task compares `left` with `right`."""

    EQUAL_TO = "EQUAL_TO"  # equal as strings
    NOT_EQUAL = "NOT_EQUAL"  # different as strings
    GREATER_THAN = "GREATER_THAN"  # compared as numbers
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"  # compared as numbers
    LESS_THAN = "LESS_THAN"  # compared as numbers
    LESS_THAN_OR_EQUAL = "LESS_THAN_OR_EQUAL"  # compared as numbers


class NotebookTask(Model):
    """Run a notebook (for headwater: an `.ipynb` or a Databricks source `.py` file)."""

    notebook_path: str
    base_parameters: dict[str, Text] = {}
    source: Source | None = None
    warehouse_id: str | None = None  # where its %sql cells and sql() run


class SparkPythonTask(Model):
    """Run a Python file with `parameters` as `sys.argv[1:]`."""

    python_file: str
    parameters: list[Text] = []
    source: Source | None = None


class PythonWheelTask(Model):
    """Call an entry point of an installed package, with positional or named parameters."""

    package_name: str
    entry_point: str
    parameters: list[Text] = []
    named_parameters: dict[str, Text] = {}


class OperatorParameter(Model):
    """One keyword argument of a `python_operator_task`."""

    name: str
    value: Text


class PythonOperatorTask(Model):
    """Call `main` (`package.module.function` or a class) with keyword `parameters`."""

    main: str
    parameters: list[OperatorParameter] = []


class SqlQuery(Model):
    """A saved query by id, or (headwater extension) the query text itself."""

    query_id: str | None = None
    query_text: str | None = None


class SqlFile(Model):
    """A `.sql` file to run."""

    path: str
    source: Source | None = None


class SqlTask(Model):
    """Run SQL from a query or a file, with `:name` parameters."""

    query: SqlQuery | None = None
    file: SqlFile | None = None
    parameters: dict[str, Text] = {}
    warehouse_id: str | None = None


# The Jobs API names a field `schema`, which shadows pydantic's deprecated `BaseModel.schema()`:
# harmless (headwater never calls it), so the warning pydantic gives at class creation is not shown.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class DbtTask(Model):
        """Run dbt `commands` in order in a dbt project (see `runners/dbt.py`)."""

        commands: list[Text]
        project_directory: str | None = None  # None: the job's directory (Git: its root)
        profiles_directory: str | None = None  # relative to the project; None: the project's
        warehouse_id: str | None = None  # set: headwater writes the profile for that warehouse
        catalog: str | None = None  # only with warehouse_id
        schema: str | None = None  # type: ignore[assignment]  # only with warehouse_id
        source: Source | None = None


class RunJobTask(Model):
    """Start another job and wait for it; `job_name` names a job of the same bundle."""

    job_id: StrictInt | None = None
    job_name: str | None = None  # headwater extension for bundles
    job_parameters: dict[str, Text] = {}
    # The legacy per-task-type parameters of the child run, as run-now takes them
    # (core/task_parameters.py); the JAR, spark-submit and pipeline ones are refused there.
    notebook_params: dict[str, Text] = {}
    python_params: list[Text] = []
    python_named_params: dict[str, Text] = {}
    sql_params: dict[str, Text] = {}
    jar_params: list[Text] = []
    spark_submit_params: list[Text] = []
    dbt_commands: list[Text] = []
    pipeline_params: dict[str, object] | None = None


class ConditionTask(Model):
    """Compare two strings; dependants pick a branch with `outcome: "true"|"false"`."""

    op: ConditionTaskOp
    left: Text
    right: Text


class ShellCommandTask(Model):
    """headwater extension: run `command` with `/bin/sh -c`.

    Parameters reach the command as environment variables (`env`), never spliced into it.
    """

    command: str
    env: dict[str, Text] = {}
