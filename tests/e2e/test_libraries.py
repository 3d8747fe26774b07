"""A task's `libraries` installed as on a cluster: a bundle's wheel task with
`libraries: [{whl: ./dist/*.whl}]` runs unchanged, on this machine and on a job cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wheels import write_wheel

from .conftest import Cli
from .test_run import run_document, run_id_of

REPORT = """\
import sys, yaml, hw_lib
def main():
    print("args", sys.argv[1:])
    print("hw_lib from", hw_lib.__file__)
    print("yaml from", yaml.__file__)
"""
BUILDING = "headwater: building environment 'libraries'"
CLUSTER = "new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: i3.xlarge, num_workers: 1}"


def bundle(folder: Path, cluster: bool) -> Path:
    """A bundle whose wheel task needs its wheel (built into dist/ as a bundle's artifact
    would) and PyYAML, which the runtime already has; and a JVM library it cannot use."""
    write_wheel(folder / "dist", "hw-lib", {"hw_lib.py": REPORT})
    path = folder / "databricks.yml"
    path.write_text(f"""\
bundle: {{name: libraries}}
resources:
  jobs:
    wheel_job:
      name: wheel job
      tasks:
        - task_key: report
          python_wheel_task: {{package_name: hw_lib, entry_point: main, parameters: [one]}}
          {CLUSTER if cluster else ""}
          libraries:
            - whl: ./dist/*.whl
            - pypi: {{package: pyyaml}}
            - maven: {{coordinates: "org.example:thing:1.0"}}
""")
    return path


@pytest.mark.parametrize("cluster", [False, True], ids=["local", "job-cluster"])
def test_a_wheel_task_finds_its_wheel_library_on_top_of_the_runtime(
        hw: Cli, tmp_path: Path, cluster: bool) -> None:
    # Given a bundle whose wheel task lists its wheel and PyYAML as libraries
    path = bundle(tmp_path, cluster)

    # When it runs twice
    logs = []
    for _ in range(2):
        result = hw("run", path.name)
        assert result.returncode == 0, result.stdout + result.stderr
        run = run_id_of(result.stdout)
        logs.append(hw("runs", "logs", str(run), "report", check=True).stdout)
        assert run_document(hw, run)["state"]["result_state"] == "SUCCESS"

    # Then the wheel was installed into an environment of the task's (under the engine's
    # home, a cluster headwater started sharing it), once: the second run reused it
    envs = str(tmp_path / ".headwater" / "envs")
    for log in logs:
        assert "args ['one']" in log
        assert f"hw_lib from {envs}" in log
        # and PyYAML, which the runtime has, came from the runtime, not installed again
        assert "yaml from " in log and f"yaml from {envs}" not in log
    assert BUILDING in logs[0] and BUILDING not in logs[1]
    assert ("ran on worker" in logs[0]) == cluster


def test_a_wheel_rebuilt_under_the_same_version_runs_its_new_code(
        hw: Cli, tmp_path: Path) -> None:
    # Given a bundle's wheel task that ran once, its environment built
    path = bundle(tmp_path, cluster=False)
    first = hw("run", path.name)
    assert first.returncode == 0, first.stdout + first.stderr

    # When the wheel is built again with new code, its name and version unchanged
    write_wheel(tmp_path / "dist", "hw-lib",
                {"hw_lib.py": REPORT.replace("def main():", "def main():\n    print('v2')")})
    second = hw("run", path.name)

    # Then the next run installs it anew and runs the new code, as a deploy would
    assert second.returncode == 0, second.stdout + second.stderr
    log = hw("runs", "logs", str(run_id_of(second.stdout)), "report", check=True).stdout
    assert BUILDING in log and "v2" in log.splitlines(), log
