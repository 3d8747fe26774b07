"""Bundles and `jobs/create` bodies in the shapes Databricks users write them (issue 16).

Each folder of `bundles/` and each file of `jobs_create/` is one shape found in public bundles:
Databricks' bundle examples, the `databricks bundle init` templates and the Jobs API's own
request examples (see README.md for which and why they are re-written here rather than
copied). Every one is validated for every target it defines: a valid one is accepted, one that
needs Spark or a Databricks service is refused at the line that needs it, saying why. Those that
need neither run to SUCCESS.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import Cli

CORPUS = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    """One bundle (its folder under bundles/) or jobs/create body (a file under jobs_create/)."""

    name: str
    root: str = "databricks.yml"  # the file to load, inside the case's folder
    refused: tuple[str, ...] = ()  # the located problems validate reports, each a line's start
    options: tuple[str, ...] = ()  # command-line values the bundle asks for
    runs: dict[str, dict[str, str]] = field(default_factory=dict)  # job key -> task -> log text

    @property
    def folder(self) -> Path:
        return CORPUS / ("jobs_create" if self.name.endswith(".json") else "bundles") / (
            "" if self.name.endswith(".json") else self.name)


NEEDS = "is a Lakeflow task type headwater does not run: it needs"
RUN = {"": {}}  # the bundle's only job runs; no log text checked

CASES = [
    Case("default_python", runs={"": {
        "notebook_task": "catalog is dev",
        "python_file_task": ".trips: 2 trips"}}),
    Case("default_python_pipeline", refused=(
        f"resources/job.yml:7:11: tasks[0].pipeline_task: pipeline_task {NEEDS} a Lakeflow "
        "Declarative Pipeline",)),
    Case("default_sql", runs={"": {"orders_daily": "revenue"}}),
    Case("default_minimal"),
    Case("dbt_sql"),  # its profile is a Databricks SQL warehouse's: tests/e2e/test_dbt.py runs dbt
    Case("job_conditional_execution", runs={"": {"continue_pipeline": "handling good data"}}),
    Case("job_with_task_values", runs={"": {"consumer": "consumer got 42"}}),
    Case("job_with_for_each", runs=RUN),
    Case("job_with_run_job_tasks", runs={"primary": {}}),
    Case("job_with_sql_notebook", runs={"": {"notebook": "total"}}),
    Case("job_file_arrival", runs={"": {"process": "new files"}}),
    Case("job_table_update_trigger", runs={"": {"consume": "consumed"}}),
    Case("job_read_secret"),  # runs against a secret scope only a user's machine has
    Case("job_with_multiple_wheels"),  # its wheels build with the `build` package
    Case("serverless_job", runs={"": {"task": "hello from src"}}),
    Case("share_files_across_bundles", root="bundle/databricks.yml",
         runs={"": {"task": "shared code ran"}}),
    Case("path_leaves_bundle", root="bundle/databricks.yml", refused=(
        "databricks.yml:8:44: tasks[0].spark_python_task.python_file: '../shared/include_me.py' "
        "(relative to ",)),
    Case("spark_jar_task", refused=(
        f"databricks.yml:10:11: tasks[0].spark_jar_task: spark_jar_task {NEEDS} Spark",)),
    Case("target_includes", runs={"": {"process": "nightly"}}),
    Case("other_resources", runs={"": {"write": "would write to /Volumes/main/analytics/landing"}}),
    Case("lookup_variable", refused=(
        "databricks.yml:4:5: variables.warehouse_id.lookup: lookup is not supported by "
        "headwater",)),
    Case("dashboard_task", refused=(
        f"databricks.yml:10:11: tasks[0].dashboard_task: dashboard_task {NEEDS} a Databricks "
        "dashboard",)),
    Case("development_cluster", runs=RUN),
    Case("private_wheel_packages"),  # its packages come from a private index
    Case("mlops_stacks", runs={"": {"ModelValidation": "validated version 1"}}),
    Case("job_backfill_data", runs={"": {"insert": "next_day"}}),
    Case("typed_variables", options=("--var", "retries=1"), runs=RUN),
    Case("bracketed_references", runs={"": {"t": "['{{job.parameters.[input]}}', 'x']"}}),
    Case("pydabs", runs={"": {"notebook": "defined in Python"}}),
    Case("lakeflow_integrations"),  # its operators reach a Databricks workspace
    Case("sql_alert", refused=(
        "databricks.yml:10:13: tasks[0].sql_task.alert: sql_task.alert: a SQL alert lives in "
        "Databricks SQL",)),
    Case("notebook_job.json", root="notebook_job.json",
         runs={"": {"Match": "matched for John Doe"}}),
    Case("for_each_job.json", root="for_each_job.json", runs=RUN),
    Case("condition_job.json", root="condition_job.json",
         runs={"": {"publish": "ingested published"}}),
    Case("cluster_job.json", root="cluster_job.json", runs={"": {"ingest": "ingested clicks"}}),
    Case("spark_submit_job.json", root="spark_submit_job.json", refused=(
        f"spark_submit_job.json: $.tasks[0].spark_submit_task: spark_submit_task {NEEDS} Spark",)),
    Case("sql_query_job.json", root="sql_query_job.json", refused=(
        "sql_query_job.json: $.tasks[0].sql_task.query.query_id: query_id names a saved query "
        "of Databricks SQL",)),
]


def targets(case: Case) -> list[str | None]:
    """The targets the case's root file defines; [None] when it defines none."""
    path = case.folder / case.root
    data = yaml.safe_load(path.read_text()) if path.suffix == ".yml" else {}
    return list((data or {}).get("targets") or {}) or [None]


