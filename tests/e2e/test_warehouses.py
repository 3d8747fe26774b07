"""A task's `warehouse_id` names a warehouse of headwater.yml, through the real CLI: a DuckDB
file elsewhere than the embedded one, and a real PostgreSQL database (when
`HEADWATER_TEST_POSTGRES_URL` names one, as in CI) whose password comes from the engine's
environment or a secret scope and is never written to argv, a log or a result.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import duckdb
import pytest

from .conftest import Cli, write_job
from .test_run import run_id_of

INJECTION = "x'); DROP TABLE t; --"
NOTEBOOK = """\
# Databricks notebook source
# MAGIC %sql
# MAGIC SELECT count(*) AS n FROM {table} WHERE name = :wanted

# COMMAND ----------
from headwater.runtime import sql
rows = sql("SELECT name FROM {table} ORDER BY id").rows
print("notebook read", [row[0] for row in rows])
"""


def sql(key: str, text: str, warehouse: str, *deps: str, **parameters: str) -> dict[str, object]:
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "sql_task": {"warehouse_id": warehouse, "query": {"query_text": text},
                         "parameters": parameters}}


def notebook(key: str, warehouse: str, *deps: str) -> dict[str, object]:
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "notebook_task": {"notebook_path": "read", "warehouse_id": warehouse,
                              "base_parameters": {"wanted": INJECTION}}}


def sql_output(hw: Cli, run: int, key: str) -> dict[str, object]:
    document = json.loads(hw("runs", "get", str(run), "--json", check=True).stdout)
    task = next(t for t in document["tasks"] if t["task_key"] == key)
    output = json.loads(hw("runs", "output", str(task["run_id"]), "--json", check=True).stdout)
    found: dict[str, object] = output["headwater"]["sql_output"]
    return found


def logs(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()
                     and p.suffix in (".log", ".json", ".jsonl", ".txt"))


def test_a_warehouse_id_runs_sql_and_notebooks_on_the_duckdb_file_headwater_yml_names(
        hw: Cli, tmp_path: Path) -> None:
    # Given headwater.yml naming a DuckDB file (relative to its folder) for warehouse "reporting"
    (tmp_path / "data").mkdir()
    (tmp_path / "headwater.yml").write_text(
        "warehouses:\n  reporting:\n    url: duckdb:///data/reporting.duckdb\n")
    (tmp_path / "read.py").write_text(NOTEBOOK.format(table="t"))
    job = write_job(tmp_path / "job.json", [
        sql("load", "CREATE TABLE t (id INTEGER, name VARCHAR);"
                    "INSERT INTO t VALUES (1, 'a'), (2, :name)", "reporting", name=INJECTION),
        notebook("read", "reporting", "load"),
        sql("count", "SELECT count(*) AS n FROM t", "reporting", "read"),
    ])

    # When the job runs
    result = hw("run", str(job))

    # Then every task ran on that file, not on the embedded warehouse
    assert result.returncode == 0, result.stdout + result.stderr
    run = run_id_of(result.stdout)
    assert sql_output(hw, run, "count")["rows"] == [[2]]
    with duckdb.connect(str(tmp_path / "data" / "reporting.duckdb")) as connection:
        assert connection.execute("SELECT name FROM t ORDER BY id").fetchall() == [
            ("a",), (INJECTION,)]
    embedded = tmp_path / ".headwater" / "warehouse.duckdb"
    assert not embedded.exists()
    # And the notebook's %sql cell bound its widget, its Python read the same table
    text = logs(tmp_path / ".headwater" / "logs" / str(run))
    assert "notebook read ['a', \"x'); DROP TABLE t; --\"]" in text
    # And each log says which warehouse ran the SQL
    assert f"warehouse_id 'reporting': duckdb:///{tmp_path / 'data' / 'reporting.duckdb'}" \
        in text
    # And the rows the load wrote are a metric of the job, with no code
    assert "sql_rows_affected" in hw("metrics", "e2e", check=True).stdout


def test_a_warehouse_whose_password_variable_is_not_set_fails_its_task_saying_so(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text(
        "warehouses:\n  pg:\n    url: postgresql+psycopg://etl@127.0.0.1:1/analytics\n"
        "    password_env: HW_TEST_PG_PASSWORD\n")
    job = write_job(tmp_path / "job.json", [sql("load", "SELECT 1", "pg")])

    result = hw("run", str(job))

    assert result.returncode != 0
    assert "The task could not start: warehouse 'pg': its password_env HW_TEST_PG_PASSWORD " \
        "is not set in the engine's environment" in result.stdout + result.stderr


@pytest.mark.parametrize(("entry", "message"), [
    ("url: postgresql://etl:hunter22@db/analytics",
     "warehouses.pg.url: Value error, the URL holds a password, which would then be stored in "
     "this file: remove it from the URL and name the variable holding it with password_env "
     "(or a secret with password_secret)"),
    ("url: nosuchdb://db/analytics",
     "warehouses.pg.url: Value error, SQLAlchemy has no dialect 'nosuchdb'"),
    ("url: duckdb:///x.duckdb\n    password_env: X",
     "warehouses.pg: Value error, a DuckDB file has no password"),
    ("url: postgresql://etl@db/a\n    password_secret: no-key",
     "warehouses.pg.password_secret: Value error, 'no-key' is not scope/key, like "
     "warehouse/etl_password"),
])
def test_a_wrong_warehouse_entry_is_refused_at_its_line_before_anything_runs(
        hw: Cli, tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "headwater.yml").write_text(f"warehouses:\n  pg:\n    {entry}\n")
    job = write_job(tmp_path / "job.json", [sql("load", "SELECT 1", "pg")])

    result = hw("run", str(job))

    assert result.returncode != 0
    assert f"{tmp_path / 'headwater.yml'}:" in result.stderr and message in result.stderr, \
        result.stderr
    assert "hunter22" not in result.stdout + result.stderr


def test_sql_and_notebook_tasks_run_on_a_postgresql_warehouse_without_showing_its_password(
        hw: Cli, tmp_path: Path, postgres_schema: tuple[str, str, str]) -> None:
    url, password, schema = postgres_schema
    # Given two warehouses on one PostgreSQL database: the password from the engine's
    # environment for one, from a secret scope for the other
    hw("secrets", "put-secret", "warehouse", "pg", "--string-value", password, check=True)
    (tmp_path / "headwater.yml").write_text(textwrap.dedent(f"""\
        warehouses:
          from_env: {{url: "{url}", password_env: HW_TEST_PG_PASSWORD}}
          from_secret: {{url: "{url}", password_secret: warehouse/pg}}
        """))
    table = f"{schema}.t"
    (tmp_path / "read.py").write_text(NOTEBOOK.format(table=table))
    job = write_job(tmp_path / "job.json", [
        sql("load", f"CREATE TABLE {table} (id INTEGER, name TEXT);"
                    f"INSERT INTO {table} VALUES (1, 'a'), (2, :name)", "from_env",
            name=INJECTION),
        notebook("read", "from_secret", "load"),
        sql("count", f"SELECT count(*) AS n, max(name) AS last FROM {table}", "from_secret",
            "read"),
    ])

    # When the job runs with the password in the engine's environment
    result = hw("run", str(job), extra_env={"HW_TEST_PG_PASSWORD": password})

    # Then the tasks wrote and read PostgreSQL, the injection payload staying data
    assert result.returncode == 0, result.stdout + result.stderr
    run = run_id_of(result.stdout)
    assert sql_output(hw, run, "count") == {"columns": ["n", "last"],
                                            "rows": [[2, INJECTION]], "truncated": False}
    text = logs(tmp_path / ".headwater" / "logs" / str(run))
    assert "notebook read ['a', \"x'); DROP TABLE t; --\"]" in text
    assert f"warehouse_id 'from_secret': {url}" in text
    # And the password is in no log, result or terminal output
    assert password not in text + result.stdout + result.stderr


def test_a_wrong_postgresql_password_fails_the_task_with_the_database_s_reason(
        hw: Cli, tmp_path: Path, postgres_schema: tuple[str, str, str]) -> None:
    url, _, _ = postgres_schema
    (tmp_path / "headwater.yml").write_text(
        f"warehouses:\n  pg: {{url: \"{url}\", password_env: HW_TEST_PG_PASSWORD}}\n")
    job = write_job(tmp_path / "job.json", [sql("load", "SELECT 1", "pg")])

    result = hw("run", str(job), extra_env={"HW_TEST_PG_PASSWORD": "not-the-password"})

    assert result.returncode != 0
    assert "password authentication failed" in result.stdout + result.stderr
    text = logs(tmp_path / ".headwater" / "logs")
    assert "not-the-password" not in text + result.stdout + result.stderr


def test_validate_notes_each_warehouse_id_that_headwater_yml_does_not_configure(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text(
        "warehouses:\n  reporting: {url: 'duckdb:///r.duckdb'}\n")
    job = write_job(tmp_path / "job.json", [
        sql("load", "SELECT 1", "reporting"),
        sql("copied", "SELECT 1", "a1b2c3d4e5f6a7b8"),
        {"task_key": "each", "for_each_task": {"inputs": "[1]", "task": {
            "task_key": "each_iteration", **{k: v for k, v in sql(
                "x", "SELECT 1", "a1b2c3d4e5f6a7b8").items() if k == "sql_task"}}}},
    ])

    result = hw("validate", str(job), check=True)

    assert "note: warehouse_id 'a1b2c3d4e5f6a7b8' (task 'copied', 'each') is not in " \
        "headwater.yml's warehouses: its SQL runs on the embedded warehouse" in result.stdout
    assert "'reporting'" not in result.stdout


def test_warehouses_list_and_check_say_which_answer_without_showing_a_password(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text(
        "warehouses:\n"
        "  reporting: {url: 'duckdb:///r.duckdb'}\n"
        f"  nowhere: {{url: 'sqlite:///{tmp_path}/missing/folder/x.db'}}\n"
        "  pg: {url: 'postgresql+psycopg://etl@127.0.0.1:9/analytics', password_env: PG_PW}\n")

    listed = hw("warehouses", "list", check=True).stdout
    checked = hw("warehouses", "check", "reporting", "nowhere", "pg",
                 extra_env={"PG_PW": "pw-never-shown"})
    unknown = hw("warehouses", "check", "reportng")

    assert f"(embedded)  duckdb:///{tmp_path / '.headwater' / 'warehouse.duckdb'}" in listed
    assert "pg  postgresql+psycopg://etl@127.0.0.1:9/analytics  (password from $PG_PW)" \
        in listed
    lines = checked.stdout.splitlines()
    assert checked.returncode == 1
    assert lines[0].startswith("reporting: ok (") and lines[0].endswith(
        f"ms): duckdb:///{tmp_path / 'r.duckdb'}")
    assert lines[1].startswith(f"nowhere: FAILED: sqlite:///{tmp_path}/missing/folder/x.db: "
                               "connecting to or committing on the warehouse: OperationalError")
    assert lines[2].startswith("pg: FAILED: postgresql+psycopg://etl@127.0.0.1:9/analytics: "
                               "connecting to or committing on the warehouse")
    assert "pw-never-shown" not in checked.stdout + checked.stderr
    assert unknown.returncode == 1
    assert "headwater.yml has no warehouse 'reportng' (did you mean 'reporting'?)" \
        in unknown.stderr


def test_warehouses_check_finds_a_wrong_postgresql_password_before_a_job_does(
        hw: Cli, tmp_path: Path, postgres_schema: tuple[str, str, str]) -> None:
    url, password, _ = postgres_schema
    (tmp_path / "headwater.yml").write_text(
        f"warehouses:\n  pg: {{url: \"{url}\", password_env: PG_PW}}\n")

    right = hw("warehouses", "check", "pg", extra_env={"PG_PW": password})
    wrong = hw("warehouses", "check", "pg", extra_env={"PG_PW": "not-it"})

    assert right.returncode == 0, right.stdout + right.stderr
    assert right.stdout.startswith("pg: ok (")
    assert wrong.returncode == 1 and "password authentication failed" in wrong.stdout
    assert password not in right.stdout + wrong.stdout
