"""The children's entry points start fast: they load neither the job models nor the store."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["notebook", "sql", "operator", "wheel", "environment"])
def test_an_entry_point_loads_nothing_heavy(module: str) -> None:
    code = (f"import sys, headwater.entrypoints.{module}\n"
            "heavy = ('pydantic', 'sqlalchemy', 'yaml', 'duckdb', 'nbclient', 'headwater.engine',"
            " 'headwater.store', 'headwater.core.spec')\n"
            "print([m for m in sys.modules if m in heavy or m.split('.')[0] in heavy])\n")

    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)

    assert finished.stdout.strip() == "[]"
