"""`headwater runs repair` as a user reads it: which tasks it reruns, and which settings."""

from __future__ import annotations

import shlex
from pathlib import Path

from .conftest import Cli, shell, write_job
from .test_run import run_document, run_id_of


def test_a_repair_of_one_task_names_the_tasks_downstream_it_reruns_too(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run where `load` failed, so `report` below it was skipped, and `side` succeeded
    flag = tmp_path / "fixed"
    job = write_job(tmp_path / "job.json", [
        shell("load", f"test -e {flag}"),
        shell("report", "true", "load"),
        shell("side", "true"),
        shell("after_side", "true", "side"),
    ])
    run_id = run_id_of(hw("run", str(job)).stdout)
    flag.touch()

    # When only `load` is named
    repaired = hw("runs", "repair", str(run_id), "--task", "load")

    # Then the first line says `report` reruns too, and why; the file had not changed
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.splitlines()[0].endswith(
        "rerunning load, and report (downstream, did not succeed)")
    assert "Warning" not in repaired.stderr

    # And with --rerun-dependents, the succeeded tasks below are named as well
    again = hw("runs", "repair", str(run_id), "--task", "side", "--rerun-dependents")
    assert again.stdout.splitlines()[0].endswith(
        "rerunning side, and after_side (downstream, with --rerun-dependents)")
    keys = {t["task_key"] for t in run_document(hw, run_id)["tasks"] if t.get("repair_number")}
    assert keys == {"load", "report", "side", "after_side"}


BUNDLE = """\
bundle: {name: shop}
targets:
  dev: {default: true}
resources:
  jobs:
    nightly:
      name: nightly
      tasks:
        - task_key: build
          spark_python_task: {python_file: buggy.py, parameters: ["v1"]}
"""


def test_a_repair_of_a_job_deployed_with_variables_says_nothing_of_its_unchanged_file(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run of a bundle deployed with a variable's value on the command line, which
    # failed, then the code (not the file) fixed
    (tmp_path / "databricks.yml").write_text(
        BUNDLE.replace('["v1"]', '["${var.level}"]').replace(
            "targets:", "variables:\n  level: {default: v1}\ntargets:"))
    code = tmp_path / "buggy.py"
    code.write_text("raise SystemExit('bug')\n")
    run_id = run_id_of(hw("run", "--var", "level=v3").stdout)
    code.write_text("import sys\nprint('fixed', sys.argv[1:])\n")

    # When the run is repaired, the file as it was deployed (only its variable's default
    # makes other settings)
    repaired = hw("runs", "repair", str(run_id), "--all-failed")

    # Then it runs the deployed settings without a warning
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Warning" not in repaired.stderr
    assert "fixed ['v3']" in hw("runs", "logs", str(run_id), "build", check=True).stdout


def test_a_repair_warns_when_the_job_file_differs_from_the_version_it_runs(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run that failed, after which both the code and the job file changed
    bundle = tmp_path / "databricks.yml"
    bundle.write_text(BUNDLE)
    code = tmp_path / "buggy.py"
    code.write_text("raise SystemExit('bug')\n")
    run_id = run_id_of(hw("run").stdout)
    bundle.write_text(BUNDLE.replace('["v1"]', '["v2"]'))
    code.write_text("import sys\nprint('fixed', sys.argv[1:])\n")

    # When the run is repaired
    repaired = hw("runs", "repair", str(run_id), "--all-failed")

    # Then it runs the new code with the deployed settings, and one line says so and what to do
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    (warning,) = [line for line in repaired.stderr.splitlines() if line.startswith("Warning")]
    reset = f"headwater jobs reset {bundle} --job nightly --target dev"
    assert warning == (
        f"Warning: {bundle} differs from version 1 of job 1, whose settings this repair runs "
        f"(with the code as it is on disk now); to repair with the file's settings, run "
        f"`{reset}` first, or ignore this if it is intended")
    output = hw("runs", "logs", str(run_id), "build", check=True).stdout
    assert "fixed ['v1']" in output

    # And once the job is reset as it says, a repair runs the file's settings, without a word
    hw(*shlex.split(reset)[1:], check=True)
    again = hw("runs", "repair", str(run_id), "--task", "build")
    assert again.returncode == 0 and "Warning" not in again.stderr
    assert "fixed ['v2']" in hw("runs", "logs", str(run_id), "build", check=True).stdout