def copied(case: Case, tmp_path: Path) -> Path:
    """The case copied out of the source tree (a run writes state next to it): its root file."""
    if case.name.endswith(".json"):
        shutil.copytree(case.folder, tmp_path / "case")
    else:
        shutil.copytree(case.folder, tmp_path / "case" / case.name)
        return tmp_path / "case" / case.name / case.root
    return tmp_path / "case" / case.root


VALIDATIONS = [(case, target) for case in CASES for target in targets(case)]
RUNS = [(case, job) for case in CASES for job in case.runs]


def test_the_corpus_is_large_and_every_entry_has_a_case() -> None:
    found = {p.name for p in (CORPUS / "bundles").iterdir() if p.is_dir()}
    found |= {p.name for p in (CORPUS / "jobs_create").glob("*.json")}
    assert found == {case.name for case in CASES}
    assert len(found) >= 30


@pytest.mark.parametrize(("case", "target"), VALIDATIONS,
                         ids=[f"{c.name}-{t or 'default'}" for c, t in VALIDATIONS])
def test_each_is_accepted_or_refused_where_it_needs_what_headwater_lacks(
        hw: Cli, tmp_path: Path, case: Case, target: str | None) -> None:
    root = copied(case, tmp_path)
    chosen = ("--target", target) if target else ()
    result = hw("validate", root.name, *chosen, *case.options, cwd=root.parent)

    report = result.stdout + result.stderr
    if case.refused:
        assert result.returncode == 1, report
        lines = report.splitlines()
        for expected in case.refused:
            assert any(line.startswith(expected) for line in lines), (expected, report)
    else:
        assert result.returncode == 0, report
        assert "ok: " in result.stdout, report


@pytest.mark.parametrize(("case", "job"), RUNS, ids=[f"{c.name}-{j or 'job'}" for c, j in RUNS])
def test_those_that_need_no_spark_run_to_success(
        hw: Cli, tmp_path: Path, case: Case, job: str) -> None:
    root = copied(case, tmp_path)
    picked = ("--job", job) if job else ()
    result = hw("run", root.name, *picked, *case.options, cwd=root.parent, timeout=600)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ended SUCCESS" in result.stdout
    run_id = next(line.split()[1] for line in result.stdout.splitlines()
                  if line.startswith("Run ") and " started" in line)
    for task, text in case.runs[job].items():
        logs = hw("runs", "logs", run_id, task, check=True, cwd=root.parent).stdout
        assert text in logs, (task, logs)
