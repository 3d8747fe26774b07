"""SqlRunner against real child processes and a real DuckDB file (and SQLite through
SQLAlchemy): bound `:name` parameters, injection payloads that stay data, `sql_output`."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import duckdb
import pytest
from task_attempts import attempt_context, log_of, result_of, run_attempt

from headwater.core.spec import SqlFile, SqlQuery, SqlTask, Task
from headwater.entrypoints.sql import MAX_OUTPUT_ROWS, Table, bind, statements, table_output
from headwater.errors import InvalidRequest
from headwater.runners import SqlRunner
from headwater.runners.sql import Warehouse, Warehouses

INJECTION = "1; DROP TABLE t; --"
SETUP = ("CREATE TABLE IF NOT EXISTS t (id INTEGER, name VARCHAR);"
         "INSERT INTO t VALUES (1, 'one'), (2, 'two');")


def sql_task(query: str | None = None, file: str | None = None, warehouse_id: str | None = None,
             **parameters: str) -> Task:
    settings = SqlTask(query=SqlQuery(query_text=query) if query else None,
                       file=SqlFile(path=file) if file else None,
                       parameters=parameters, warehouse_id=warehouse_id)
    return Task(task_key="report", sql_task=settings)


def test_a_bound_parameter_selects_rows_and_the_result_is_kept(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    task = sql_task(SETUP + "SELECT id, name FROM t WHERE id >= :min_id ORDER BY id", min_id="2")

    exit_ = run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["sql_output"] == {
        "columns": ["id", "name"], "rows": [[2, "two"]], "truncated": False}


def test_an_injection_payload_stays_data(tmp_path: Path) -> None:
    # Given a table, and a parameter that would drop it if spliced into the text
    context = attempt_context(tmp_path, "report")
    task = sql_task(SETUP + "SELECT count(*) AS n, :name AS echoed FROM t WHERE name = :name",
                    name=INJECTION)

    exit_ = run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context))

    # Then it is compared and echoed as one string, and the table is still there
    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["sql_output"]["rows"] == [[0, INJECTION]]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        assert connection.execute("SELECT count(*) FROM t").fetchall() == [(2,)]


def test_a_file_written_as_databricks_templates_write_them_binds_its_braces(
        tmp_path: Path) -> None:
    # Given a SQL file with `{{name}}` parameters, as the default-sql bundle template's
    (tmp_path / "report.sql").write_text(
        SETUP + "SELECT id, name, {{ bundle_target }} = 'prod' AS in_prod FROM t\n"
        "WHERE name = {{name}} OR name = {{name}};\n")
    context = attempt_context(tmp_path, "report")
    task = sql_task(file="report.sql", name=INJECTION.replace("1", "two"),
                    bundle_target="dev")

    exit_ = run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context))

    # Then each is bound as a string, like `:name` (a payload stays data)
    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["sql_output"]["rows"] == []
    again = attempt_context(tmp_path / "again", "report")
    task = sql_task(file=str(tmp_path / "report.sql"), name="two", bundle_target="dev")
    exit_ = run_attempt(SqlRunner(Warehouses(home=tmp_path / "again")).launch_spec(task, again))
    assert exit_.exit_code == 0, log_of(again)
    assert result_of(again)["sql_output"]["rows"] == [[2, "two", False]]


def test_a_file_runs_with_parameters_on_a_configured_sqlalchemy_warehouse(tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "load.sql").write_text(
        "-- a comment with :not_a_marker\n"
        "CREATE TABLE t (name TEXT);\n"
        "INSERT INTO t VALUES (:name);\n"
        "SELECT name, ':literal' AS kept FROM t;\n")
    context = attempt_context(tmp_path, "report")
    warehouses = Warehouses(by_id={"lite": Warehouse(f"sqlite:///{tmp_path / 'lite.db'}")})
    task = sql_task(file="queries/load.sql", warehouse_id="lite", name=INJECTION)

    exit_ = run_attempt(SqlRunner(warehouses).launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert f"warehouse_id 'lite': sqlite:///{tmp_path / 'lite.db'}" in log_of(context)
    assert result_of(context)["sql_output"]["rows"] == [[INJECTION, ":literal"]]
    with sqlite3.connect(tmp_path / "lite.db") as connection:
        assert connection.execute("SELECT name FROM t").fetchall() == [(INJECTION,)]


def test_an_unknown_warehouse_id_runs_on_the_embedded_one_and_says_so(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    task = sql_task("SELECT 42 AS answer", warehouse_id="abc123def")

    exit_ = run_attempt(SqlRunner(Warehouses()).launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert "warehouse_id 'abc123def' is not configured" in log_of(context)
    assert (tmp_path / ".headwater" / "warehouse.duckdb").exists()


def test_a_marker_without_a_value_fails_before_anything_runs(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    task = sql_task("CREATE TABLE made (x INT); SELECT :missing", other="1")

    assert run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context)
                       ).exit_code == 1

    assert result_of(context)["error"] == ("statement 2 (line 1): parameter :missing has no "
                                           "value (parameters given: other)")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        tables = connection.execute("SELECT table_name FROM information_schema.tables")
        assert tables.fetchall() == []


def test_a_database_error_names_the_statement_and_its_line_in_the_file(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    (tmp_path / "report.sql").write_text(
        "-- a comment\nCREATE TABLE t AS SELECT 1 AS x;\n\n/* the rows */\nSELECT x,\n"
        "       y\nFROM t;\n")

    assert run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(
        sql_task(file="report.sql"), context)).exit_code == 1

    result = result_of(context)
    # the file, the statement and the line its first word is on, the database's words with
    # their `LINE n` counted in the file (y is on line 6), and no trace of headwater's code
    assert result["error"].startswith(
        "report.sql: statement 2 (line 5): BinderException: "), result["error"]
    assert "LINE 6:        y" in result["error"], result["error"]
    assert "error_trace" not in result


def test_the_launch_is_argv_only_with_the_warehouse_in_the_environment(tmp_path: Path) -> None:
    spec = SqlRunner(Warehouses(home=tmp_path)).launch_spec(
        sql_task("SELECT :x", x=INJECTION), attempt_context(tmp_path, "report"))

    assert list(spec.argv) == [sys.executable, "-m", "headwater.entrypoints.sql",
                               '{"x": "1; DROP TABLE t; --"}', "--query", "SELECT :x"]
    assert spec.env["HEADWATER_WAREHOUSE_URL"] == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


def test_a_warehouse_password_travels_apart_from_the_url_and_never_in_argv(
        tmp_path: Path) -> None:
    url = "postgresql+psycopg://etl@db.example.com/analytics"
    warehouses = Warehouses(by_id={"pg": Warehouse(url, password_env="PG_PASSWORD"),
                                   "vault": Warehouse(url, password_secret="warehouse/etl")},
                            environ={"PG_PASSWORD": "s3cr3t-pw"})
    context = attempt_context(tmp_path, "report")

    from_env = SqlRunner(warehouses).launch_spec(sql_task("SELECT 1", warehouse_id="pg"), context)
    from_secret = SqlRunner(warehouses).launch_spec(sql_task("SELECT 1", warehouse_id="vault"),
                                                    context)

    assert from_env.env["HEADWATER_WAREHOUSE_URL"] == url
    assert from_env.env["HEADWATER_WAREHOUSE_PASSWORD"] == "s3cr3t-pw"
    assert not any("s3cr3t-pw" in part for part in from_env.argv)
    # resolved where the attempt starts (`with_secret_references`), like spark_env_vars
    assert from_secret.env["HEADWATER_WAREHOUSE_PASSWORD"] == "{{secrets/warehouse/etl}}"


def test_a_password_variable_missing_from_the_engine_is_refused_naming_it(
        tmp_path: Path) -> None:
    warehouses = Warehouses(by_id={"pg": Warehouse("postgresql://etl@db/analytics",
                                                   password_env="PG_PASSWORD")})

    with pytest.raises(InvalidRequest, match="warehouse 'pg': its password_env PG_PASSWORD is "
                                             "not set in the engine's environment"):
        SqlRunner(warehouses).launch_spec(sql_task("SELECT 1", warehouse_id="pg"),
                                          attempt_context(tmp_path, "report"))


@pytest.mark.parametrize(("settings", "message"), [
    (SqlTask(query=SqlQuery(query_id="q1")), "query_id names a saved query"),
    (SqlTask(), "needs query.query_text or file.path"),
    (SqlTask(file=SqlFile(path="../x.sql")), "leaves the job directory"),
    (SqlTask(file=SqlFile(path="missing.sql")), "not found"),
])
def test_settings_that_cannot_run_are_refused(tmp_path: Path, settings: SqlTask,
                                              message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        SqlRunner().launch_spec(Task(task_key="report", sql_task=settings),
                                attempt_context(tmp_path, "report"))


@pytest.mark.parametrize(("text", "rendered", "names"), [
    ("SELECT :a", "SELECT $a", ["a"]),
    ("SELECT x::INT, :b", "SELECT x::INT, $b", ["b"]),
    ("SELECT ':a', \":b\", `:c` -- :d\n, /* :e */ :f", "SELECT ':a', \":b\", `:c` -- :d\n, /* :e */ $f", ["f"]),
    ("SELECT {'k':v}, {'k': :v}", "SELECT {'k':v}, {'k': $v}", ["v"]),
    ("SELECT 'it''s :a', :b", "SELECT 'it''s :a', $b", ["b"]),
    ("SELECT a:b FROM t", "SELECT a:b FROM t", []),
    ("SELECT {{region}}, {{ day }} -- {{c}}", "SELECT $region, $day -- {{c}}", ["region", "day"]),
    ("SELECT '{{a}}', {'k': {{v}}}, {{x.y}}", "SELECT '{{a}}', {'k': $v}, {{x.y}}", ["v"]),
])
def test_markers_are_found_outside_strings_comments_and_casts(text: str, rendered: str,
                                                              names: list[str]) -> None:
    [statement] = statements(text)
    assert bind(statement, lambda n: f"${n}") == (rendered, names)


def test_statements_split_on_semicolons_outside_strings() -> None:
    parsed = statements("SELECT ';'; -- only a comment;\n ;SELECT 2;")
    assert [bind(s, str)[0].strip() for s in parsed] == ["SELECT ';'", "SELECT 2"]


def test_the_output_keeps_the_first_1000_rows_within_48_kib() -> None:
    many = table_output(Table(["n"], [(i,) for i in range(MAX_OUTPUT_ROWS + 1)]))
    wide = table_output(Table(["s"], [("x" * 1000,) for _ in range(100)]))

    assert len(many["rows"]) == MAX_OUTPUT_ROWS and many["truncated"] is True
    assert 40 < len(wide["rows"]) < 50 and wide["truncated"] is True
    assert table_output(None) == {"columns": [], "rows": [], "truncated": False}


def test_a_struct_and_a_list_are_json_in_the_output(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    task = sql_task("SELECT {'k': 1, 'day': DATE '2024-01-02'} AS s, [1, 2] AS l")

    exit_ = run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["sql_output"]["rows"] == [[{"k": 1, "day": "2024-01-02"},
                                                         [1, 2]]]


def rows_affected(metrics: str | None) -> list[float]:
    """Each value the attempt recorded for `sql_rows_affected`, in order."""
    lines = [json.loads(line) for line in (metrics or "").splitlines() if line]
    return [line["value"] for line in lines if line["name"] == "sql_rows_affected"]


def test_the_rows_each_write_affected_add_up_to_a_metric_on_duckdb(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    task = sql_task("CREATE TABLE t (id INTEGER);"            # no rows: not counted
                    "INSERT INTO t VALUES (1), (2);"           # 2
                    "UPDATE t SET id = id + 10 WHERE id = 1;"  # 1
                    "CREATE TABLE u AS SELECT * FROM range(3);"  # 3
                    "SELECT count(*) AS n FROM t")             # a read: not counted

    exit_ = run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert rows_affected(exit_.metrics) == [2, 3, 6]  # the last value is the one kept
    assert result_of(context)["sql_output"]["rows"] == [[2]]


def test_the_rows_affected_come_from_the_driver_on_a_sqlalchemy_warehouse(tmp_path: Path) -> None:
    context = attempt_context(tmp_path, "report")
    warehouses = Warehouses(by_id={"lite": Warehouse(f"sqlite:///{tmp_path / 'lite.db'}")})
    task = sql_task("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1), (2), (3);"
                    "DELETE FROM t WHERE id > 1", warehouse_id="lite")

    exit_ = run_attempt(SqlRunner(warehouses).launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert rows_affected(exit_.metrics)[-1] == 5
    # rows a failed script wrote were rolled back with it: it processed none
    again = attempt_context(tmp_path / "again", "report")
    failing = sql_task("INSERT INTO t VALUES (4), (5); INSERT INTO missing VALUES (1)",
                       warehouse_id="lite")
    failed = run_attempt(SqlRunner(warehouses).launch_spec(failing, again))
    assert failed.exit_code == 1 and rows_affected(failed.metrics) == []


def test_each_configured_warehouse_has_a_commit_log_that_table_triggers_read(
        tmp_path: Path) -> None:
    warehouses = Warehouses(home=tmp_path, by_id={
        "pg": Warehouse("postgresql://etl@db/analytics"),
        "lake": Warehouse("duckdb:////data/lake.duckdb")})

    spec = SqlRunner(warehouses).launch_spec(sql_task("SELECT 1", warehouse_id="pg"),
                                             attempt_context(tmp_path, "report"))

    pg_log = tmp_path / "warehouses" / "pg.commits.jsonl"
    assert spec.env["HEADWATER_WAREHOUSE_COMMITS"] == str(pg_log)
    assert warehouses.commit_logs(tmp_path) == (
        tmp_path / "warehouse.duckdb.commits.jsonl", pg_log,
        Path("/data/lake.duckdb.commits.jsonl"))


def test_a_dynamic_value_reference_in_the_sql_says_how_to_pass_it(tmp_path: Path) -> None:
    # Given SQL that writes references where nothing fills them in (a literal stays literal)
    context = attempt_context(tmp_path, "report")
    task = sql_task("SELECT '{{tasks.a.values.n}}' AS kept;\n"
                    "SELECT * FROM t WHERE n > {{ tasks.count.values.row_count }}")

    assert run_attempt(SqlRunner(Warehouses(home=tmp_path)).launch_spec(task, context)
                       ).exit_code == 1

    # Then the statement is refused with the parameter that would carry the value, not a
    # database's syntax error
    assert result_of(context)["error"] == (
        "statement 2 (line 2): {{ tasks.count.values.row_count }} is not filled in inside SQL "
        "(references are filled in in the task's settings only); pass it as a parameter, "
        "sql_task.parameters: {row_count: \"{{ tasks.count.values.row_count }}\"}, and "
        "write :row_count in the SQL")
