"""The commit log of the embedded warehouse: what table-update triggers watch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.entrypoints.sql import run_script, statements, written_table


@pytest.mark.parametrize(("sql", "table"), [
    ("INSERT INTO bronze.orders VALUES (1)", "bronze.orders"),
    ("insert or replace into t select 1", "t"),
    ('CREATE OR REPLACE TABLE bronze."Orders" AS SELECT 1', "bronze.Orders"),
    ("create table if not exists main.x (a int)", "main.x"),
    ("-- a comment first\nUPDATE s.t SET a = 1", "s.t"),
    ("DELETE FROM w.x WHERE true", "w.x"),
    ("DROP TABLE IF EXISTS a.b", "a.b"),
    ("COPY t FROM 'x.csv'", "t"),
    ("SELECT * FROM t", None),
    ("COPY t TO 'x.csv'", None),
    ("CREATE TEMP TABLE z AS SELECT 1", None),
    ("CREATE VIEW v AS SELECT 1", None),
])
def test_the_table_a_statement_writes(sql: str, table: str | None) -> None:
    assert written_table(statements(sql)[0]) == table


def test_writes_to_a_duckdb_file_are_logged_after_they_succeed(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{database}"

    run_script(url, "CREATE SCHEMA bronze; CREATE TABLE bronze.orders (id INT); "
                    "INSERT INTO bronze.orders VALUES (1), (2); SELECT count(*) FROM "
                    "bronze.orders", {})
    with pytest.raises(Exception, match="statement 1"):
        run_script(url, "INSERT INTO bronze.missing VALUES (1)", {})

    log = database.with_name("warehouse.duckdb.commits.jsonl").read_text().splitlines()
    assert [json.loads(line)["table"] for line in log] == ["bronze.orders", "bronze.orders"]


def test_writes_to_another_database_are_logged_where_the_engine_said_once_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "home" / "warehouses" / "lite.commits.jsonl"
    monkeypatch.setenv("HEADWATER_WAREHOUSE_COMMITS", str(log))
    url = f"sqlite:///{tmp_path / 'lite.db'}"

    run_script(url, "CREATE TABLE main.orders (id INT); INSERT INTO main.orders VALUES (1)", {})
    with pytest.raises(Exception, match="statement 2"):  # one transaction: nothing of it stays
        run_script(url, "INSERT INTO main.orders VALUES (2); INSERT INTO main.missing VALUES (1)",
                   {})

    assert [json.loads(line)["table"] for line in log.read_text().splitlines()] == [
        "main.orders", "main.orders"]
