"""Every task type through the CLI, with real processes: notebooks (Databricks source and
.ipynb), a script, a wheel's entry point, an operator, SQL on DuckDB, and Run Job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.wheels import build_tiny_wheel

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"

READER = """\
from headwater.runtime import dbutils
rows = dbutils.jobs.taskValues.get("bronze", "row_count")
silver = dbutils.jobs.taskValues.get(taskKey="silver", key="silver_rows", default=0, debugValue=0)
print(f"script saw {rows} bronze rows and {silver} silver rows")
dbutils.jobs.taskValues.set("checked", rows == 3)
"""


def test_every_task_type_runs_and_passes_values(hw: Cli, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    (tmp_path / "reader.py").write_text(READER)
    site = build_tiny_wheel(tmp_path / "dist-build", tmp_path / "site")
    after = lambda *keys: [{"task_key": k} for k in keys]  # noqa: E731
    job = write_job(tmp_path / "types.json", [
        # the notebook reads the files `extract` found, if it set any (it sets none here)
        {"task_key": "extract", "shell_command_task": {"command": "true"}},
        {"task_key": "bronze", "depends_on": after("extract"),
         "notebook_task": {"notebook_path": "lf_bronze_ingest",
                           "base_parameters": {"source": "c"}}},
        {"task_key": "silver", "depends_on": after("bronze"),
         "notebook_task": {"notebook_path": "lf_silver.ipynb",
                           "base_parameters": {"table": "silver_orders"}}},
        {"task_key": "count_sql", "depends_on": after("bronze"),
         "sql_task": {"query": {"query_text": "SELECT CAST(:n AS INTEGER) * 2 AS doubled"},
                      "parameters": {"n": "{{tasks.bronze.values.row_count}}"}}},
        {"task_key": "reader", "depends_on": after("bronze", "silver"),
         "spark_python_task": {"python_file": "reader.py"}},
        {"task_key": "operator", "depends_on": after("bronze"),
         "python_operator_task": {"main": "ops.load.load", "parameters": [
             {"name": "table", "value": "orders"}, {"name": "limit", "value": "10"}]}},
        {"task_key": "wheel", "python_wheel_task": {
            "package_name": "hw-tiny", "entry_point": "tiny-report", "parameters": ["a b"]}},
    ])
    result = hw("run", str(job), extra_env={"PYTHONPATH": f"{site}:{tmp_path}"})
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    tasks = {t["task_key"]: t for t in run_document(hw, run_id)["tasks"]}
    assert tasks["bronze"]["task_values"]["row_count"] == 3
    assert tasks["silver"]["task_values"] == {"silver_rows": 6}
    assert tasks["reader"]["task_values"] == {"checked": True}
    assert tasks["operator"]["task_values"] == {"loaded": {"table": "orders", "limit": 10}}

    def output(key: str) -> dict:  # type: ignore[type-arg]
        found = hw("runs", "output", str(tasks[key]["run_id"]), "--json", check=True)
        return json.loads(found.stdout)  # type: ignore[no-any-return]

    assert output("bronze")["notebook_output"]["result"] == "bronze_default: 3 rows from 0 files"
    assert output("silver")["notebook_output"]["result"] == "silver_orders=6"
    assert output("count_sql")["headwater"]["sql_output"]["rows"] == [[6]]
    assert output("count_sql")["sql_output"]["query_output"]["sql_statements"] == []
    assert "script saw 3 bronze rows and 6 silver rows" in output("reader")["logs"]
    assert 'ARGV=["a b"]' in output("wheel")["logs"]
    assert "loading 10 rows into orders" in output("operator")["logs"]


def test_job_parameters_reach_a_wheel_as_keyword_arguments_only(hw: Cli, tmp_path: Path) -> None:
    # Given a job parameter and three wheel tasks: positional, keyword and no parameters
    site = build_tiny_wheel(tmp_path / "dist-build", tmp_path / "site")
    wheel = {"package_name": "hw-tiny", "entry_point": "tiny-report"}
    job = write_job(tmp_path / "wheels.json", [
        {"task_key": "positional", "python_wheel_task": {
            **wheel, "parameters": ["p1", "{{job.parameters.day}}"]}},
        {"task_key": "keyword", "python_wheel_task": {
            **wheel, "named_parameters": {"table": "orders"}}},
        {"task_key": "bare", "python_wheel_task": wheel},
    ], parameters=[{"name": "day", "default": "d1"}])

    # When it runs
    result = hw("run", str(job), extra_env={"PYTHONPATH": str(site)})

    # Then only the keyword tasks get `--day=d1`; the positional one reads it by reference
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)

    def argv(key: str) -> str:
        return hw("runs", "logs", str(run_id), key, check=True).stdout.strip()

    assert argv("positional") == 'ARGV=["p1", "d1"]'
    assert argv("keyword") == 'ARGV=["--table=orders", "--day=d1"]'
    assert argv("bare") == 'ARGV=["--day=d1"]'


def test_a_failing_notebook_shows_its_cell_and_names_the_task(hw: Cli, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    job = write_job(tmp_path / "fail.json", [
        {"task_key": "validate", "notebook_task": {"notebook_path": "lf_failing.py"}}])
    result = hw("run", str(job))
    assert result.returncode == 1
    document = run_document(hw, run_id_of(result.stdout))
    assert document["state"]["state_message"] == (
        "Task validate failed with message: ValueError: bad row")
    found = hw("runs", "output", str(document["tasks"][0]["run_id"]), check=True).stdout
    assert "error: ValueError: bad row" in found
    assert "cell 3 of lf_failing.py" in found


def test_a_run_job_task_whose_child_fails_fails_and_links_the_child(hw: Cli,
                                                                     tmp_path: Path) -> None:
    (tmp_path / "jobs.yml").write_text("""\
