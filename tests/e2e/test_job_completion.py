"""Job-completion triggers through the real databricks-sdk against a real `headwater server`:
a report job starts once both upstream jobs succeeded, even with a server restart between the
two; the SDK reads the run's trigger and the trigger's state; bad upstream ids are refused."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs

from tests.servers import Server

from .conftest import sdk_client


def client(server: Server, monkeypatch: pytest.MonkeyPatch) -> WorkspaceClient:
    return sdk_client(server, server.token("ann"), monkeypatch)


def create(w: WorkspaceClient, name: str, command: str = "true", **settings: object) -> int:
    """A job of one shell task (a headwater task type, which the SDK has no class for)."""
    body = {"name": name, "tasks": [{"task_key": "step", "shell_command_task": {
        "command": command, "env": {"TYPE": "{{job.trigger.type}}"}}}], **settings}
    created = w.api_client.do("POST", "/api/2.2/jobs/create", body=body)
    assert isinstance(created, dict)
    return int(created["job_id"])


def monitored(*job_ids: int) -> jobs.TriggerSettings:
    return jobs.TriggerSettings(job_completion=jobs.JobCompletionTriggerConfiguration(
        jobs=[jobs.JobCompletionTriggerConfigurationMonitoredJob(workspace_id="1",
                                                                 job_id=str(job_id))
              for job_id in job_ids]))


def report_runs(w: WorkspaceClient, job_id: int) -> list[jobs.BaseRun]:
    return list(w.jobs.list_runs(job_id=job_id))


def wait_for_runs(w: WorkspaceClient, job_id: int, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(report_runs(w, job_id)) < count:
        assert time.monotonic() < deadline, f"job {job_id} did not reach {count} runs"
        time.sleep(0.3)


def test_a_report_starts_once_both_upstream_jobs_succeeded_across_a_server_restart(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = client(server, monkeypatch)
    ingest, enrich = create(w, "ingest"), create(w, "enrich")
    ledger = tmp_path / "ledger"
    report_id = create(w, "report", f'echo "$TYPE" >> {ledger}',
                       trigger=monitored(ingest, enrich).as_dict())
    # At once: a run that ends before the scheduler first looks at the new trigger counts
    first = w.jobs.run_now_and_wait(ingest, timeout=timedelta(minutes=2))
    server.stop()
    server.start()
    second = w.jobs.run_now_and_wait(enrich, timeout=timedelta(minutes=2))
    wait_for_runs(w, report_id, 1)

    [run] = report_runs(w, report_id)
    assert run.run_id is not None
    fired = w.jobs.wait_get_run_job_terminated_or_skipped(run.run_id)
    assert fired.trigger == jobs.TriggerType.JOB_COMPLETION
    assert fired.state is not None and fired.state.result_state == jobs.RunResultState.SUCCESS
    assert fired.trigger_info is not None and fired.trigger_info.job_completion is not None
    completed = fired.trigger_info.job_completion.completed_jobs or []
    assert [(c.job_id, c.run_id, c.termination_code) for c in completed] == [
        (str(ingest), str(first.run_id), jobs.TerminationCodeCode.SUCCESS),
        (str(enrich), str(second.run_id), jobs.TerminationCodeCode.SUCCESS)]
    assert completed[0].completion_time is not None
    assert ledger.read_text() == "job_completion\n"

    job = w.jobs.get(report_id, include_trigger_state=True)
    assert job.trigger_state is not None and job.trigger_state.job_completion is not None
    states = job.trigger_state.job_completion.monitored_job_states or []
    assert [(s.job_id, s.has_seen_completion, s.last_seen_run_id) for s in states] == [
        (str(ingest), False, str(first.run_id)), (str(enrich), False, str(second.run_id))]
    assert w.jobs.get(report_id).trigger_state is None  # only when asked, as on Databricks


def test_an_upstream_job_that_does_not_exist_or_the_job_itself_is_refused(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    w = client(server, monkeypatch)
    ingest = create(w, "ingest")
    with pytest.raises(InvalidParameterValue,
                       match=r"trigger.job_completion.jobs\[1\].job_id: job 999 does not exist"):
        w.jobs.create(name="report", trigger=monitored(ingest, 999), tasks=[
            jobs.Task(task_key="t", spark_python_task=jobs.SparkPythonTask(python_file="t.py"))])
    with pytest.raises(InvalidParameterValue, match="job 99999999999 does not exist"):
        w.jobs.create(name="report", trigger=monitored(99999999999), tasks=[  # past int32
            jobs.Task(task_key="t", spark_python_task=jobs.SparkPythonTask(python_file="t.py"))])
    with pytest.raises(InvalidParameterValue, match="cannot wait for its own runs"):
        w.jobs.update(ingest, new_settings=jobs.JobSettings(trigger=monitored(ingest)))


def test_the_sdk_s_multiple_triggers_fire_each_on_its_own(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a job with the multi-trigger list (the SDK's `triggers`): a paused cron schedule,
    # and the completion of an upstream job
    w = client(server, monkeypatch)
    ingest = create(w, "ingest")
    ledger = tmp_path / "ledger"
    triggers = [
        jobs.TriggerConfiguration(schedule=jobs.CronTriggerConfiguration(
            quartz_cron_expression="0 0 6 * * ?", timezone_id="UTC"),
            pause_status=jobs.PauseStatus.PAUSED),
        jobs.TriggerConfiguration(job_completion=monitored(ingest).job_completion)]
    report_id = create(w, "report", f'echo "$TYPE" >> {ledger}',
                       triggers=[t.as_dict() for t in triggers])
    settings = w.jobs.get(report_id).settings
    # read back as written, with the default pause status written out as Lakeflow's GET does
    triggers[1].pause_status = jobs.PauseStatus.UNPAUSED
    assert settings is not None and settings.triggers == triggers

    # When the upstream job succeeds
    w.jobs.run_now_and_wait(ingest, timeout=timedelta(minutes=2))

    # Then its entry started the report; the paused schedule started nothing
    wait_for_runs(w, report_id, 1)
    [run] = report_runs(w, report_id)
    assert run.trigger == jobs.TriggerType.JOB_COMPLETION
    # And each entry's state and the run it last started read back, in the entries' order
    details = w.jobs.get(report_id, include_trigger_state=True).trigger_details or []
    states = [d.state for d in details]
    assert [(s.pause_status, s.schedule is not None) for s in states if s] == [
        (jobs.PauseStatus.PAUSED, True), (jobs.PauseStatus.UNPAUSED, False)]
    completion = states[1].job_completion if states[1] else None
    assert completion is not None and [(m.job_id, m.has_seen_completion) for m in
                                       completion.monitored_job_states or []] == [
        (str(ingest), False)]
    history = jobs.Job.from_dict(w.api_client.do("GET", "/api/2.2/jobs/get", query={
        "job_id": report_id, "include_trigger_history": "true"})).trigger_details or []
    assert [d.state for d in history] == [None, None]  # the state only when asked for
    lasts = [d.history.last_triggered if d.history else None for d in history]
    assert lasts[0] is None and lasts[1] is not None and lasts[1].run_id == run.run_id
    assert not w.jobs.get(report_id).trigger_details  # only when asked (the SDK reads [])
    # And an entry naming a job that does not exist is refused at its path
    with pytest.raises(InvalidParameterValue,
                       match=r"triggers\[0\].job_completion.jobs\[0\].job_id: job 999 does"):
        w.jobs.update(report_id, new_settings=jobs.JobSettings(triggers=[
            jobs.TriggerConfiguration(job_completion=monitored(999).job_completion)]))
