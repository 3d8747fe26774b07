"""What the real databricks-sdk reads of a run, as Lakeflow's `runs/get` fills it: each task
entry with its task's settings, the run's job clusters, the schedule that fired it, and why a
queued run waits; and run-now's serverless fields accepted as Lakeflow's are."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from databricks.sdk.errors import OperationFailed
from databricks.sdk.service import compute, jobs

from tests.servers import Server, database_url, wait_for

from .conftest import sdk_client


def test_a_run_s_tasks_carry_their_settings_and_the_run_its_job_clusters(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok.py").write_text("print('ok')\n")
    ok = jobs.SparkPythonTask(python_file=str(tmp_path / "ok.py"))
    w = sdk_client(server, server.token("ann"), monkeypatch)
    small = jobs.JobCluster(job_cluster_key="small", new_cluster=compute.ClusterSpec(
        spark_version="15.4.x-scala2.12", num_workers=0))
    job_id = w.jobs.create(name="documented", job_clusters=[small], tasks=[
        jobs.Task(task_key="on_cluster", job_cluster_key="small", spark_python_task=ok),
        jobs.Task(task_key="careful", depends_on=[jobs.TaskDependency(task_key="on_cluster")],
                  max_retries=2, min_retry_interval_millis=1000, retry_on_timeout=True,
                  timeout_seconds=60, description="retries twice",
                  email_notifications=jobs.TaskEmailNotifications(on_failure=["ops@localhost"]),
                  spark_python_task=ok)]).job_id

    # run-now's serverless fields are accepted, without effect here
    ended = w.jobs.run_now_and_wait(job_id, duration_target="2",
                                    performance_target=jobs.PerformanceTarget.STANDARD)
    run = w.jobs.get_run(ended.run_id)

    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert [c.job_cluster_key for c in run.job_clusters] == ["small"]
    assert run.job_clusters == w.jobs.get(job_id).settings.job_clusters  # as the job has them
    assert run.job_clusters[0].new_cluster.num_workers == 0
    tasks = {task.task_key: task for task in run.tasks}
    on_cluster, careful = tasks["on_cluster"], tasks["careful"]
    assert (on_cluster.job_cluster_key, careful.job_cluster_key) == ("small", None)
    assert (careful.max_retries, careful.min_retry_interval_millis, careful.retry_on_timeout,
            careful.timeout_seconds, careful.description) == (2, 1000, True, 60,
                                                              "retries twice")
    assert careful.email_notifications.on_failure == ["ops@localhost"]
    # what a task leaves unset stays unset, but for no timeout, written out as 0 (as jobs/get)
    assert (on_cluster.max_retries, on_cluster.timeout_seconds) == (None, 0)


def test_a_queued_run_says_why_it_waits(server: Server, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nap.py").write_text("import time\ntime.sleep(120)\n")
    w = sdk_client(server, server.token("ann"), monkeypatch)
    job_id = w.jobs.create(name="one_at_a_time", max_concurrent_runs=1, tasks=[jobs.Task(
        task_key="nap", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "nap.py")))]).job_id
    first = w.jobs.run_now(job_id).run_id
    second = w.jobs.run_now(job_id).run_id
    try:
        waiting = w.jobs.get_run(second)
        assert waiting.state.life_cycle_state == jobs.RunLifeCycleState.QUEUED
        assert waiting.state.queue_reason == \
            "The job has as many active runs as max_concurrent_runs allows."
        assert waiting.status.queue_details.code == \
            jobs.QueueDetailsCodeCode.MAX_CONCURRENT_RUNS_REACHED
    finally:
        w.jobs.cancel_all_runs(job_id=job_id)
    wait_for(lambda: all(w.jobs.get_run(run_id).state.life_cycle_state
                         == jobs.RunLifeCycleState.TERMINATED for run_id in (first, second)),
             what="both runs to end")


def test_run_pages_are_at_the_public_url_when_headwater_yml_gives_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "headwater.yml").write_text(
        "server:\n  public_url: https://headwater.example.com/etl/\n")
    behind_a_proxy = Server(tmp_path, database_url("sqlite", tmp_path)).start()
    try:
        w = sdk_client(behind_a_proxy, behind_a_proxy.token("ann"), monkeypatch)
        run = w.jobs.submit_and_wait(run_name="once", tasks=[jobs.SubmitTask(
            task_key="t", condition_task=jobs.ConditionTask(
                op=jobs.ConditionTaskOp.EQUAL_TO, left="1", right="1"))])
        assert run.run_page_url == f"https://headwater.example.com/etl/runs/{run.run_id}"
        assert run.tasks[0].run_page_url == \
            f"https://headwater.example.com/etl/runs/{run.tasks[0].run_id}"
    finally:
        behind_a_proxy.close()


def test_a_schedule_given_no_pause_status_reads_unpaused_in_the_job_and_its_runs(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given jobs made with a schedule and a trigger that name no pause status
    w = sdk_client(server, server.token("ann"), monkeypatch)
    check = [jobs.Task(task_key="check", condition_task=jobs.ConditionTask(
        op=jobs.ConditionTaskOp.EQUAL_TO, left="1", right="1"))]
    every_second = jobs.CronSchedule(quartz_cron_expression="* * * * * ?", timezone_id="UTC")
    cron_id = w.jobs.create(name="cron", schedule=every_second, tasks=check).job_id
    hourly = jobs.TriggerSettings(periodic=jobs.PeriodicTriggerConfiguration(
        interval=1, unit=jobs.PeriodicTriggerConfigurationTimeUnit.HOURS))
    periodic_id = w.jobs.create(name="periodic", trigger=hourly, tasks=check).job_id

    # When the SDK reads them, and a run the schedule started
    cron, periodic = w.jobs.get(cron_id), w.jobs.get(periodic_id)
    listed = {job.job_id: job for job in w.jobs.list()}
    fired = wait_for(lambda: next(iter(w.jobs.list_runs(job_id=cron_id)), None),
                     what="a run of the schedule")
    w.jobs.update(cron_id, new_settings=jobs.JobSettings(schedule=jobs.CronSchedule(
        quartz_cron_expression="* * * * * ?", timezone_id="UTC",
        pause_status=jobs.PauseStatus.PAUSED)))

    # Then each is UNPAUSED, Lakeflow's default, until paused
    unpaused = jobs.PauseStatus.UNPAUSED
    assert cron.settings.schedule.pause_status == unpaused
    assert periodic.settings.trigger.pause_status == unpaused
    assert listed[cron_id].settings.schedule.pause_status == unpaused
    assert listed[periodic_id].settings.trigger.pause_status == unpaused
    assert w.jobs.get_run(fired.run_id).schedule.pause_status == unpaused
    assert w.jobs.get(cron_id).settings.schedule.pause_status == jobs.PauseStatus.PAUSED


def test_a_repair_with_changed_settings_leaves_the_earlier_attempts_as_they_ran(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run whose task failed running boom.py
    (tmp_path / "boom.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "ok.py").write_text("print('ok')\n")
    token = server.token("ann")
    w = sdk_client(server, token, monkeypatch)
    job_id = w.jobs.create(name="fixed_later", tasks=[jobs.Task(
        task_key="a", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "boom.py")))]).job_id
    run_id = w.jobs.run_now(job_id).run_id
    with pytest.raises(OperationFailed):
        w.jobs.wait_get_run_job_terminated_or_skipped(run_id, timeout=timedelta(minutes=2))
    failed = w.jobs.get_run(run_id).tasks[0]

    # When the job is fixed and the run repaired
    w.jobs.update(job_id, new_settings=jobs.JobSettings(tasks=[jobs.Task(
        task_key="a", spark_python_task=jobs.SparkPythonTask(
            python_file=str(tmp_path / "ok.py"), parameters=["fixed"]))]))
    repaired = w.jobs.repair_run_and_wait(run_id, rerun_all_failed_tasks=True)

    # Then the failed attempt still shows the file it ran; the repair's shows the new one
    first, second = sorted(repaired.tasks, key=lambda task: task.run_id)
    assert first.run_id == failed.run_id
    assert first.spark_python_task.python_file == str(tmp_path / "boom.py")
    assert not first.spark_python_task.parameters
    assert second.spark_python_task.parameters == ["fixed"]
    alone = server.call("GET", f"/api/2.2/jobs/runs/get?run_id={first.run_id}", token=token)
    assert alone.body["spark_python_task"]["python_file"].endswith("boom.py")
    output = w.jobs.get_run_output(first.run_id)
    assert output.metadata.tasks[0].spark_python_task.python_file.endswith("boom.py")