resources:
  jobs:
    parent:
      name: parent
      parameters:
        - name: table
          default: orders
      tasks:
        - task_key: call_child
          run_job_task:
            job_name: child
            job_parameters:
              extra: "{{job.run_id}}"
    child:
      name: child
      parameters:
        - name: table
          default: none
        - name: extra
          default: none
      tasks:
        - task_key: fail
          shell_command_task:
            command: 'echo "child got $HEADWATER_PARAM_TABLE $HEADWATER_PARAM_EXTRA"; exit 4'
""")
    result = hw("run", "jobs.yml", "--job", "parent")
    assert result.returncode == 1, result.stdout + result.stderr
    parent_id = run_id_of(result.stdout)
    parent = run_document(hw, parent_id)
    task = parent["tasks"][0]
    assert task["state"]["result_state"] == "FAILED"
    linked = json.loads(hw("runs", "output", str(task["run_id"]), "--json", check=True).stdout)
    child_id = linked["run_job_output"]["run_id"]
    # The task fails with the child run's error, not the child engine's last line
    child_error = (f"Run {child_id} of job 'child' ended FAILED: Task fail failed with message: "
                   "The task's process exited with code 4; its last output line: child got ")
    assert task["state"]["state_message"].startswith(child_error)
    assert linked["error"].startswith(child_error)
    assert parent["state"]["state_message"].startswith(
        f"Task call_child failed with message: {child_error}")
    child = run_document(hw, child_id)
    assert child["trigger"] == "RUN_JOB_TASK"
    assert child["trigger_info"] == {"run_id": task["run_id"]}  # the task run that started it
    assert child["state"]["result_state"] == "FAILED"
    assert {p["name"]: p["value"] for p in child["job_parameters"]} == {
        "table": "orders", "extra": str(parent_id)}  # the parent's parameters pushed down
    log = hw("runs", "logs", str(child_id), "fail", check=True).stdout
    assert log.strip() == f"child got orders {parent_id}"


def test_a_run_job_task_passes_its_legacy_parameters_to_the_child_run(hw: Cli,
                                                                       tmp_path: Path) -> None:
    (tmp_path / "argv.py").write_text("import sys\nprint('ARGV', sys.argv[1:])\n")
    (tmp_path / "jobs.yml").write_text("""\
resources:
  jobs:
    parent:
      name: parent
      tasks:
        - task_key: call_child
          run_job_task:
            job_name: child
            python_params: ["--parent-run", "{{job.run_id}}"]
    child:
      name: child
      tasks:
        - task_key: script
          spark_python_task:
            python_file: argv.py
            parameters: ["--default"]
""")
    result = hw("run", "jobs.yml", "--job", "parent")
    assert result.returncode == 0, result.stdout + result.stderr
    parent_id = run_id_of(result.stdout)
    task = run_document(hw, parent_id)["tasks"][0]
    linked = json.loads(hw("runs", "output", str(task["run_id"]), "--json", check=True).stdout)
    child_id = linked["run_job_output"]["run_id"]
    log = hw("runs", "logs", str(child_id), "script", check=True).stdout
    assert f"ARGV ['--parent-run', '{parent_id}']" in log
    assert run_document(hw, child_id)["overriding_parameters"] == {
        "python_params": ["--parent-run", str(parent_id)]}
    shown = hw("runs", "get", str(child_id), check=True).stdout
    assert f'Task parameters of this run: {{"python_params": ["--parent-run", "{parent_id}"]}}' \
        in shown


def test_a_for_each_runs_over_the_rows_a_sql_task_returned(hw: Cli, tmp_path: Path) -> None:
    # Given a query listing tables, a loop over its rows, and a task reading its first row
    job = write_job(tmp_path / "per_table.json", name="per_table", tasks=[
        {"task_key": "tables", "sql_task": {"query": {"query_text":
            "SELECT * FROM (VALUES ('orders', 3), ('customers', 5)) AS t(table_name, n) "
            "ORDER BY n"}}},
        {"task_key": "load_each", "depends_on": [{"task_key": "tables"}], "for_each_task": {
            "inputs": "{{tasks.tables.output.rows}}", "task": {
                "task_key": "load_one", "shell_command_task": {
                    "command": 'echo "loading $T ($N rows)"',
                    "env": {"T": "{{input.table_name}}", "N": "{{input.n}}"}}}}},
        {"task_key": "report", "depends_on": [{"task_key": "tables"}],
         "shell_command_task": {"command": 'echo "first: $FIRST"',
                                "env": {"FIRST": "{{tasks.tables.output.first_row.table_name}}"}}},
    ])

    # When it runs
    result = hw("run", str(job))

    # Then the loop ran once per row, each iteration with its row, and report read the first
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = str(run_id_of(result.stdout))
    loaded = [hw("runs", "logs", run_id, "load_each", "--iteration", str(i), check=True).stdout
              for i in (0, 1)]
    assert [text.strip().splitlines()[-1] for text in loaded] == [
        "loading orders (3 rows)", "loading customers (5 rows)"]
    report = hw("runs", "logs", run_id, "report", check=True).stdout
    assert report.strip().splitlines()[-1] == "first: orders"
