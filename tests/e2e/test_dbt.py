"""dbt tasks through the CLI, with real dbt (dbt-core, dbt-duckdb and dbt-postgres, installed in
the job's environment as a user's job installs them) on headwater's embedded DuckDB warehouse,
and on a PostgreSQL warehouse of headwater.yml when `HEADWATER_TEST_POSTGRES_URL` names one.

The tests share one job directory, so the environment is built once (about half a minute) and
reused by every test, as it is by every run of a job; each test has its own job and schema.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .conftest import Cli
from .test_run import run_id_of

DBT_ENVIRONMENT = {"environment_key": "dbt", "spec": {
    "client": "1", "dependencies": ["dbt-core>=1.8,<1.12", "dbt-duckdb>=1.8",
                                    "dbt-postgres>=1.8"]}}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A job directory with a dbt project: a seed, a model filtered by a var, two tests."""
    root = tmp_path_factory.mktemp("dbt")
    files = {
        "shop/dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\n",
        "shop/seeds/customers.csv": "id,name\n1,ada\n2,grace\n3,edsger\n",
        "shop/models/big_orders.sql": """\
            {{ config(materialized='table') }}
            select o.id, c.name, o.amount
            from {{ var('raw_schema', 'raw') }}.orders o
            join {{ ref('customers') }} c on c.id = o.customer_id
            where o.amount >= {{ var('min_amount') }}
            """,
        "shop/models/schema.yml": """\
            version: 2
            models:
              - name: big_orders
                columns:
                  - name: id
                    data_tests: [unique, not_null]
            """,
        "shop/profiles/profiles.yml": """\
            shop:
              target: dev
              outputs:
                local:
                  type: duckdb
                  path: local.duckdb
                  schema: mine
            """,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def write(root: Path, name: str, tasks: list[dict[str, Any]], **job: Any) -> Path:
    path = root / f"{name}.json"
    path.write_text(json.dumps({"name": name, "tasks": tasks,
                                "environments": [DBT_ENVIRONMENT], **job}))
    return path


def load(key: str, schema: str, values: str, *deps: str) -> dict[str, Any]:
    sql = (f"create schema if not exists {schema}; create or replace table {schema}.orders "
           f"(id integer, customer_id integer, amount integer); insert into {schema}.orders "
           f"values {values}")
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "sql_task": {"query": {"query_text": sql}}}


