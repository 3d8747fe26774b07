"""headwater.runtime: parameters, task values, metrics and notebook exit through the attempt's
files, in this process (pointed at an attempt directory) and in real child processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import headwater.engine.attempts as attempts
from headwater.core.taskvalues import MAX_VALUE_BYTES, parse_task_values
from headwater.engine.attempts import write_context
from headwater.runtime import (
    NotebookExit,
    WidgetNotDefined,
    channel,
    dbutils,
    metrics,
    notebook,
    parameters,
    task_values,
)
from headwater.runtime.api import MAX_NOTEBOOK_RESULT_BYTES
from headwater.runtime.dbutils import DBUtils


@pytest.fixture
def attempt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process inside an attempt whose context the engine wrote."""
    write_context(tmp_path, {
        "job_id": 7, "job_name": "lakeflow", "run_id": 41, "task_run_id": 4102,
        "task_key": "silver", "attempt_number": 1, "iteration": None,
        "job_parameters": {"day": "2024-01-02", "table": "job_table"},
        "task_parameters": {"table": "silver", "mode": "full"},
        "task_values": {"bronze": {"row_count": 3, "batch": {"files": ["a"]}}},
    })
    monkeypatch.setenv("HEADWATER_ATTEMPT_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADWATER_ATTEMPT_DIR", raising=False)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_channel_names_are_the_engines() -> None:
    assert (channel.CONTEXT, channel.VALUES, channel.METRICS, channel.RESULT) == (
        attempts.CONTEXT, attempts.VALUES, attempts.METRICS, attempts.RESULT)


def test_task_parameters_win_over_job_parameters(attempt: Path) -> None:
    assert dict(parameters) == {"day": "2024-01-02", "table": "silver", "mode": "full"}
    assert channel.current_context().task_key == "silver"
    assert channel.current_context().run_id == 41


def test_set_values_are_what_the_engine_reads(attempt: Path) -> None:
    task_values.set("rows", 6)
    dbutils.jobs.taskValues.set("tables", ["a", "b"])
    task_values.set("rows", 7)

    assert parse_task_values((attempt / "values.jsonl").read_text()) == {
        "rows": 7, "tables": ["a", "b"]}


