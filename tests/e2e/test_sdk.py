"""The real databricks-sdk drives a real `headwater server` through the whole life of a job,
as a Lakeflow user's code would: create, get, list, update, reset, run and wait, outputs,
failures and repair, cancel, one-time runs, permissions, delete; and the SDK's exceptions
where Databricks raises them."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks.sdk.errors import (
    InvalidParameterValue,
    OperationFailed,
    PermissionDenied,
    ResourceDoesNotExist,
)
from databricks.sdk.service import jobs

from tests.servers import Server, wait_for

from .conftest import sdk_client

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tasks"
GREET = """\
# Databricks notebook source
who = dbutils.widgets.get("who")
print(f"greeting {who}")

# COMMAND ----------

dbutils.notebook.exit(f"hello {who}")
"""
SAY = "import sys\nprint(f'said {sys.argv[1]}')\n"
SLEEPY = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    found = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}").start()
    yield found
    found.close()


def write_tasks(folder: Path) -> dict[str, str]:
    (folder / "greet.py").write_text(GREET)
    (folder / "say.py").write_text(SAY)
    (folder / "sleepy.py").write_text(SLEEPY)
    shutil.copy(FIXTURES / "lf_failing.py", folder / "failing.py")
    return {name: str(folder / f"{name}.py") for name in ("greet", "say", "sleepy", "failing")}


def greet_tasks(paths: dict[str, str]) -> list[jobs.Task]:
    return [
        jobs.Task(task_key="greet", notebook_task=jobs.NotebookTask(notebook_path=paths["greet"])),
        jobs.Task(task_key="say", depends_on=[jobs.TaskDependency(task_key="greet")],
                  spark_python_task=jobs.SparkPythonTask(
                      python_file=paths["say"], parameters=["{{job.parameters.who}}"])),
    ]


def test_the_sdk_drives_a_job_through_its_whole_life(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    paths = write_tasks(tmp_path)
    w = sdk_client(server, server.token("ann"), monkeypatch)
    bob = sdk_client(server, server.token("bob"), monkeypatch)
    who = jobs.JobParameterDefinition(name="who", default="world")

    # Given a job created, read back, listed among 120 others, updated and reset
    job_id = w.jobs.create(name="life", parameters=[who], tasks=greet_tasks(paths)).job_id
    got = w.jobs.get(job_id)
    assert (got.settings.name, got.creator_user_name) == ("life", "ann")
    assert [t.task_key for t in got.settings.tasks] == ["greet", "say"]
    # with the defaults that Lakeflow's GET writes out
    assert (got.settings.max_concurrent_runs, got.settings.timeout_seconds) == (1, 0)
    assert {(t.run_if, t.timeout_seconds) for t in got.settings.tasks} == {
        (jobs.RunIf.ALL_SUCCESS, 0)}
    others = [w.jobs.create(name=f"filler-{i:03d}", tasks=[jobs.Task(
        task_key="t", spark_python_task=jobs.SparkPythonTask(python_file=paths["say"]))]).job_id
        for i in range(120)]
    listed = [job.job_id for job in w.jobs.list(limit=25)]
    assert listed == sorted([job_id, *others])
    assert [job.job_id for job in w.jobs.list(name="LIFE")] == [job_id]
    w.jobs.update(job_id, new_settings=jobs.JobSettings(description="greets"))
    assert w.jobs.get(job_id).settings.description == "greets"
    assert len(w.jobs.get(job_id).settings.tasks) == 2
    w.jobs.reset(job_id, new_settings=jobs.JobSettings(
        name="life", parameters=[who], tasks=greet_tasks(paths), max_concurrent_runs=3))
    reset = w.jobs.get(job_id).settings
    assert (reset.description, reset.max_concurrent_runs) == (None, 3)

    # When it runs with a job parameter, Then the run, its tasks and outputs read back
    run = w.jobs.run_now_and_wait(job_id, job_parameters={"who": "sdk"})
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    run = w.jobs.get_run(run.run_id)
    tasks = {t.task_key: t for t in run.tasks}
    assert set(tasks) == {"greet", "say"} and run.run_page_url.endswith(f"/runs/{run.run_id}")
    assert [p.value for p in run.job_parameters] == ["sdk"]
    greeted = w.jobs.get_run_output(tasks["greet"].run_id)
    assert greeted.notebook_output.result == "hello sdk"
    assert (greeted.metadata.job_id, greeted.metadata.tasks[0].task_key) == (job_id, "greet")
    said = w.jobs.get_run_output(tasks["say"].run_id)
    assert said.logs == "said sdk\n" and said.logs_truncated is False

    # When a notebook fails, Then the SDK raises OperationFailed with Databricks' message,
    # and the output has the error and its trace
    failing = w.jobs.create(name="failing", tasks=[jobs.Task(
        task_key="validate", notebook_task=jobs.NotebookTask(notebook_path=paths["failing"]))])
    with pytest.raises(OperationFailed) as failed:
        w.jobs.run_now_and_wait(failing.job_id)
    assert "failed to reach TERMINATED or SKIPPED, got RunLifeCycleState.INTERNAL_ERROR: " \
           "Task validate failed with message: ValueError: bad row" in str(failed.value)
    failed_run = w.jobs.list_runs(job_id=failing.job_id).__next__()
    first = w.jobs.get_run(failed_run.run_id).tasks[0]
    output = w.jobs.get_run_output(first.run_id)
    assert output.error == "ValueError: bad row"
    assert "Traceback" in output.error_trace and "bad row" in output.error_trace

    # When the notebook is fixed and the run repaired, Then it succeeds in the same run
    Path(paths["failing"]).write_text("# Databricks notebook source\nprint('fixed')\n")
    repaired = w.jobs.repair_run_and_wait(failed_run.run_id, rerun_all_failed_tasks=True)
    assert repaired.state.result_state == jobs.RunResultState.SUCCESS
    history = w.jobs.get_run(failed_run.run_id, include_history=True).repair_history
    assert [h.type for h in history] == [jobs.RepairHistoryItemType.ORIGINAL,
                                         jobs.RepairHistoryItemType.REPAIR]

    # When a long task is cancelled, Then the run ends CANCELED
    sleepy = w.jobs.create(name="sleepy", tasks=[jobs.Task(
        task_key="nap", spark_python_task=jobs.SparkPythonTask(python_file=paths["sleepy"]))])
    napping = w.jobs.run_now(sleepy.job_id).run_id
    wait_for(lambda: w.jobs.get_run(napping).state.life_cycle_state
             == jobs.RunLifeCycleState.RUNNING, what="the nap to start")
    cancelled = w.jobs.cancel_run_and_wait(napping)
    assert cancelled.state.result_state == jobs.RunResultState.CANCELED

    # When a one-time run is submitted, Then it runs like a job's
    submitted = w.jobs.submit_and_wait(run_name="once", tasks=[jobs.SubmitTask(
        task_key="say", spark_python_task=jobs.SparkPythonTask(
            python_file=paths["say"], parameters=["once"]))])
    assert submitted.state.result_state == jobs.RunResultState.SUCCESS
    assert submitted.run_type == jobs.RunType.SUBMIT_RUN and submitted.run_name == "once"

    # Then every run pages through list_runs, newest first
    all_runs = [r.run_id for r in w.jobs.list_runs(limit=2)]
    assert all_runs == sorted([run.run_id, failed_run.run_id, napping, submitted.run_id],
                              reverse=True)
    assert [r.run_id for r in w.jobs.list_runs(job_id=job_id, completed_only=True)] == [
        run.run_id]

    # When ann lets bob view the job, Then bob may read it but not run it
    w.jobs.set_permissions(str(job_id), access_control_list=[jobs.JobAccessControlRequest(
        user_name="bob", permission_level=jobs.JobPermissionLevel.CAN_VIEW)])
    levels = {(a.user_name or a.group_name, a.all_permissions[0].permission_level)
              for a in w.jobs.get_permissions(str(job_id)).access_control_list}
    assert levels == {("ann", jobs.JobPermissionLevel.IS_OWNER),
                      ("bob", jobs.JobPermissionLevel.CAN_VIEW),
                      ("admins", jobs.JobPermissionLevel.CAN_MANAGE)}  # inherited, as listed
    assert bob.jobs.get(job_id).settings.name == "life"
    with pytest.raises(PermissionDenied):
        bob.jobs.run_now(job_id)
    with pytest.raises(PermissionDenied):
        bob.jobs.get(failing.job_id)

    # Then unknown ids and bad values raise what Databricks raises
    with pytest.raises(ResourceDoesNotExist, match=r"Job 999999 does not exist\."):
        w.jobs.get(999999)
    with pytest.raises(ResourceDoesNotExist, match=r"Run 999999 does not exist\."):
        w.jobs.get_run(999999)
    with pytest.raises(InvalidParameterValue, match="unknown job parameter 'hwo'"):
        w.jobs.run_now(job_id, job_parameters={"hwo": "typo"})
    with pytest.raises(InvalidParameterValue, match="Retrieving the output of runs with "
                                                   "multiple tasks is not supported"):
        w.jobs.get_run_output(run.run_id)

    # When the job is deleted, Then it is gone and its runs stay readable
    w.jobs.delete(job_id)
    with pytest.raises(ResourceDoesNotExist):
        w.jobs.get(job_id)
    assert w.jobs.get_run(run.run_id).state.result_state == jobs.RunResultState.SUCCESS
    print(f"the SDK life cycle took {time.monotonic() - started:.1f}s")
