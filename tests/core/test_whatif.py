"""What-if runs: a scenario through the real `decide`, read back as a real run would show it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from headwater.core.notifications import NotificationEvent
from headwater.core.spec import JobSettings
from headwater.core.states import ResultState
from headwater.core.whatif import CONDITION_FAILURE, FAILURE_MESSAGE, simulate_run
from headwater.core.whatif_results import SimulatedRun
from headwater.core.whatif_scenario import Scenario, ScenarioError
from headwater.engine.run_driver import exit_message
from headwater.ports import AttemptKey, TaskExit

from .helpers import task


def job(*tasks: dict[str, Any], **fields: Any) -> JobSettings:
    return JobSettings.model_validate({"name": "etl", "tasks": list(tasks), **fields})


def results(run: SimulatedRun) -> dict[str, str | None]:
    return {key: None if value is None else str(value) for key, value in run.results().items()}


def condition(key: str, left: str, right: str, *deps: str, op: str = "EQUAL_TO",
              **fields: Any) -> dict[str, Any]:
    return task(key, *deps, condition_task={"op": op, "left": left, "right": right}, **fields)


def loop(key: str, inputs: str, *deps: str, **nested: Any) -> dict[str, Any]:
    inner = {"task_key": f"{key}_item", "shell_command_task": {"command": "true"}, **nested}
    return task(key, *deps, for_each_task={"inputs": inputs, "concurrency": 2, "task": inner})


def test_a_failed_task_shows_every_attempt_and_the_intervals_make_the_wall_time() -> None:
    settings = job(task("ingest", max_retries=2, min_retry_interval_millis=5000),
                   task("report", "ingest"))

    run = simulate_run(settings, Scenario(fail={"ingest": None}))

    ingest = run.task("ingest")
    assert [(a.attempt_number, a.start, a.result_state) for a in ingest.attempts] == [
        (0, timedelta(0), "FAILED"), (1, timedelta(seconds=5), "FAILED"),
        (2, timedelta(seconds=10), "FAILED")]
    assert ingest.state_message == FAILURE_MESSAGE
    report = run.task("report")
    assert (report.result_state, report.state_message, report.ran) == (
        "UPSTREAM_FAILED", "Upstream task ingest did not succeed.", False)
    assert (run.life_cycle_state, run.result_state) == ("INTERNAL_ERROR", "FAILED")
    assert run.state_message == f"Task ingest failed with message: {FAILURE_MESSAGE}"
    assert (run.status.state, run.status.code) == ("TERMINATED", "RUN_EXECUTION_ERROR")
    assert run.wall_time == timedelta(seconds=10)


def test_the_failure_message_is_the_engines_for_an_exit_code_of_1() -> None:
    assert exit_message(TaskExit(AttemptKey(1, 1), exit_code=1)) == FAILURE_MESSAGE


def test_failing_the_first_attempts_only_lets_a_retry_succeed() -> None:
    run = simulate_run(job(task("ingest", max_retries=3)), Scenario(fail={"ingest": 2}))
    assert [a.result_state for a in run.task("ingest").attempts] == ["FAILED", "FAILED",
                                                                      "SUCCESS"]
    assert run.result_state is ResultState.SUCCESS


def test_nothing_failing_is_a_success_that_takes_no_time() -> None:
    run = simulate_run(job(task("a"), task("b", "a")))
    assert results(run) == {"a": "SUCCESS", "b": "SUCCESS"}
    assert (run.result_state, run.wall_time, run.assumptions, run.notes) == (
        "SUCCESS", timedelta(0), (), ())


def test_a_timeout_is_retried_only_with_retry_on_timeout() -> None:
    settings = job(task("slow", timeout_seconds=60, max_retries=1, retry_on_timeout=True),
                   task("stubborn", timeout_seconds=30, max_retries=1))

    run = simulate_run(settings, Scenario(timeout={"slow": None, "stubborn": None}))

    assert [(a.result_state, a.state_message) for a in run.task("slow").attempts] == [
        ("TIMEDOUT", "Task timed out after 60 seconds.")] * 2
    assert run.task("stubborn").attempt_count == 1
    assert run.wall_time == timedelta(seconds=120)


def test_a_hung_task_without_its_own_timeout_times_the_job_out() -> None:
    settings = job(task("hang"), task("after", "hang"), task("beside"),
                   timeout_seconds=3600)

    run = simulate_run(settings, Scenario(timeout={"hang": None},
                                          durations={"beside": timedelta(hours=2)}))

    assert results(run) == {"hang": "TIMEDOUT", "after": "CANCELED", "beside": "TIMEDOUT"}
    assert run.task("hang").state_message == "The job timed out after 3600 seconds."
    assert (run.result_state, run.state_message) == (
        "TIMEDOUT", "The job run timed out after 3600 seconds.")
    assert run.wall_time == timedelta(hours=1)


def test_a_condition_on_a_job_parameter_is_decided_by_its_value() -> None:
    settings = job(condition("is_prod", "{{job.parameters.env}}", "prod"),
                   task("publish", "is_prod:true"), task("preview", "is_prod:false"),
                   parameters=[{"name": "env", "default": "dev"}])

    default = simulate_run(settings)
    prod = simulate_run(settings, Scenario(parameters={"env": "prod"}))

    assert results(default) == {"is_prod": "SUCCESS", "publish": "EXCLUDED",
                                "preview": "SUCCESS"}
    assert default.task("is_prod").condition_outcome == "false"
    assert default.task("publish").state_message == (
        "Task was excluded: the condition 'is_prod' took the other branch.")
    assert results(prod)["publish"] == "SUCCESS" and results(prod)["preview"] == "EXCLUDED"
    assert default.assumptions == prod.assumptions == ()


def test_a_condition_on_a_task_value_assumes_the_true_branch_and_says_so() -> None:
    settings = job(task("validate"),
                   condition("gate", "{{tasks.validate.values.passed}}", "true", "validate"),
                   task("report", "gate:true"), task("quarantine", "gate:false"))

    assumed = simulate_run(settings)
    chosen = simulate_run(settings, Scenario(outcomes={"gate": False}))

    assert results(assumed)["report"] == "SUCCESS"
    [assumption] = assumed.assumptions
    assert (assumption.task_key, assumption.kind, assumption.value) == ("gate", "outcome", "true")
    assert str(assumption) == ("gate takes its 'true' branch: "
                               "{{tasks.validate.values.passed}} is known only at run time")
    assert results(chosen)["report"] == "EXCLUDED"
    assert results(chosen)["quarantine"] == "SUCCESS"
    assert chosen.assumptions == ()


def test_a_condition_on_an_upstream_result_state_is_known() -> None:
    settings = job(task("ingest"),
                   condition("ok", "{{tasks.ingest.result_state}}", "success", "ingest",
                             run_if="ALL_DONE"),
                   task("load", "ok:true"), task("page", "ok:false"))

    run = simulate_run(settings, Scenario(fail={"ingest": None}))

    assert run.task("ok").condition_outcome == "false"
    assert results(run)["page"] == "SUCCESS" and results(run)["load"] == "EXCLUDED"
    assert run.assumptions == ()


def test_a_task_reading_the_values_of_a_task_that_did_not_run_fails_to_start() -> None:
    reader = {"spark_python_task": {"python_file": "echo.py", "parameters": [
        "{{tasks.branch.values.v}}", "{{tasks.other.values.w}}"]}}
    settings = job(condition("gate", "{{job.parameters.go}}", "yes"), task("branch", "gate:true"),
                   task("other"), task("reader", "branch", "other", run_if="NONE_FAILED",
                                       **reader),
                   parameters=[{"name": "go", "default": "no"}])

    excluded = simulate_run(settings)
    ran = simulate_run(settings, Scenario(parameters={"go": "yes"}))

    # branch was excluded: it set no values, and the engine fails the reader as it starts
    assert results(excluded)["reader"] == "FAILED"
    assert excluded.task("reader").state_message == (
        "The task could not start: {{tasks.branch.values.v}}: task 'branch' ended EXCLUDED "
        "without running, so it set no values; depend on the condition outcome that runs it "
        "too, so that this task is excluded with it")
    assert [a.attempt_number for a in excluded.task("reader").attempts] == [0]  # no retry
    # branch ran: what it set is known only at run time, and the reader is taken to start
    assert results(ran)["reader"] == "SUCCESS"


def test_a_condition_fails_as_the_engine_fails_it() -> None:
    settings = job(condition("big", "many", "10", op="GREATER_THAN"),
                   condition("ghost", "{{job.parameters.nope}}", "x"),
                   condition("forced", "1", "1"))

    run = simulate_run(settings, Scenario(fail={"forced": None}))

    assert run.task("big").state_message.startswith("the left operand 'many' is not a number")
    assert run.task("ghost").state_message == "{{job.parameters.nope}}: no job parameter 'nope'"
    assert run.task("forced").state_message == CONDITION_FAILURE
    assert {t.result_state for t in run.tasks} == {ResultState.FAILED}


def test_a_for_each_over_literal_inputs_fails_when_one_iteration_fails() -> None:
    settings = job(loop("tables", '["orders", "customers", "products"]', max_retries=1),
                   task("after", "tables"))

    run = simulate_run(settings, Scenario(fail_iterations={"tables": {1: None}}))

    tables = run.task("tables")
    assert (tables.result_state, tables.state_message) == ("FAILED", "1 of 3 iterations failed: iteration 1 (input \"customers\"): The task's process "
        "exited with code 1.")
    assert [(i.iteration, i.attempt_number, str(i.result_state)) for i in tables.iterations] == [
        (0, 0, "SUCCESS"), (1, 0, "FAILED"), (1, 1, "FAILED"), (2, 0, "SUCCESS")]
    assert results(run)["after"] == "UPSTREAM_FAILED"


def test_a_for_each_over_unknown_inputs_assumes_its_iterations_and_says_so() -> None:
    settings = job(task("list"), loop("each", "{{tasks.list.values.tables}}", "list"))

    assumed = simulate_run(settings, Scenario(fail_iterations={"each": {2: None}}))
    told = simulate_run(settings, Scenario(iterations={"each": 5}))

    assert len(assumed.task("each").iterations) == 3
    assert [str(a) for a in assumed.assumptions] == [
        "each runs 3 iterations: {{tasks.list.values.tables}} is known only at run time"]
    assert assumed.task("each").state_message == (
        "1 of 3 iterations failed: iteration 2 (input 2): The task's process exited with code 1.")
    assert len(told.task("each").iterations) == 5 and told.assumptions == ()


def test_more_iterations_than_a_simulation_runs_are_refused_before_any_work() -> None:
    # A page any viewer may open must not make the server build 100,000,000 iterations
    settings = job(task("list"), loop("each", "{{tasks.list.values.tables}}", "list"))

    with pytest.raises(ScenarioError) as caught:
        simulate_run(settings, Scenario(iterations={"each": 100_000_000}))

    assert [str(p) for p in caught.value.problems] == [
        "iterations each: at most 2,000: a simulated run stops at 2,000 attempts"]
    assert len(simulate_run(settings, Scenario(iterations={"each": 1_000})).task(
        "each").iterations) == 1_000


def test_failing_a_for_each_fails_every_iteration() -> None:
    run = simulate_run(job(loop("each", "[1, 2]")), Scenario(fail={"each": None}))
    assert run.task("each").state_message == (
        "2 of 2 iterations failed: iteration 0 (input 1): The task's process exited with code 1; "
        "iteration 1 (input 2): The task's process exited with code 1.")


def test_a_cancel_while_a_task_runs_spreads_but_cleanup_runs() -> None:
    settings = job(task("extract"), task("load", "extract"), task("sibling", "extract"),
                   task("report", "load"), task("cleanup", "load", run_if="ALL_DONE"),
                   notification_settings={"no_alert_for_canceled_runs": True},
                   email_notifications={"on_failure": ["oncall@example.com"]})

    run = simulate_run(settings, Scenario(cancel_at="load",
                                          durations={"sibling": timedelta(seconds=30)}))

    assert results(run) == {"extract": "SUCCESS", "load": "CANCELED", "sibling": "CANCELED",
                            "report": "UPSTREAM_CANCELED", "cleanup": "SUCCESS"}
    assert run.task("load").state_message == "Task was cancelled by a user."
    assert (run.result_state, run.state_message) == ("CANCELED", "The run was cancelled.")
    assert run.alerts == ()  # no_alert_for_canceled_runs
    assert run.wall_time == timedelta(0)  # the cancel kills what runs at once


def test_alerts_say_what_and_to_whom() -> None:
    settings = job(
        task("ingest", max_retries=2,
             email_notifications={"on_failure": ["data@example.com"]},
             notification_settings={"alert_on_last_attempt": True}),
        task("slow", health={"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN",
                                         "value": 10}]},
             email_notifications={"on_duration_warning_threshold_exceeded": ["ops@example.com"]}),
        email_notifications={"on_start": ["start@example.com"],
                             "on_failure": ["oncall@example.com"]},
        webhook_notifications={"on_failure": [{"id": "pager"}]})

    run = simulate_run(settings, Scenario(fail={"ingest": None},
                                          durations={"slow": timedelta(seconds=25)}))

    assert [(a.event, a.task_key, a.attempt_number, a.at, a.emails, a.destinations)
            for a in run.alerts] == [
        (NotificationEvent.ON_START, None, None, timedelta(0), ("start@example.com",), ()),
        (NotificationEvent.ON_FAILURE, "ingest", 2, timedelta(0), ("data@example.com",), ()),
        (NotificationEvent.ON_DURATION_WARNING, "slow", 0, timedelta(seconds=10),
         ("ops@example.com",), ()),
        (NotificationEvent.ON_FAILURE, None, None, timedelta(seconds=25),
         ("oncall@example.com",), ("pager",)),
    ]


def test_every_problem_of_a_scenario_is_reported_at_once() -> None:
    settings = job(task("ingest", max_retries=-1), task("off", disabled=True),
                   condition("gate", "1", "1"), loop("each", "[1, 2]"))

    with pytest.raises(ScenarioError) as caught:
        simulate_run(settings, Scenario(
            fail={"ingset": None, "ingest": None, "off": None, "each_item": None},
            timeout={"gate": None, "ingest": 0}, outcomes={"ingest": True},
            fail_iterations={"each": {5: None}}, cancel_at="gate",
            durations={"gate": timedelta(seconds=5), "each": timedelta(seconds=-1)},
            parameters={"evn": "prod"}))

    assert [str(p) for p in caught.value.problems] == [
        "fail ingset: no task 'ingset' in the job (did you mean 'ingest'?)",
        "fail each_item: 'each_item' is the task of the for-each 'each': name the loop (every "
        "iteration), or one iteration as each:INDEX",
        "fail ingest: the task retries forever (max_retries: -1), so it never fails for good: "
        "say how many attempts fail, as ingest:N",
        "fail off: the task is disabled: it never runs, so it cannot fail",
        "timeout gate: a condition is evaluated at once: it cannot time out",
        "timeout ingest: the number of attempts must be at least 1",
        "timeout ingest: fail names it too: choose one",
        "cancel_at gate: a condition is evaluated at once: a cancel cannot catch it running",
        "durations gate: a condition is evaluated at once: it takes no time",
        "durations each: a duration cannot be negative",
        "outcomes ingest: not a condition task (it is a shell_command_task): only conditions "
        "branch",
        "fail_iterations each:5: the loop runs 2 iterations (indexes 0 to 1)",
        "parameters evn: unknown job parameter 'evn'; the job declares: none. Declare it in "
        "the job's parameters (`parameters:` of its job file, or jobs/update), or leave it out.",
    ]


def test_what_the_scenario_asked_of_tasks_that_never_ran_is_noted() -> None:
    settings = job(task("a"), task("b", "a"), condition("c", "1", "1", "a"))

    run = simulate_run(settings, Scenario(fail={"a": None, "b": None},
                                          outcomes={"c": False}, cancel_at="b"))

    assert run.notes == ("b did not run, so it did not fail",
                         "c did not run, so its branch made no difference",
                         "b did not run, so the run was not cancelled")


def test_the_result_is_a_json_document_shaped_like_a_run() -> None:
    run = simulate_run(job(task("a", max_retries=1), task("b", "a")), Scenario(fail={"a": None}))

    document = json.loads(json.dumps(run.to_dict()))

    assert document["state"] == {"life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED",
                                 "state_message": run.state_message,
                                 "user_cancelled_or_timedout": False}
    assert document["status"]["termination_details"]["code"] == "RUN_EXECUTION_ERROR"
    a, b = document["tasks"]
    assert (a["attempt_count"], [x["start_seconds"] for x in a["attempts"]]) == (2, [0.0, 0.0])
    assert b["state"]["result_state"] == "UPSTREAM_FAILED"
    assert b["status"] == {"state": "TERMINATED", "termination_details": {
        "code": "SKIPPED", "type": "CLIENT_ERROR",
        "message": "Upstream task a did not succeed."}}
    assert b["attempts"][0]["start_seconds"] is None
    assert document["wall_time_seconds"] == 0.0


def test_a_run_that_would_not_end_is_refused_with_what_is_still_going() -> None:
    settings = job(task("first"), task("forever", "first", max_retries=-1,
                                       min_retry_interval_millis=1))

    with pytest.raises(ScenarioError) as caught:
        simulate_run(settings, Scenario(fail={"forever": 10**9}))

    assert str(caught.value) == (
        "scenario: the simulated run reached 2,000 attempts (forever was starting attempt "
        "1999) without ending: fail fewer attempts, or give the job a shorter timeout")
