"""DbtRunner: where a dbt task's project, profile and artifacts are, what its child is told,
and what the child says without dbt (a real child process). dbt itself runs in
tests/e2e/test_dbt.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from task_attempts import attempt_context, log_of, result_of, run_attempt

from headwater.core.spec import DbtTask, Task
from headwater.entrypoints.dbt import (
    NEEDS_DBT,
    DbtFailure,
    command_arguments,
    failure_details,
    failure_message,
    profile_text,
)
from headwater.errors import InvalidRequest
from headwater.runners import DbtRunner
from headwater.runners.dbt import ENTRY_MODULE
from headwater.runners.sql import Warehouse, Warehouses


def dbt_task(**fields: Any) -> Task:
    return Task(task_key="transform", dbt_task=DbtTask(**{"commands": ["dbt build"], **fields}))


def project(root: Path, name: str = "shop", profiles: bool = False) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(f"name: {name}\nprofile: {name}_profile\n")
    if profiles:
        (folder / "profiles.yml").write_text("shop_profile: {}\n")
    return folder


def child_spec(argv: list[str]) -> dict[str, Any]:
    assert argv[1:3] == ["-m", ENTRY_MODULE]
    spec: dict[str, Any] = json.loads(argv[3])
    return spec


def test_with_a_warehouse_the_child_is_told_where_the_models_go(tmp_path: Path) -> None:
    folder = project(tmp_path)
    context = attempt_context(tmp_path, "transform")
    runner = DbtRunner(Warehouses(home=tmp_path / "home"))

    spec = runner.launch_spec(dbt_task(project_directory="shop", warehouse_id="w",
                                       schema="analytics", catalog="main"), context)

    assert spec.cwd == folder
    assert spec.python
    assert child_spec(spec.argv) == {
        "commands": ["dbt build"], "project_dir": str(folder),
        "warehouse": {"url": f"duckdb:///{tmp_path / 'home' / 'warehouse.duckdb'}",
                      "schema": "analytics", "catalog": "main"},
        "artifacts_dir": str(context.attempt_dir / "dbt")}
    # the unknown warehouse id is said, as for a SQL task
    assert "warehouse_id 'w' is not configured" in spec.env["HEADWATER_WAREHOUSE_NOTICE"]


def test_a_configured_warehouse_is_the_one_the_profile_is_written_for(tmp_path: Path) -> None:
    project(tmp_path)
    runner = DbtRunner(Warehouses(by_id={"lake": Warehouse("duckdb:////data/lake.duckdb")}))

    spec = runner.launch_spec(dbt_task(project_directory="shop", warehouse_id="lake"),
                              attempt_context(tmp_path, "transform"))

    assert child_spec(spec.argv)["warehouse"]["url"] == "duckdb:////data/lake.duckdb"
    assert spec.env["HEADWATER_WAREHOUSE_NOTICE"] == "warehouse_id 'lake': duckdb:////data/lake.duckdb"


def test_without_a_warehouse_the_projects_own_profiles_are_used(tmp_path: Path) -> None:
    folder = project(tmp_path, profiles=True)
    runner = DbtRunner()

    spec = runner.launch_spec(dbt_task(project_directory="shop"),
                              attempt_context(tmp_path, "transform"))

    assert child_spec(spec.argv)["profiles_dir"] == str(folder)
    assert "warehouse" not in child_spec(spec.argv)


def test_profiles_directory_is_read_from_the_project(tmp_path: Path) -> None:
    folder = project(tmp_path)
    (folder / "dbt_profiles").mkdir()
    (folder / "dbt_profiles" / "profiles.yml").write_text("shop_profile: {}\n")

    spec = DbtRunner().launch_spec(dbt_task(project_directory="shop",
                                            profiles_directory="dbt_profiles/"),
                                   attempt_context(tmp_path, "transform"))

    assert child_spec(spec.argv)["profiles_dir"] == str(folder / "dbt_profiles")


def test_an_absolute_project_takes_its_profiles_directory_from_there(tmp_path: Path) -> None:
    # Given a project outside the job's folder, named by its absolute path (a job made
    # through the API names its files so)
    folder = project(tmp_path / "elsewhere")
    (folder / "profiles").mkdir()
    (folder / "profiles" / "profiles.yml").write_text("shop_profile: {}\n")
    (tmp_path / "job").mkdir()

    spec = DbtRunner().launch_spec(
        dbt_task(project_directory=str(folder), profiles_directory="profiles"),
        attempt_context(tmp_path / "job", "transform"))

    assert child_spec(spec.argv)["profiles_dir"] == str(folder / "profiles")


def test_the_job_directory_is_the_project_when_none_is_named(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\n")

    spec = DbtRunner(Warehouses(home=tmp_path)).launch_spec(
        dbt_task(warehouse_id="w"), attempt_context(tmp_path, "transform"))

    assert spec.cwd == tmp_path
    assert child_spec(spec.argv)["project_dir"] == str(tmp_path)


@pytest.mark.parametrize(("fields", "files", "message"), [
    ({"project_directory": "nowhere", "warehouse_id": "w"}, False,
     "project_directory 'nowhere' not found"),
    ({"project_directory": "../outside", "warehouse_id": "w"}, False,
     "leaves the job directory"),
    ({"project_directory": "empty", "warehouse_id": "w"}, False, "has no dbt_project.yml"),
    ({"project_directory": "shop"}, True, "the project"),
    ({"project_directory": "shop", "profiles_directory": "missing"}, True,
     "profiles_directory 'shop/missing' not found"),
])
def test_a_task_that_cannot_start_says_why(tmp_path: Path, fields: dict[str, str], files: bool,
                                           message: str) -> None:
    project(tmp_path)
    (tmp_path / "empty").mkdir()

    with pytest.raises(InvalidRequest) as raised:
        DbtRunner().launch_spec(dbt_task(**fields), attempt_context(tmp_path, "transform"))

    assert message in str(raised.value)
    if fields.get("project_directory") == "shop" and "profiles_directory" not in fields:
        assert "has no profiles.yml; set warehouse_id" in str(raised.value)


def test_without_dbt_installed_the_task_fails_saying_how_to_install_it(tmp_path: Path) -> None:
    # Given a dbt task run by an interpreter without dbt (the test's own)
    try:
        import dbt.cli.main  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.fail("dbt is installed in the test's interpreter; this test needs it absent")
    project(tmp_path)
    context = attempt_context(tmp_path, "transform")
    spec = DbtRunner(Warehouses(home=tmp_path)).launch_spec(
        dbt_task(project_directory="shop", warehouse_id="w"), context)

    exit_ = run_attempt(spec)

    # Then it fails, its error names what to install, and nothing ran
    assert exit_.exit_code == 1
    assert result_of(context)["error"].startswith(NEEDS_DBT)
    assert NEEDS_DBT in log_of(context)
    assert "dbt command 1" not in log_of(context)


def test_a_command_line_is_split_as_a_shell_would_without_one() -> None:
    assert command_arguments('dbt run --vars "{day: 2026-12-01, n: 1}" -s a+') == [
        "run", "--vars", "{day: 2026-12-01, n: 1}", "-s", "a+"]
    assert command_arguments("dbt run; rm -rf /") == ["run;", "rm", "-rf", "/"]
    with pytest.raises(DbtFailure, match="must start with `dbt`"):
        command_arguments("python -m dbt run")


def test_the_written_profile_serves_every_target_the_commands_select() -> None:
    text = profile_text("shop", {"url": "duckdb:////w/warehouse.duckdb", "schema": None},
                        ["dbt seed --target=dev", "dbt run -t prod", "dbt test"])

    profile = yaml.safe_load(text)["shop"]
    assert profile["target"] == "headwater"
    assert set(profile["outputs"]) == {"headwater", "dev", "prod"}
    assert profile["outputs"]["dev"] == {"type": "duckdb", "path": "/w/warehouse.duckdb",
                                         "schema": "main", "threads": 1}


def test_a_postgresql_warehouse_gets_a_dbt_postgres_profile_reading_its_password_variable(
        ) -> None:
    text = profile_text("shop", {"url": "postgresql+psycopg://etl%40corp@db.example.com:6432/"
                                        "analytics", "schema": "marts"}, ["dbt run"])

    assert yaml.safe_load(text)["shop"]["outputs"]["headwater"] == {
        "type": "postgres", "host": "db.example.com", "port": 6432, "user": "etl@corp",
        "dbname": "analytics", "schema": "marts", "threads": 1,
        "password": "{{ env_var('HEADWATER_WAREHOUSE_PASSWORD', '') }}"}


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h"])
def test_a_profile_is_written_only_for_duckdb_and_postgresql_with_a_database(url: str) -> None:
    with pytest.raises(DbtFailure, match="for DuckDB and PostgreSQL warehouses \\(with a "
                                         "database name\\) only, and this task's warehouse is "
                                         + url.split(":")[0]):
        profile_text("shop", {"url": url}, ["dbt run"])


def test_a_failure_names_the_command_and_each_failed_node_on_one_line() -> None:
    nodes = [
        {"unique_id": "model.shop.ok", "status": "success", "message": "OK"},
        {"unique_id": "model.shop.bad", "status": "error",
         "message": "Runtime Error in model bad (models/bad.sql)\n  Catalog Error: no table x\n"
                    "\n  LINE 1: select * from x"},
        {"unique_id": "test.shop.unique_id", "status": "fail", "message": "Got 2 results"},
    ]

    message = failure_message(2, 3, "dbt build", None, nodes)

    assert message == ("dbt command 2 of 3 failed: dbt build: model.shop.bad error: Runtime "
                       "Error in model bad (models/bad.sql): Catalog Error: no table x; "
                       "test.shop.unique_id fail: Got 2 results")


def test_a_profile_written_for_databricks_fails_saying_what_to_use_instead() -> None:
    class Result:  # what dbtRunner returns when dbt cannot parse the project
        exception = RuntimeError("Parsing Error\n  Env var required but not provided: 'DBT_HOST'")

    message = failure_message(1, 2, "dbt run --target=dev", Result(), [])

    assert message.startswith("dbt command 1 of 2 failed: dbt run --target=dev: RuntimeError: "
                              "Parsing Error")
    assert message.endswith("Databricks sets DBT_HOST and DBT_ACCESS_TOKEN for its SQL "
                            "warehouse, which headwater does not have: run on headwater's "
                            "warehouse with warehouse_id, or add a duckdb target to the profile")


def test_the_trace_of_a_dbt_failure_is_dbts_whole_reason_not_a_python_traceback() -> None:
    nodes = [{"unique_id": "model.shop.bad", "status": "error",
              "message": "Runtime Error in model bad\n  Catalog Error: no table x"},
             {"unique_id": "model.shop.ok", "status": "success", "message": "OK"}]

    assert failure_details(None, nodes) == (
        "model.shop.bad error:\nRuntime Error in model bad\n  Catalog Error: no table x")

    class Result:
        exception = RuntimeError("Could not find profile named 'shop'")

    assert failure_details(Result(), []) == "RuntimeError: Could not find profile named 'shop'"
