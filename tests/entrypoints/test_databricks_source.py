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
    ("# MAGIC %run ./a $x=1", "%run takes exactly one notebook path"),
])
def test_what_cannot_run_is_refused_naming_the_cell(cell: str, message: str) -> None:
    text = f"# Databricks notebook source\nx = 1\n# COMMAND ----------\n{cell}\n"
    with pytest.raises(NotebookFormatError, match=message):
        parse_notebook(text, "nb.py")
