"""`databricks.sdk.runtime` in a task's Python (`SdkRuntime` and `SdkParents`, which the task's
`sitecustomize` puts on `sys.meta_path`): headwater's `dbutils`, `display`, `getArgument` and
`spark`, by name and under `import *`, whether the interpreter has the databricks-sdk (whose
other modules stay its own) or not (where nothing else pretends the SDK is installed). Each
case runs in a child interpreter started as a task's is (the shims first on its PYTHONPATH):
this test's own, which has the SDK, and a clean venv with only headwater linked in, as a task
environment is."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from headwater.entrypoints.environment import link_headwater
from headwater.runners.environment import SHIMS

READS_THE_RUNTIME = """\
import sys
print("made at start:", "databricks.sdk.runtime" in sys.modules)
from databricks.sdk.runtime import dbutils, display, getArgument, spark
import headwater.runtime
star = {}
exec("from databricks.sdk.runtime import *", star)
import databricks.sdk.runtime
print("ours:", dbutils is headwater.runtime.dbutils is databricks.sdk.runtime.dbutils)
print("star:", sorted(name for name in star if name != "__builtins__"))
print("widget:", getArgument("missing", "fallback"))
try:
    spark.read
except RuntimeError as error:
    print("spark:", error)
"""
SAID = ["made at start: False", "ours: True",
        "star: ['dbutils', 'display', 'displayHTML', 'getArgument', 'spark']",
        "widget: fallback",
        "spark: spark.read: headwater runs notebooks without Spark; use a %sql cell (DuckDB by "
        "default) or a Python library instead"]
# A host that is not there: the SDK's probe of its metadata gives up after a second
NOWHERE = "host='http://127.0.0.1:9', retry_timeout_seconds=1"


@pytest.fixture(scope="module")
def without_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a clean venv with headwater linked in, as a task environment has it."""
    directory = tmp_path_factory.mktemp("env")
    venv.create(directory, with_pip=False)
    link_headwater(directory)
    return directory / "bin" / "python"


def _task_python(python: Path | str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(SHIMS)}
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env=environment, check=False)


def test_with_the_sdk_installed_the_runtime_is_headwaters_and_the_rest_the_sdks(
        tmp_path: Path) -> None:
    result = _task_python(sys.executable, READS_THE_RUNTIME + (
        "import databricks.sdk, databricks.sdk.runtime.dbutils_stub\n"
        "from databricks.sdk import WorkspaceClient\n"
        "from databricks.sdk.config import Config\n"
        "print('sdk:', databricks.sdk.__file__.endswith('site-packages/databricks/sdk/__init__.py'),"
        " hasattr(databricks.sdk.runtime.dbutils_stub, 'dbutils'))\n"
        f"w = WorkspaceClient(config=Config({NOWHERE}, token='unused'))\n"
        "print('w.dbutils:', w.dbutils is dbutils)\n"), tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [*SAID, "sdk: True True", "w.dbutils: True"]


def test_without_the_sdk_the_runtime_is_headwaters_and_nothing_else_is_there(
        tmp_path: Path, without_sdk: Path) -> None:
    # Given an interpreter without the SDK: a probe, and a plain import, say it is missing
    probes = ("import importlib.util\n"
              "print('probe:', importlib.util.find_spec('databricks'))\n"
              "try:\n"
              "    import databricks.sdk\n"
              "except ModuleNotFoundError as error:\n"
              "    print('import:', error)\n")
    after = ("try:\n"
             "    from databricks.sdk import WorkspaceClient\n"
             "except ImportError:\n"
             "    print('no WorkspaceClient')\n")

    result = _task_python(without_sdk, probes + READS_THE_RUNTIME + after, tmp_path)

    # Then the runtime is headwater's all the same, and the SDK's clients are not there
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "probe: None", "import: No module named 'databricks'", *SAID, "no WorkspaceClient"]


def test_code_that_sets_databricks_runtime_version_gets_the_sdks_usual_authentication(
        tmp_path: Path) -> None:
    # Given a task that sets DATABRICKS_RUNTIME_VERSION, as code that tests for Databricks may,
    # and no credentials: the SDK then asks databricks.sdk.runtime for a cluster's
    result = _task_python(sys.executable, (
        "import os\n"
        "os.environ['DATABRICKS_RUNTIME_VERSION'] = '15.4'\n"
        "for name in [n for n in os.environ if n.startswith('DATABRICKS_') and 'RUNTIME' not in n]:\n"
        "    del os.environ[name]\n"
        "from databricks.sdk import WorkspaceClient\n"
        "from databricks.sdk.config import Config\n"
        "try:\n"
        f"    WorkspaceClient(config=Config({NOWHERE}))\n"
        "except ValueError as error:\n"
        "    print(error)\n"), tmp_path)

    # Then it finds none there, and says what it says off a cluster
    assert result.returncode == 0, result.stderr
    assert "default auth: cannot configure default credentials" in result.stdout
    assert "cannot import" not in result.stdout
