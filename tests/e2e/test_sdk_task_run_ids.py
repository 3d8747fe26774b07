"""A task run's id handed by the databricks-sdk to the calls about runs: `get_run` and
`cancel_run` take it, as Lakeflow's do (the cancel stops that task); `delete_run` and
`repair_run` take a job run's id, and say which one to give instead of "does not exist"."""

from __future__ import annotations

from pathlib import Path

import pytest
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs

from tests.servers import Server, wait_for

from .conftest import sdk_client


def test_delete_and_repair_of_a_task_run_id_name_its_job_run(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run that ended
    (tmp_path / "load.py").write_text("print('loaded')\n")
    token = server.token("ann")
    w = sdk_client(server, token, monkeypatch)
    job_id = w.jobs.create(name="loads", tasks=[jobs.Task(
        task_key="load", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "load.py")))]).job_id
    ended = w.jobs.run_now_and_wait(job_id)
    run_id, task_run_id = ended.run_id, ended.tasks[0].run_id

    # When the task run's id is given where a job run's is needed
    with pytest.raises(InvalidParameterValue) as deleted:
        w.jobs.delete_run(task_run_id)
    with pytest.raises(InvalidParameterValue) as repaired:
        w.jobs.repair_run(task_run_id, rerun_tasks=["load"])
    answer = server.call("POST", "/api/2.2/jobs/runs/delete", {"run_id": task_run_id},
                         token=token)
    w.jobs.cancel_run(task_run_id)  # an ended task run: nothing to do, as for an ended run

    # Then each says whose task run it is and which id to give, and nothing changed
    assert str(deleted.value) == (
        f"Run {task_run_id} is a task run of run {run_id} (task 'load'); only a whole job run "
        f"can be deleted: delete run {run_id} (its task runs go with it).")
    assert str(repaired.value) == (
        f"Run {task_run_id} is a task run of run {run_id} (task 'load'); a repair takes the id "
        f"of a job run: repair run {run_id}, naming the task 'load' to rerun it.")
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    task_run = w.jobs.get_run(task_run_id)  # still there, and it names its job run's identity
    assert (task_run.run_id, task_run.job_id, task_run.run_name, task_run.creator_user_name,
            task_run.run_type) == (task_run_id, job_id, "loads", "ann", jobs.RunType.JOB_RUN)
    assert w.jobs.get_run(run_id).state.result_state == jobs.RunResultState.SUCCESS


def test_cancel_run_of_a_running_task_run_s_id_cancels_that_task(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run whose one task naps
    (tmp_path / "nap.py").write_text("import time\ntime.sleep(120)\n")
    w = sdk_client(server, server.token("ann"), monkeypatch)
    job_id = w.jobs.create(name="naps", tasks=[jobs.Task(
        task_key="nap", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "nap.py")))]).job_id
    run_id = w.jobs.run_now(job_id).run_id
    task_run_id = wait_for(lambda: next(
        (task.run_id for task in w.jobs.get_run(run_id).tasks or []
         if task.state.life_cycle_state == jobs.RunLifeCycleState.RUNNING), None),
        what="the task to run")

    # When the SDK cancels the task run by its id
    w.jobs.cancel_run(task_run_id)
    ended = wait_for(lambda: (run := w.jobs.get_run(run_id)).state.result_state and run,
                     what="the run to end")

    # Then that task ended cancelled, and the run as its cancelled leaf decides (a task is
    # cancelled, not the run: docs/semantics.md, "The run's result")
    assert ended.tasks[0].state.result_state == jobs.RunResultState.CANCELED
    assert ended.tasks[0].state.state_message == "Task was cancelled by a user."
    assert ended.state.result_state == jobs.RunResultState.FAILED