def dbt(key: str, *commands: str, deps: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    return {"task_key": key, "environment_key": "dbt", "max_retries": 0,
            "depends_on": [{"task_key": d} for d in deps],
            "dbt_task": {"project_directory": "shop", "commands": list(commands), **fields}}


def output_of(hw: Cli, run: int, key: str, cwd: Path) -> dict[str, Any]:
    task = next(t for t in run_document(hw, run, cwd)["tasks"] if t["task_key"] == key)
    document: dict[str, Any] = json.loads(
        hw("runs", "output", str(task["run_id"]), "--json", check=True, cwd=cwd).stdout)
    return document


def run_document(hw: Cli, run: int, cwd: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        hw("runs", "get", str(run), "--json", check=True, cwd=cwd).stdout)
    return document


def test_dbt_builds_models_that_the_next_task_reads(hw: Cli, shop: Path) -> None:
    # Given raw orders loaded by a SQL task, a dbt task that seeds and builds on them with a
    # var taken from a job parameter, and a SQL task reading what dbt built
    job = write(shop, "nightly", [
        {**load("load", "raw", "(1, 1, 5), (2, 2, 50), (3, 3, 500)")},
        dbt("transform", "dbt seed",
            "dbt build --vars '{min_amount: {{job.parameters.min_amount}}}'",
            deps=("load",), warehouse_id="embedded", schema="analytics"),
        {"task_key": "report", "depends_on": [{"task_key": "transform"}],
         "sql_task": {"query": {"query_text":
                                "select name, amount from analytics.big_orders order by id"}}},
    ], parameters=[{"name": "min_amount", "default": "10"}])

    # When it runs with min_amount 40
    result = hw("run", str(job), "--param", "min_amount=40", cwd=shop)

    # Then every task succeeded and the report read dbt's model, filtered by the parameter
    assert result.returncode == 0, result.stdout + result.stderr
    run = run_id_of(result.stdout)
    assert output_of(hw, run, "report", shop)["headwater"]["sql_output"]["rows"] == [
        ["grace", 50], ["edsger", 500]]
    # And the dbt task's output lists each command and what its nodes did
    commands = output_of(hw, run, "transform", shop)["headwater"]["dbt_output"]["commands"]
    assert [c["command"] for c in commands] == [
        "dbt seed", "dbt build --vars '{min_amount: 40}'"]
    assert all(c["success"] for c in commands)
    statuses = {n["unique_id"]: n["status"] for n in commands[1]["nodes"]}
    assert statuses["model.shop.big_orders"] == "success"
    assert statuses["seed.shop.customers"] == "success"
    assert sorted(s for u, s in statuses.items() if u.startswith("test.")) == ["pass", "pass"]
    assert commands[0]["nodes"][0]["rows_affected"] == 3
    # And its metrics were recorded, its artifacts kept in the attempt, not in the project
    metrics = hw("metrics", "nightly", cwd=shop, check=True).stdout
    assert "dbt_nodes_succeeded" in metrics and "dbt_rows_affected" in metrics
    attempts = list((shop / ".headwater" / "logs" / str(run) / "transform").glob("attempt-*"))
    assert len(attempts) == 1
    results = json.loads((attempts[0] / "dbt" / "target" / "run_results.json").read_text())
    assert {r["unique_id"] for r in results["results"]} == set(statuses)
    assert not (shop / "shop" / "target").exists()
    # And the tables dbt built are commits of the warehouse (what table triggers watch)
    commits = (shop / ".headwater" / "warehouse.duckdb.commits.jsonl").read_text()
    tables = [json.loads(line)["table"] for line in commits.splitlines()]
    assert "analytics.big_orders" in tables and "analytics.customers" in tables


def test_a_failing_dbt_test_fails_the_task_naming_the_test(hw: Cli, shop: Path) -> None:
    # Given orders with a duplicate id, which the model's `unique` test refuses
    job = write(shop, "dupes", [
        load("load", "raw", "(7, 1, 90), (7, 2, 90)"),
        dbt("transform", "dbt seed", "dbt build --vars '{min_amount: 0}'", "dbt docs generate",
            deps=("load",), warehouse_id="embedded", schema="dupes"),
    ])

    result = hw("run", str(job), cwd=shop)

    # Then the run fails at the dbt task, whose error names the command and the test
    assert result.returncode == 1, result.stdout + result.stderr
    run = run_id_of(result.stdout)
    output = output_of(hw, run, "transform", shop)
    assert output["metadata"]["state"]["result_state"] == "FAILED"
    assert output["error"].startswith("dbt command 2 of 3 failed: dbt build --vars "
                                      "'{min_amount: 0}': test.shop.unique_big_orders_id")
    assert " fail: " in output["error"]
    # And what ran is kept: the seed succeeded, the build failed, the third never ran
    commands = output["headwater"]["dbt_output"]["commands"]
    assert [c["success"] for c in commands] == [True, False]
    assert "dbt command 3" not in output["logs"]
    shown = hw("runs", "output", str(output["metadata"]["run_id"]), cwd=shop).stdout
    assert "dbt build --vars '{min_amount: 0}': FAILED in " in shown
    assert any(line.startswith("  test.shop.unique_big_orders_id.") and line.endswith(": fail")
               for line in shown.splitlines())


def test_a_projects_own_profile_and_target_are_used(hw: Cli, shop: Path) -> None:
    # Given a dbt task with its own profiles folder, whose `local` target is a DuckDB file of
    # the project's (relative paths are the project's, where dbt runs)
    job = write(shop, "own", [
        dbt("transform", "dbt seed --target local", profiles_directory="profiles"),
    ])

    result = hw("run", str(job), cwd=shop)

    # Then the seed went to that file and schema, not to headwater's warehouse
    assert result.returncode == 0, result.stdout + result.stderr
    with duckdb.connect(str(shop / "shop" / "local.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from mine.customers").fetchone() == (3,)
    with duckdb.connect(str(shop / ".headwater" / "warehouse.duckdb"),
                        read_only=True) as connection:
        schemas = {row[0] for row in connection.execute(
            "select schema_name from information_schema.schemata").fetchall()}
    assert "mine" not in schemas


def test_dbt_builds_models_on_a_postgresql_warehouse_of_headwater_yml(
        hw: Cli, shop: Path, postgres_schema: tuple[str, str, str]) -> None:
    url, password, schema = postgres_schema
    # Given headwater.yml naming a PostgreSQL warehouse, its password in the engine's
    # environment, and raw orders that a SQL task loads there
    config = shop / "postgres.yml"
    config.write_text(f'warehouses:\n  pg: {{url: "{url}", password_env: HW_PG_PASSWORD}}\n')
    job = write(shop, "on_postgres", [
        {"task_key": "load", "sql_task": {"warehouse_id": "pg", "query": {"query_text": (
            f"create table {schema}.orders (id integer, customer_id integer, amount integer);"
            f"insert into {schema}.orders values (1, 1, 5), (2, 2, 50), (3, 3, 500)")}}},
        dbt("transform", "dbt seed",
            f"dbt build --vars '{{min_amount: 40, raw_schema: {schema}}}'",
            deps=("load",), warehouse_id="pg", schema=schema),
        {"task_key": "report", "depends_on": [{"task_key": "transform"}],
         "sql_task": {"warehouse_id": "pg", "query": {"query_text":
                      f"select name, amount from {schema}.big_orders order by id"}}},
    ])

    # When it runs
    result = hw("run", str(job), cwd=shop,
                extra_env={"HEADWATER_CONFIG": str(config), "HW_PG_PASSWORD": password})

    # Then dbt built its seed and model in PostgreSQL (dbt-postgres, on the profile headwater
    # wrote), which the next SQL task read
    assert result.returncode == 0, result.stdout + result.stderr
    run = run_id_of(result.stdout)
    assert output_of(hw, run, "report", shop)["headwater"]["sql_output"]["rows"] == [
        ["grace", 50], ["edsger", 500]]
    statuses = {n["unique_id"]: n["status"] for n in output_of(
        hw, run, "transform", shop)["headwater"]["dbt_output"]["commands"][1]["nodes"]}
    assert statuses["model.shop.big_orders"] == "success"
    # And the tables the load and dbt wrote are commits of that warehouse (for table triggers)
    commits = (shop / ".headwater" / "warehouses" / "pg.commits.jsonl").read_text()
    tables = {json.loads(line)["table"] for line in commits.splitlines()}
    assert {f"{schema}.orders", f"{schema}.big_orders", f"{schema}.customers"} <= tables
    # And the password was written nowhere: not in the profile, the logs or dbt's artifacts
    written = [p for p in (shop / ".headwater" / "logs" / str(run)).rglob("*") if p.is_file()]
    assert written and not any(password.encode() in p.read_bytes() for p in written)
