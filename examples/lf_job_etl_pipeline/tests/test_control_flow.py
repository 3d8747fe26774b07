"""The pipeline's control flow, pinned: what runs, what is skipped and who hears of it when a
task fails. Simulated by headwater's own state machine, so nothing runs and each test takes
milliseconds: `pytest examples/lf_job_etl_pipeline/tests`.
"""

from datetime import timedelta
from pathlib import Path

from headwater.testing import simulate_failures, simulate_job

JOB = Path(__file__).parents[1] / "databricks.yml"
ONCALL = ("data-oncall@example.com",)


def test_when_ingestion_fails_after_its_retries_the_report_is_skipped_and_oncall_alerted():
    run = simulate_job(JOB, target="dev", fail=["bronze_ingest"])

    assert run.task("bronze_ingest").attempt_count == 4  # max_retries: 3
    assert run.wall_time == timedelta(seconds=3)  # 1 s between attempts in dev
    assert run.task("transform_silver_orders").result_state == "UPSTREAM_FAILED"
    assert run.task("report").result_state == "UPSTREAM_FAILED"
    assert run.task("alert_on_failure").result_state == "SUCCESS"
    assert run.result_state == "FAILED"
    assert [(alert.event, alert.emails) for alert in run.alerts] == [("on_failure", ONCALL)]


def test_in_prod_the_retries_wait_a_minute_each():
    run = simulate_job(JOB, target="prod", fail=["bronze_ingest"])

    assert run.wall_time == timedelta(minutes=3)


def test_a_transient_ingestion_failure_is_absorbed_by_a_retry():
    run = simulate_job(JOB, fail={"bronze_ingest": 1})

    assert [a.result_state for a in run.task("bronze_ingest").attempts] == ["FAILED", "SUCCESS"]
    assert run.task("alert_on_failure").result_state == "EXCLUDED"
    assert run.result_state == "SUCCESS"
    assert run.alerts[0].event == "on_success"  # to the ops webhook


def test_when_validation_fails_the_report_is_skipped_and_the_alert_task_runs():
    run = simulate_job(JOB, fail=["validation"])

    assert run.task("validation").attempt_count == 2  # max_retries: 1
    assert run.task("quality_gate").result_state == "UPSTREAM_FAILED"
    assert run.task("report").result_state == "UPSTREAM_FAILED"
    assert run.task("alert_on_failure").result_state == "SUCCESS"
    assert run.result_state == "FAILED"


def test_when_validation_says_no_the_batch_is_quarantined_and_oncall_alerted():
    # quality_gate compares a task value: the simulation needs to be told the branch.
    # quarantine_batch exits 1 on purpose, so that the run fails and the alerts go out.
    run = simulate_job(JOB, outcomes={"quality_gate": False}, fail=["quarantine_batch"])

    assert run.task("report").result_state == "EXCLUDED"
    assert run.task("quarantine_batch").result_state == "FAILED"
    assert run.task("alert_on_failure").result_state == "EXCLUDED"  # validation itself passed
    assert run.result_state == "FAILED"
    assert [alert.emails for alert in run.alerts] == [ONCALL]


def test_a_hung_validation_is_stopped_by_its_timeout_and_not_retried():
    run = simulate_job(JOB, timeout=["validation"])

    validation = run.task("validation")
    assert (validation.result_state, validation.state_message) == (
        "TIMEDOUT", "Task timed out after 300 seconds.")
    assert validation.attempt_count == 1  # retry_on_timeout is off
    assert run.task("alert_on_failure").result_state == "SUCCESS"
    assert run.wall_time == timedelta(seconds=300)


def test_a_slow_day_warns_oncall_after_15_minutes_but_succeeds():
    run = simulate_job(JOB, durations={"generate_raw_data": 100, "bronze_ingest": 550,
                                       "validation": 290})

    assert run.result_state == "SUCCESS"
    warning, success = run.alerts
    assert (warning.event, warning.at, warning.emails) == (
        "on_duration_warning_threshold_exceeded", timedelta(minutes=15), ONCALL)
    assert (success.event, success.at) == ("on_success", timedelta(seconds=940))


def test_every_failure_of_every_task_is_heard_of():
    cases = simulate_failures(JOB)

    assert [case.task_key for case in cases if not case.handled] == []
