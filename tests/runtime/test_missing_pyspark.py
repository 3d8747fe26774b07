"""The import of pyspark where there is none (`MissingPyspark`, put on `sys.meta_path` by the
task's `sitecustomize`): it says why and what to use, and changes nothing else. Each case runs
in a child interpreter started as a task's is (the shims first on its `PYTHONPATH`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from headwater.runners.environment import SHIMS
from headwater.runtime.shims.sitecustomize import WITHOUT_SPARK

EXPLAINED = f"No module named 'pyspark': {WITHOUT_SPARK}"


def _task_python(code: str, tmp_path: Path, *path: Path) -> subprocess.CompletedProcess[str]:
    python_path = os.pathsep.join([str(SHIMS), *map(str, path)])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, env={**os.environ, "PYTHONPATH": python_path},
                          check=False)


def test_an_import_of_pyspark_says_headwater_runs_without_spark(tmp_path: Path) -> None:
    result = _task_python(
        "import importlib\n"
        "for load in (lambda: importlib.import_module('pyspark.sql.functions'),\n"
        "             lambda: __import__('pyspark')):\n"
        "    try:\n"
        "        load()\n"
        "    except ImportError as error:\n"
        "        print(type(error).__name__, error.name, '|', error)\n", tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"ModuleNotFoundError pyspark | {EXPLAINED}"] * 2


def test_a_probe_and_other_missing_modules_are_answered_as_python_answers_them(
        tmp_path: Path) -> None:
    # Libraries probe for their optional dependencies with find_spec: it must stay None
    result = _task_python(
        "import importlib.util\n"
        "print(importlib.util.find_spec('pyspark'))\n"
        "try:\n"
        "    import pysparkling\n"
        "except ImportError as error:\n"
        "    print(error)\n", tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["None", "No module named 'pysparkling'"]


def test_an_installed_pyspark_imports_as_ever(tmp_path: Path) -> None:
    # Given a pyspark on the path after the shims, and one that only a finder put after
    # MissingPyspark can find (an editable install's finder is appended so)
    installed = tmp_path / "site"
    (installed / "pyspark" / "sql").mkdir(parents=True)
    (installed / "pyspark" / "__init__.py").write_text("KIND = 'installed'\n")
    (installed / "pyspark" / "sql" / "__init__.py").write_text("")
    (installed / "pyspark" / "sql" / "functions.py").write_text("def col(name): return name\n")
    elsewhere = tmp_path / "editable"
    (elsewhere / "pyspark").mkdir(parents=True)
    (elsewhere / "pyspark" / "__init__.py").write_text("KIND = 'editable'\n")

    on_the_path = _task_python("from pyspark.sql import functions as F\nimport pyspark\n"
                               "print(pyspark.KIND, F.col('a'))", tmp_path, installed)
    by_a_later_finder = _task_python(
        "import sys, importlib.machinery\n"
        "class Editable:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        return importlib.machinery.PathFinder.find_spec(name, [{str(elsewhere)!r}])\n"
        "sys.meta_path.append(Editable())\n"
        "import pyspark\n"
        "print(pyspark.KIND, [type(f).__name__ for f in sys.meta_path][-2:])", tmp_path)

    # Then each is imported, by the finder that found it
    assert on_the_path.stdout == "installed a\n", on_the_path.stderr
    assert by_a_later_finder.stdout == "editable ['MissingPyspark', 'Editable']\n", \
        by_a_later_finder.stderr


def test_one_finder_is_enough_and_importing_the_shim_as_a_module_changes_nothing(
        tmp_path: Path) -> None:
    # The notebook entry points import the shim (for its finder) where it already ran
    code = ("import builtins, sys\n"
            "had = hasattr(builtins, 'dbutils')\n"
            "from headwater.entrypoints.ipynb_cells import notebook_globals\n"
            "names = sorted(notebook_globals())\n"
            "names_of = [type(f).__name__ for f in sys.meta_path]\n"
            "finders = {names_of.count(n) for n in ('MissingPyspark', 'SdkRuntime', 'SdkParents')}\n"
            "print(had, hasattr(builtins, 'dbutils'), names, finders)\n")
    started_as_a_task = _task_python(code, tmp_path)
    started_plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   cwd=tmp_path, timeout=60, check=False)

    expected = "['dbutils', 'display', 'displayHTML', 'getArgument', 'spark'] {1}\n"
    assert started_as_a_task.stdout == f"True True {expected}", started_as_a_task.stderr
    assert started_plain.stdout == f"False False {expected}", started_plain.stderr