@pytest.mark.parametrize(("key", "value", "error", "message"), [
    ("big", "x" * MAX_VALUE_BYTES, ValueError, "the limit is 49152 bytes"),
    ("when", object(), TypeError, "cannot be serialised as JSON"),
    ("nan", float("nan"), ValueError, "not valid JSON"),
    ("", 1, ValueError, "1 to 255 characters"),
    (3, 1, TypeError, "must be a string"),
])
def test_a_value_the_engine_would_refuse_is_refused_at_once(
        attempt: Path, key: object, value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        task_values.set(key, value)  # type: ignore[arg-type]
    assert not (attempt / "values.jsonl").exists()


def test_a_value_just_under_the_limit_is_accepted(attempt: Path) -> None:
    task_values.set("big", "x" * (MAX_VALUE_BYTES - 2))  # plus two quotes
    assert parse_task_values((attempt / "values.jsonl").read_text())  # the engine agrees


def test_upstream_values_are_read(attempt: Path) -> None:
    assert task_values.get("bronze", "row_count") == 3
    assert task_values.get("bronze", "nope", default="d") == "d"
    assert dbutils.jobs.taskValues.get("bronze", "batch") == {"files": ["a"]}
    assert dbutils.jobs.taskValues.get("bronze", "nope", default=0, debugValue=9) == 0


def test_a_missing_upstream_value_without_default_is_a_clear_error(attempt: Path) -> None:
    with pytest.raises(ValueError, match=r"task 'brnze' set no value 'row_count' in this run "
                                         r"\(tasks that set values: bronze\)"):
        dbutils.jobs.taskValues.get("brnze", "row_count")


@pytest.fixture
def downstream(attempt: Path) -> Path:
    """The attempt of `silver`, which depends on `bronze` (directly) and `extract` (through
    `bronze`; it set no value), while `gold`, a task it does not depend on, already set one."""
    write_context(attempt, {
        "job_id": 7, "run_id": 41, "task_key": "silver", "attempt_number": 1,
        "upstream_tasks": ["bronze", "extract"],
        "task_values": {"bronze": {"row_count": 3}, "gold": {"row_count": 9}},
    })
    return attempt


@pytest.mark.parametrize("task_key", ["nosuchtask", "gold", "silver"])
def test_a_task_that_is_not_upstream_is_an_error_even_with_a_default(
        downstream: Path, task_key: str) -> None:
    message = (f"cannot find task '{task_key}' among the tasks upstream of 'silver' "
               r"\(bronze, extract\)")
    with pytest.raises(ValueError, match=message):
        dbutils.jobs.taskValues.get(taskKey=task_key, key="row_count", default=5)
    with pytest.raises(ValueError, match=message):
        task_values.get(task_key, "row_count", default=5)


def test_a_misspelt_upstream_task_is_named(downstream: Path) -> None:
    with pytest.raises(ValueError, match="did you mean 'bronze'"):
        dbutils.jobs.taskValues.get(taskKey="brnze", key="row_count", default=5)


def test_a_missing_key_of_an_upstream_task_gives_the_default_else_an_error(
        downstream: Path) -> None:
    assert dbutils.jobs.taskValues.get(taskKey="bronze", key="row_count", default=5) == 3
    assert dbutils.jobs.taskValues.get(taskKey="bronze", key="nope", default=5) == 5
    assert dbutils.jobs.taskValues.get(taskKey="extract", key="nope", default=5) == 5
    assert task_values.get("extract", "nope") is None
    with pytest.raises(ValueError, match="task 'extract' set no value 'nope' in this run"):
        dbutils.jobs.taskValues.get(taskKey="extract", key="nope")


def test_outside_a_run_get_returns_the_debug_value(outside: None) -> None:
    assert dbutils.jobs.taskValues.get("bronze", "row_count", default=1, debugValue=42) == 42
    with pytest.raises(TypeError, match="debugValue"):
        dbutils.jobs.taskValues.get("bronze", "row_count", default=1)
    dbutils.jobs.taskValues.set("x", 1)  # checked, written nowhere
    with pytest.raises(TypeError):
        dbutils.jobs.taskValues.set("x", {1, 2})
    assert dict(parameters) == {}


def test_metrics_are_appended(attempt: Path) -> None:
    metrics.record("rows", 6)
    metrics.record("seconds", 1.5)

    assert lines(attempt / "metrics.jsonl") == [{"name": "rows", "value": 6},
                                                {"name": "seconds", "value": 1.5}]
    with pytest.raises(TypeError, match="must be a number"):
        metrics.record("ok", True)
    with pytest.raises(ValueError, match="finite"):
        metrics.record("ok", float("inf"))


def test_exit_writes_the_result_and_stops(attempt: Path) -> None:
    with pytest.raises(NotebookExit) as caught:
        dbutils.notebook.exit({"rows": 6})

    assert caught.value.code == 0 and not isinstance(caught.value, Exception)
    assert json.loads((attempt / "result.json").read_text()) == {
        "notebook_output": {"result": "{'rows': 6}", "truncated": False}}


def test_exit_keeps_the_first_5_mb(attempt: Path) -> None:
    with pytest.raises(NotebookExit):
        notebook.exit("é" * MAX_NOTEBOOK_RESULT_BYTES)
    output = json.loads((attempt / "result.json").read_text())["notebook_output"]
    assert output["truncated"] is True
    assert len(output["result"].encode()) == MAX_NOTEBOOK_RESULT_BYTES


def test_widgets_are_parameters_with_defaults(attempt: Path) -> None:
    utils = DBUtils()
    utils.widgets.text("table", "default_table")
    utils.widgets.dropdown("env", "dev", ["dev", "prod"])

    assert utils.widgets.get("table") == "silver"  # the run's value wins
    assert utils.widgets.get("env") == "dev"
    assert utils.widgets.getArgument("nope", "fallback") == "fallback"
    with pytest.raises(WidgetNotDefined) as caught:
        utils.widgets.get("tabel")
    assert str(caught.value).startswith(
        "no widget or parameter named 'tabel' (known: day, env, mode, table)")
    with pytest.raises(ValueError, match="not one of"):
        utils.widgets.dropdown("env", "qa", ["dev", "prod"])


def test_in_a_child_process_values_metrics_and_exit_reach_the_files(attempt: Path) -> None:
    code = ("from headwater.runtime import dbutils, metrics, parameters, task_values\n"
            "task_values.set('seen', dict(parameters))\n"
            "metrics.record('rows', 1)\n"
            "dbutils.notebook.exit('done')\n"
            "raise SystemExit(5)\n")

    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert finished.returncode == 0, finished.stderr  # exit() ends a plain script cleanly
    assert parse_task_values((attempt / "values.jsonl").read_text()) == {
        "seen": {"day": "2024-01-02", "table": "silver", "mode": "full"}}
    assert json.loads((attempt / "result.json").read_text())["notebook_output"]["result"] == "done"


def test_importing_the_runtime_loads_nothing_heavy() -> None:
    code = ("import sys, headwater.runtime\n"
            "heavy = ('pydantic', 'sqlalchemy', 'yaml', 'duckdb', 'headwater.engine.run_driver', "
            "'headwater.store', 'headwater.core.spec', 'headwater.engine.attempts')\n"
            "print([m for m in sys.modules if m.split('.')[0] in heavy or m in heavy])\n")

    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)

    assert finished.stdout.strip() == "[]"


def test_importing_the_runtime_registers_no_after_fork_hook() -> None:
    # Every fork server preloads the runtime; a module that registers an after-fork hook
    # (`threading`, `random`) makes each forked attempt parent and task run it, copying a
    # hundred pages or so of the server's memory per fork.
    code = ("import sys, headwater.runtime\n"
            "print([m for m in ('threading', 'random', 'logging', 'concurrent.futures') "
            "if m in sys.modules])\n")

    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)

    assert finished.stdout.strip() == "[]"
