"""NotebookRunner against real child processes: Databricks source notebooks (with %sql, %run,
widgets, task values, exit) and .ipynb notebooks on a real ipykernel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest
from task_attempts import (
    attempt_context,
    copy_fixtures,
    log_of,
    result_of,
    run_attempt,
    values_of,
)

from headwater.core.spec import NotebookTask, Task
from headwater.errors import InvalidRequest
from headwater.runners import NotebookRunner
from headwater.runners.sql import Warehouse, Warehouses

INJECTION = "x'); DROP TABLE bronze; --"


def notebook_task(path: str, **parameters: str) -> Task:
    return Task(task_key="ingest",
                notebook_task=NotebookTask(notebook_path=path, base_parameters=parameters))


def test_a_source_notebook_runs_sql_includes_reads_widgets_sets_values_and_exits(
        tmp_path: Path) -> None:
    # Given the bronze notebook, a widget value that looks like SQL, and an upstream value
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(
        workdir, task_parameters={"source": INJECTION, "table": "bronze"},
        task_values={"extract": {"files": ["a.csv", "b.csv"]}})
    runner = NotebookRunner(Warehouses(home=tmp_path / "home"))

    # When it runs (path without `.py`, as in a workspace)
    spec = runner.launch_spec(notebook_task("lf_bronze_ingest"), context)
    exit_ = run_attempt(spec)

    # Then it exits with its value, its values are set, the widget stayed data
    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["notebook_output"] == {
        "result": "bronze: 3 rows from 2 files", "truncated": False}
    assert values_of(context) == {"row_count": 3, "batch": {"table": "bronze", "last": INJECTION}}
    assert "setup: table bronze" in log_of(context)
    assert "never reached" not in log_of(context)
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb")) as connection:
        assert connection.execute("SELECT name FROM bronze WHERE id = 3").fetchall() == [
            (INJECTION,)]
    # And the executed notebooks are kept with the attempt
    assert context.attempt_dir is not None
    kept = context.attempt_dir / "executed"
    assert {p.name for p in kept.iterdir()} == {"lf_bronze_ingest.py", "setup.py"}


def test_widget_defaults_apply_when_the_run_does_not_set_them(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir, task_parameters={"source": "s3://raw"})
    spec = NotebookRunner(Warehouses(home=tmp_path)).launch_spec(
        notebook_task("lf_bronze_ingest.py"), context)

    assert run_attempt(spec).exit_code == 0, log_of(context)
    assert result_of(context)["notebook_output"]["result"] == "bronze_default: 3 rows from 0 files"


def test_an_exception_fails_the_notebook_naming_the_cell_and_line(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir)
    spec = NotebookRunner().launch_spec(notebook_task("lf_failing.py"), context)

    exit_ = run_attempt(spec)

    assert exit_.exit_code == 1
    result = result_of(context)
    assert result["error"] == "ValueError: bad row"
    trace = result["error_trace"]
    assert trace.startswith("Error in cell 3 of lf_failing.py, line 13:")  # the raise
    assert 'raise ValueError("bad row")' in trace and "check(row)" in trace
    assert "notebook_main" not in trace  # the executor's own frames are left out
    assert "Error in cell 3 of lf_failing.py" in log_of(context)


def test_a_missing_widget_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text(
        "# Databricks notebook source\nx = 1\n# COMMAND ----------\n"
        "dbutils.widgets.get('tabel')\n")
    context = attempt_context(tmp_path, task_parameters={"table": "t", "day": "1"})

    assert run_attempt(NotebookRunner().launch_spec(notebook_task("nb"), context)).exit_code == 1

    result = result_of(context)
    assert result["error"].startswith("WidgetNotDefined: no widget or parameter named 'tabel' "
                                      "(known: day, table)")
    assert "cell 2 of nb.py, line 4" in result["error_trace"]


def test_a_failing_sql_cell_and_an_included_notebook_are_named(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "broken.py").write_text(
        "# Databricks notebook source\nok = 1\n# COMMAND ----------\n"
        "# MAGIC %sql\n# MAGIC SELECT * FROM no_such_table\n")
    (tmp_path / "main.py").write_text(
        "# Databricks notebook source\n# MAGIC %run ./lib/broken\n")
    context = attempt_context(tmp_path)

    spec = NotebookRunner(Warehouses(home=tmp_path)).launch_spec(notebook_task("main"), context)
    assert run_attempt(spec).exit_code == 1

    result = result_of(context)
    # the line is the notebook file's (a %sql cell is numbered as a Python cell is)
    assert result["error"].startswith("SqlProblem: statement 1 (line 5): CatalogException")
    assert "LINE 5: SELECT * FROM no_such_table" in result["error"], result["error"]
    assert "cell 2 of broken.py (included by %run in cell 1 of main.py)" in result["error_trace"]
    assert "Traceback" not in result["error_trace"]  # the database's words, not our frames


def test_run_may_not_leave_the_job_directory(tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("# Databricks notebook source\nprint('outside')\n")
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / "main.py").write_text("# Databricks notebook source\n# MAGIC %run ../outside\n")
    context = attempt_context(workdir)

    assert run_attempt(NotebookRunner().launch_spec(notebook_task("main"), context)).exit_code == 1
    assert "leaves the job directory" in result_of(context)["error"]
    assert "outside" not in log_of(context).replace("../outside", "")


def test_an_unsupported_magic_fails_before_any_cell_runs(tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nprint('ran')\n"
                                    "# COMMAND ----------\n# MAGIC %pip install pandas\n")
    context = attempt_context(tmp_path)

    assert run_attempt(NotebookRunner().launch_spec(notebook_task("nb"), context)).exit_code == 1
    assert "cell 2 of nb.py: %pip is not supported" in result_of(context)["error"]
    assert "ran" not in log_of(context)


def test_run_passes_its_arguments_as_the_widgets_of_the_included_notebook(
        tmp_path: Path) -> None:
    # Given a notebook that includes a helper with arguments, which includes another
    (tmp_path / "main.py").write_text(
        "# Databricks notebook source\n"
        "# MAGIC %run ./helper $greeting=\"hi there\" $who=ann\n"
        "# COMMAND ----------\n"
        "print('main reads', dbutils.widgets.get('greeting'))\n"
        "dbutils.notebook.exit(said)\n")
    (tmp_path / "helper.py").write_text(
        "# Databricks notebook source\n"
        "# MAGIC %run ./inner $who=bob\n"
        "# COMMAND ----------\n"
        "said = f\"{dbutils.widgets.get('greeting')}, {dbutils.widgets.get('who')} \" + inner\n")
    (tmp_path / "inner.py").write_text(
        "# Databricks notebook source\n"
        "inner = f\"({dbutils.widgets.get('greeting')}, {dbutils.widgets.get('who')})\"\n")
    context = attempt_context(tmp_path, task_parameters={"greeting": "from the task"})

    # When it runs
    exit_ = run_attempt(NotebookRunner().launch_spec(notebook_task("main"), context))

    # Then each included notebook read the arguments passed to it (an inner %run adds its
    # own), and the including notebook reads its own widgets again
    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["notebook_output"]["result"] == "hi there, ann (hi there, bob)"
    assert "main reads from the task" in log_of(context)


def test_a_malformed_run_argument_fails_before_any_cell_runs(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("# Databricks notebook source\nx = 1\n")
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nprint('ran')\n"
                                    "# COMMAND ----------\n# MAGIC %run ./helper greeting=hi\n")
    context = attempt_context(tmp_path)

    assert run_attempt(NotebookRunner().launch_spec(notebook_task("nb"), context)).exit_code == 1
    assert result_of(context)["error"] == (
        "NotebookFormatError: cell 2 of nb.py, line 4: %run ./helper greeting=hi: "
        "'greeting=hi' is not an argument; after the notebook path, write each as "
        "$name=value (quoted when it holds a space: $name=\"a b\")")
    assert "ran" not in log_of(context)


@pytest.mark.parametrize("name", ["answer.py", "answer.ipynb"])
def test_the_result_of_a_sql_cell_is_sqldf_in_either_format(tmp_path: Path, name: str) -> None:
    # Given a notebook whose SQL cell is followed by a Python cell reading `_sqldf`
    cells = ["%sql\nSELECT 42 AS answer, :who AS who",
             "print('rows', _sqldf.rows)\ndbutils.notebook.exit(str(_sqldf.rows[0][0]))"]
    if name.endswith(".py"):
        sql = "\n".join(f"# MAGIC {line}" for line in cells[0].splitlines())
        (tmp_path / name).write_text(
            f"# Databricks notebook source\n{sql}\n# COMMAND ----------\n{cells[1]}\n")
    else:
        (tmp_path / name).write_text(json.dumps({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
                "id": str(number), "cell_type": "code", "metadata": {}, "source": source,
                "outputs": [], "execution_count": None}
                for number, source in enumerate(cells)]}))
    context = attempt_context(tmp_path, task_parameters={"who": "ann"})
    runner = NotebookRunner(Warehouses(home=tmp_path / "home"))

    exit_ = run_attempt(runner.launch_spec(notebook_task(name), context))

    # Then the SQL cell printed its rows, and the Python cell read them as `_sqldf`
    log = log_of(context)
    assert exit_.exit_code == 0, log
    assert "answer | who\n42 | ann\n" in log
    assert "rows [(42, 'ann')]" in log
    assert result_of(context)["notebook_output"]["result"] == "42"


@pytest.mark.parametrize("escape", ["../outside", "sub/../../outside.py"])
def test_a_notebook_path_leaving_the_job_directory_is_refused(tmp_path: Path,
                                                              escape: str) -> None:
    workdir = tmp_path / "job"
    (workdir / "sub").mkdir(parents=True)
    (tmp_path / "outside.py").write_text("# Databricks notebook source\n")
    with pytest.raises(InvalidRequest, match=r"notebook_path .* leaves the job directory"):
        NotebookRunner().launch_spec(notebook_task(escape), attempt_context(workdir))


def test_a_missing_notebook_names_every_path_tried(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as caught:
        NotebookRunner().launch_spec(notebook_task("etl/missing"), attempt_context(tmp_path))
    message = str(caught.value)
    assert "'ingest'" in message
    for suffix in ("", ".py", ".ipynb"):
        assert repr(str(tmp_path / "etl" / f"missing{suffix}")) in message


def test_the_launch_is_argv_with_the_warehouse_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text("# Databricks notebook source\n")
    warehouses = Warehouses(by_id={"wh1": Warehouse("sqlite:///x.db")})
    task = Task(task_key="ingest", notebook_task=NotebookTask(notebook_path="nb",
                                                              warehouse_id="wh1"))
    spec = NotebookRunner(warehouses).launch_spec(task, attempt_context(tmp_path))

    assert list(spec.argv) == [sys.executable, "-u", "-m", "headwater.entrypoints.notebook",
                               str(tmp_path / "nb.py")]
    assert spec.env["HEADWATER_WAREHOUSE_URL"] == "sqlite:///x.db"
    assert spec.env["HEADWATER_ATTEMPT_DIR"].endswith("attempt-0")





def test_an_ipynb_reads_widgets_sets_values_and_exits(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir, "silver", task_parameters={"table": "silver"},
                              task_values={"bronze": {"row_count": 3}})

    spec = NotebookRunner().launch_spec(notebook_task("lf_silver"), context)
    exit_ = run_attempt(spec)

    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["notebook_output"] == {"result": "silver=6", "truncated": False}
    assert values_of(context) == {"silver_rows": 6}
    assert context.attempt_dir is not None
    executed = (context.attempt_dir / "executed" / "lf_silver.ipynb").read_text()
    assert "silver: 3 upstream rows" in executed  # the output notebook keeps the outputs
    assert "never reached" in executed and "NotebookExit" not in executed
    # And its exit leaves no IPython noise, neither in the log nor in the kept notebook
    assert "To exit" not in log_of(context) and "Warning" not in log_of(context)
    assert "To exit" not in executed


def test_an_ipynb_whose_cells_have_no_ids_runs_without_a_warning(tmp_path: Path) -> None:
    # Given an nbformat 4.5 notebook without cell ids, as many tools write them
    workdir = tmp_path / "job"
    workdir.mkdir()
    cell = {"cell_type": "code", "metadata": {}, "source": "print('ran')", "outputs": [],
            "execution_count": None}
    (workdir / "plain.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "cells": [cell, cell], "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3"}}}))
    context = attempt_context(workdir)

    exit_ = run_attempt(NotebookRunner().launch_spec(notebook_task("plain.ipynb"), context))

    # Then it runs, its log holds its output and no warning, and its cells got ids
    log = log_of(context)
    assert exit_.exit_code == 0, log
    assert log.splitlines().count("ran") == 2 and "Warning" not in log
    assert context.attempt_dir is not None
    executed = json.loads((context.attempt_dir / "executed" / "plain.ipynb").read_text())
    ids = [c["id"] for c in executed["cells"]]
    assert len(set(ids)) == 2 and all(ids)


@pytest.mark.parametrize("name", ["uses_spark.ipynb", "uses_spark.py"])
def test_a_notebook_that_uses_spark_is_told_headwater_has_none(tmp_path: Path,
                                                               name: str) -> None:
    workdir = tmp_path / "job"
    workdir.mkdir()
    code = "df = spark.read.table('samples.trips')"
    if name.endswith(".py"):
        (workdir / name).write_text(f"# Databricks notebook source\n{code}\n")
    else:
        (workdir / name).write_text(json.dumps({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
                "id": "a", "cell_type": "code", "metadata": {}, "source": code,
                "outputs": [], "execution_count": None}]}))
    context = attempt_context(workdir)

    exit_ = run_attempt(NotebookRunner().launch_spec(notebook_task(name), context))

    assert exit_.exit_code == 1
    assert result_of(context)["error"] == (
        "RuntimeError: spark.read: headwater runs notebooks without Spark; use a %sql cell "
        "(DuckDB by default) or a Python library instead")


def test_an_ipynb_exception_names_the_cell(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir)

    assert run_attempt(NotebookRunner().launch_spec(notebook_task("lf_failing.ipynb"),
                                                    context)).exit_code == 1

    result = result_of(context)
    assert result["error"] == "ValueError: bad row"
    assert result["error_trace"].startswith("Error in cell 3 of lf_failing.ipynb:")
    assert "raise ValueError('bad row')" in result["error_trace"]
    assert context.attempt_dir is not None
    assert (context.attempt_dir / "executed" / "lf_failing.ipynb").exists()


def test_an_ipynb_sql_cell_fails_with_the_database_s_words_at_the_cell_s_line(
        tmp_path: Path) -> None:
    cells = ["x = 1", "%sql\nCREATE TABLE t AS SELECT 1 AS x;\nSELECT x,\n  y FROM t"]
    (tmp_path / "q.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
            "id": str(number), "cell_type": "code", "metadata": {}, "source": source,
            "outputs": [], "execution_count": None} for number, source in enumerate(cells)]}))
    context = attempt_context(tmp_path)

    exit_ = run_attempt(NotebookRunner(Warehouses(home=tmp_path / "home")).launch_spec(
        notebook_task("q.ipynb"), context))

    assert exit_.exit_code == 1
    result = result_of(context)
    # the statement and the line of the cell it starts on, y on the cell's fourth line
    assert result["error"].startswith("SqlProblem: statement 2 (line 3): "), result["error"]
    assert "LINE 4:   y FROM t" in result["error"], result["error"]
    trace = result["error_trace"]
    assert trace.startswith("Error in cell 2 of q.ipynb:\nSqlProblem: statement 2"), trace
    assert "headwater" not in trace.split("\n", 1)[1]  # none of headwater's own frames


def test_an_ipynb_traceback_numbers_cells_as_the_notebook_does(tmp_path: Path) -> None:
    cells = [("markdown", "# Checks"), ("code", "def f(x):\n    return 1 / x"),
             ("markdown", "Now the failing call"), ("code", "y = 2\nf(0)")]
    (tmp_path / "n.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"id": str(number), "cell_type": kind, "metadata": {}, "source": source,
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for number, (kind, source) in enumerate(cells)]}))
    context = attempt_context(tmp_path)

    assert run_attempt(NotebookRunner().launch_spec(notebook_task("n.ipynb"), context)
                       ).exit_code == 1

    trace = result_of(context)["error_trace"]
    # IPython says `Cell In[2]` (the second cell run): the notebook's cell 4, as the header
    assert trace.startswith("Error in cell 4 of n.ipynb:"), trace
    assert "Cell 4, line 2" in trace and "Cell 2, line 2, in f" in trace, trace
    assert "Cell In[" not in trace
