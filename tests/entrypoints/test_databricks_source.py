"""The source-format converter: cells, magics, titles, and file line numbers."""

from __future__ import annotations

import pytest

from headwater.entrypoints.databricks_source import (
    Cell,
    CellKind,
    NotebookFormatError,
    parse_notebook,
)

SOURCE = """\
# Databricks notebook source
# MAGIC %md
# MAGIC # Title

# COMMAND ----------

# DBTITLE 1,Load
x = 1

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT :x
# MAGIC   AS y

# COMMAND ----------

# MAGIC %run "./lib/common setup"

# COMMAND ----------

# MAGIC %sh echo hi
"""


def test_cells_are_split_and_classified_with_their_file_lines() -> None:
    assert parse_notebook(SOURCE, "nb.py") == [
        Cell(1, CellKind.MARKDOWN, "\n# Title", 2),
        Cell(2, CellKind.PYTHON, "x = 1", 8),
        Cell(3, CellKind.SQL, "\nSELECT :x\n  AS y", 12),
        Cell(4, CellKind.RUN, "./lib/common setup", 18),
        Cell(5, CellKind.SHELL, "echo hi", 22),
    ]


def test_a_file_without_the_header_is_one_python_cell() -> None:
    assert parse_notebook("print(1)\n") == [Cell(1, CellKind.PYTHON, "print(1)\n", 1)]


@pytest.mark.parametrize(("cell", "message"), [
    ("# MAGIC %pip install pandas", "cell 2 of nb.py: %pip is not supported"),
    ("# MAGIC %scala\n# MAGIC 1", "cell 2 of nb.py: %scala is not supported"),
])
def test_what_cannot_run_is_refused_naming_the_cell(cell: str, message: str) -> None:
    text = f"# Databricks notebook source\nx = 1\n# COMMAND ----------\n{cell}\n"
    with pytest.raises(NotebookFormatError, match=message):
        parse_notebook(text, "nb.py")


@pytest.mark.parametrize(("written", "path", "arguments"), [
    ('./helper $greeting="hi there"', "./helper", {"greeting": "hi there"}),
    ("./helper $greeting=hi $n=3", "./helper", {"greeting": "hi", "n": "3"}),
    ("'./lib/my helper' '$who=a b' $empty=", "./lib/my helper", {"who": "a b", "empty": ""}),
    ('./helper $q="it\'s $x=1"', "./helper", {"q": "it's $x=1"}),
])
def test_run_arguments_are_the_widgets_of_the_included_notebook(
        written: str, path: str, arguments: dict[str, str]) -> None:
    text = f"# Databricks notebook source\nx = 1\n# COMMAND ----------\n# MAGIC %run {written}\n"

    assert parse_notebook(text, "nb.py")[1] == Cell(2, CellKind.RUN, path, 4, arguments)


@pytest.mark.parametrize(("cell", "message"), [
    ("# MAGIC %run", "cell 2 of nb.py, line 5: %run: give the path of the notebook"),
    ("# MAGIC %run ./a x=1", "cell 2 of nb.py, line 5: %run ./a x=1: 'x=1' is not an "
                            "argument; after the notebook path, write each as \\$name=value"),
    ("# MAGIC %run ./a $=1", "'\\$=1' is not an argument"),
    ('# MAGIC %run ./a $x="1', "line 5: %run ./a \\$x=\"1: No closing quotation"),
    ("# MAGIC %run ./a\n# MAGIC $x=1", "line 5: %run ./a: %run must be alone in its cell, its "
                                      "arguments on its line; move '\\$x=1'"),
])
def test_a_malformed_run_is_refused_naming_the_cell_and_line(cell: str, message: str) -> None:
    text = f"# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n{cell}\n"
    with pytest.raises(NotebookFormatError, match=message):
        parse_notebook(text, "nb.py")
