"""Repairing a run whose for-each partly failed (issue 16; docs/semantics.md, "Repair"): only
the failed iterations run again, the others keep their result, log and values; through the CLI
and through the real databricks-sdk against `headwater server`."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from databricks.sdk.errors import OperationFailed
from databricks.sdk.service import jobs

from tests.servers import Server

from .conftest import Cli
from .conftest import sdk_client as client
from .test_run import run_document, run_id_of

ITEM = """
import pathlib, sys
item = sys.argv[1]
with open(pathlib.Path(__file__).with_name("ran.log"), "a") as ran:
    ran.write(item + "\\n")
if item in ("b", "d") and not pathlib.Path(__file__).with_name("fixed").exists():
    raise RuntimeError(f"cannot load {item}")
print(f"loaded {item}")
"""
JOB = """
resources:
  jobs:
    loads:
      tasks:
        - task_key: loop
          for_each_task:
            inputs: '["a", "b", "c", "d"]'
            concurrency: 2
            task:
              task_key: load
              spark_python_task: {python_file: item.py, parameters: ["{{input}}"]}
        - task_key: report
          depends_on: [{task_key: loop}]
          spark_python_task: {python_file: report.py}
"""


def ran(folder: Path) -> Counter[str]:
    return Counter((folder / "ran.log").read_text().split())


def test_a_repair_reruns_only_the_failed_iterations(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text(textwrap.dedent(JOB).lstrip())
    (tmp_path / "item.py").write_text(ITEM)
    (tmp_path / "report.py").write_text("print('reported')\n")
    first = hw("run", "job.yml")
    assert first.returncode == 1, first.stdout + first.stderr
    run = run_id_of(first.stdout)
    assert ran(tmp_path) == Counter({"a": 1, "b": 1, "c": 1, "d": 1})

    # When the cause is fixed and the run repaired
    (tmp_path / "fixed").touch()
    repaired = hw("runs", "repair", str(run), "--all-failed")

    # Then only b and d ran again, and the run succeeded
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert ran(tmp_path) == Counter({"a": 1, "b": 2, "c": 1, "d": 2})
    document = run_document(hw, run)
    assert document["state"]["result_state"] == "SUCCESS"
    loop = [t for t in document["tasks"] if t["task_key"] == "loop"][-1]
    assert loop["for_each_task"]["stats"]["task_run_stats"]["succeeded_iterations"] == 4
    iterations = run_document(hw, loop["run_id"])["iterations"]
    messages = {i["iteration"]: i["state"]["state_message"] for i in iterations}
    assert messages[0] == messages[2] == ("Kept: it succeeded before repair 1 with the same "
                                          "input, so the repair did not rerun it.")
    assert messages[1] == messages[3] == ""
    # and each iteration's log reads, the kept ones from the run before the repair
    for index, item in enumerate("abcd"):
        log = hw("runs", "logs", str(run), "loop", "--iteration", str(index), check=True)
        assert log.stdout == f"loaded {item}\n"
    # and the timeline has a row per iteration that ran: six, the kept ones not twice
    rows = hw("sql", "--json", "SELECT iteration, repair FROM job_task_run_timeline WHERE "
              f"job_run_id = {run} AND iteration IS NOT NULL", check=True).stdout
    timeline = Counter((r["iteration"], r["repair"]) for r in map(json.loads, rows.splitlines()))
    assert timeline == Counter({(0, 0): 1, (1, 0): 1, (2, 0): 1, (3, 0): 1, (1, 1): 1, (3, 1): 1})


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    found = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}").start()
    yield found
    found.close()


def test_repair_run_through_the_sdk_reruns_only_the_failed_iterations(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "item.py").write_text(ITEM)
    w = client(server, server.token("ann"), monkeypatch)
    nested = jobs.Task(task_key="load", spark_python_task=jobs.SparkPythonTask(
        python_file=str(tmp_path / "item.py"), parameters=["{{input}}"]))
    job = w.jobs.create(name="loads", tasks=[jobs.Task(
        task_key="loop", for_each_task=jobs.ForEachTask(inputs='["a", "b", "c", "d"]',
                                                        concurrency=4, task=nested))])
    run_id = w.jobs.run_now(job.job_id).run_id
    with pytest.raises(OperationFailed, match="2 of 4 iterations failed"):
        w.jobs.wait_get_run_job_terminated_or_skipped(run_id)

    (tmp_path / "fixed").touch()
    repaired = w.jobs.repair_run_and_wait(run_id, rerun_all_failed_tasks=True)

    assert repaired.state.result_state == jobs.RunResultState.SUCCESS
    assert ran(tmp_path) == Counter({"a": 1, "b": 2, "c": 1, "d": 2})
    loop = w.jobs.get_run(run_id).tasks[-1]
    stats = loop.for_each_task.stats.task_run_stats
    assert (stats.total_iterations, stats.succeeded_iterations) == (4, 4)
    iterations = w.jobs.get_run(loop.run_id).iterations
    assert sorted(i.state.state_message.startswith("Kept:") for i in iterations) == [
        False, False, True, True]
