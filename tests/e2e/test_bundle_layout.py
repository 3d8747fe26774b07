"""The layout `databricks bundle init` makes, run unchanged (issue 16): jobs in `resources/`
pointing at `../src/`, a wheel built from the bundle's `artifacts:` before the run, each task
in the folder of its own file."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from .conftest import Cli
from .test_run import run_document, run_id_of


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def standard_bundle(root: Path, build: str) -> Path:
    write(root, "databricks.yml", f"""
        bundle: {{name: my_project}}
        include: [resources/*.yml]
        artifacts:
          python_artifact:
            type: whl
            build: {build}
        targets:
          dev: {{mode: development, default: true}}
          prod: {{mode: production}}
        """)
    write(root, "resources/my_project.job.yml", """
        resources:
          jobs:
            my_project_job:
              name: my_project_job
              tasks:
                - task_key: script
                  spark_python_task: {python_file: ../src/script.py}
                - task_key: notebook
                  depends_on: [{task_key: script}]
                  notebook_task: {notebook_path: ../src/notebook}
                - task_key: wheel
                  depends_on: [{task_key: notebook}]
                  environment_key: default
                  python_wheel_task: {package_name: my_project, entry_point: main}
              environments:
                - environment_key: default
                  spec: {client: "2", dependencies: ["../dist/*.whl"]}
        """)
    write(root, "pyproject.toml", """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "my_project"
        version = "0.1.0"
        [project.scripts]
        main = "my_project.main:main"
        [tool.setuptools.packages.find]
        where = ["src"]
        """)
    write(root, "src/my_project/__init__.py", "")
    write(root, "src/my_project/main.py", """
        def main():
            print("wheel entry point ran")
        """)
    # code that reads a file and imports a module next to itself, as on Databricks
    write(root, "src/rows.csv", "a\nb\nc\n")
    write(root, "src/helpers.py", "def count(path):\n    return len(open(path).read().split())\n")
    write(root, "src/script.py", """
        import os
        import helpers
        print(f"script in {os.getcwd()} counted {helpers.count('rows.csv')}")
        """)
    write(root, "src/notebook.py", """
        # Databricks notebook source
        import os
        print(f"notebook in {os.getcwd()} read {open('rows.csv').read().split()}")
        """)
    return root / "databricks.yml"


def test_the_standard_layout_builds_its_wheel_and_runs_each_task_next_to_its_file(
        hw: Cli, tmp_path: Path) -> None:
    bundle = standard_bundle(tmp_path / "my_project",
                             f"{sys.executable} -m pip wheel --no-deps -w dist .")

    result = hw("run", str(bundle), timeout=600)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Building artifact 'python_artifact'" in result.stderr
    assert list((tmp_path / "my_project" / "dist").glob("my_project-0.1.0-*.whl"))
    run = run_id_of(result.stdout)
    assert run_document(hw, run)["state"]["result_state"] == "SUCCESS"
    src = tmp_path / "my_project" / "src"
    logs = {key: hw("runs", "logs", str(run), key, check=True).stdout
            for key in ("script", "notebook", "wheel")}
    assert f"script in {src} counted 3" in logs["script"]
    assert f"notebook in {src} read ['a', 'b', 'c']" in logs["notebook"]
    assert "wheel entry point ran" in logs["wheel"]


def test_a_failing_artifact_build_stops_the_deploy_before_any_job_changes(
        hw: Cli, tmp_path: Path) -> None:
    bundle = standard_bundle(tmp_path / "p", '"echo no compiler here >&2; exit 3"')

    result = hw("deploy", str(bundle))

    assert result.returncode != 0
    assert ("artifact 'python_artifact': the build 'echo no compiler here >&2; exit 3' exited "
            "with code 3") in result.stderr
    assert "no compiler here" in result.stderr
    assert "my_project_job" not in hw("jobs", "list", check=True).stdout


def test_a_wheel_artifact_without_a_build_runs_the_clis_default(hw: Cli, tmp_path: Path) -> None:
    # As the Databricks CLI: `python setup.py bdist_wheel` in the artifact's folder
    bundle = standard_bundle(tmp_path / "p", "''")
    text = bundle.read_text().replace("    build: ''\n", "")
    bundle.write_text(text)
    write(tmp_path / "p", "setup.py", """
        import pathlib, sys
        pathlib.Path("built-with.txt").write_text(" ".join(sys.argv[1:]))
        """)

    hw("validate", str(bundle), check=True)  # validate builds nothing
    assert not (tmp_path / "p" / "built-with.txt").exists()
    hw("deploy", str(bundle), check=True)
    assert (tmp_path / "p" / "built-with.txt").read_text() == "bdist_wheel"


def test_a_bundle_whose_includes_hold_no_job_says_so(hw: Cli, tmp_path: Path) -> None:
    # As `databricks bundle init default-minimal` makes it: resources/ holds no job yet
    write(tmp_path, "databricks.yml", """
        bundle: {name: minimal}
        include: [resources/*.yml]
        """)
    (tmp_path / "resources").mkdir()

    result = hw("run", "databricks.yml")

    assert result.returncode == 2
    assert ("databricks.yml defines no job: neither it nor a file its `include:` lists has "
            "one under resources.jobs; add a job there") in result.stderr
