"""OperatorRunner against real child processes: `main` found by its dotted path in the job
directory, parameters as keyword arguments, clear failures."""

from __future__ import annotations

import sys
from pathlib import Path

from task_attempts import attempt_context, copy_fixtures, log_of, result_of, run_attempt, values_of

from headwater.core.spec import OperatorParameter, PythonOperatorTask, Task
from headwater.runners import OperatorRunner

INJECTION = "x'); import os; os.system('touch pwned') #"


def operator_task(main: str, **parameters: str) -> Task:
    settings = PythonOperatorTask(
        main=main, parameters=[OperatorParameter(name=k, value=v) for k, v in parameters.items()])
    return Task(task_key="load", python_operator_task=settings)


def test_main_is_called_with_keyword_parameters(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir, "load")
    task = operator_task("ops.load.load", table=INJECTION, limit="10")

    exit_ = run_attempt(OperatorRunner().launch_spec(task, context))

    assert exit_.exit_code == 0, log_of(context)
    assert values_of(context) == {"loaded": {"table": INJECTION, "limit": 10}}
    assert result_of(context)["operator_output"] == {"result": f"{INJECTION}:10",
                                                     "truncated": False}
    assert not list(tmp_path.rglob("pwned"))


def test_a_class_is_instantiated_then_called(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir, "load")

    exit_ = run_attempt(OperatorRunner().launch_spec(operator_task("ops.load.Loader",
                                                                   table="gold"), context))

    assert exit_.exit_code == 0, log_of(context)
    assert result_of(context)["operator_output"]["result"] == "loaded gold"


def test_an_exception_fails_the_task_with_error_and_trace(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    context = attempt_context(workdir, "load")

    exit_ = run_attempt(OperatorRunner().launch_spec(operator_task("ops.load.explode",
                                                                   table="gold"), context))

    assert exit_.exit_code == 1
    result = result_of(context)
    assert result["error"] == "RuntimeError: cannot load gold"
    assert "ops/load.py" in result["error_trace"] and "operator_main" not in result["error_trace"]


def test_a_missing_module_or_function_is_named(tmp_path: Path) -> None:
    workdir = copy_fixtures(tmp_path / "job")
    missing_module = attempt_context(workdir, "load")
    run_attempt(OperatorRunner().launch_spec(operator_task("nosuch.mod.fn"), missing_module))
    assert result_of(missing_module)["error"].startswith(
        "LookupFailed: 'nosuch.mod.fn': no module 'nosuch'")

    missing_function = attempt_context(workdir, "load2")
    exit_ = run_attempt(OperatorRunner().launch_spec(operator_task("ops.load.nope"),
                                                     missing_function))
    assert exit_.exit_code == 1
    assert result_of(missing_function)["error"] == (
        "LookupFailed: 'ops.load.nope': module 'ops.load' has no attribute 'nope'")


def test_the_launch_is_argv_only(tmp_path: Path) -> None:
    spec = OperatorRunner().launch_spec(operator_task("ops.load.load", table=INJECTION),
                                        attempt_context(tmp_path, "load"))
    assert list(spec.argv) == [sys.executable, "-u", "-m", "headwater.entrypoints.operator",
                               "ops.load.load", '{"table": "x\'); import os; os.system(\'touch '
                               'pwned\') #"}']
