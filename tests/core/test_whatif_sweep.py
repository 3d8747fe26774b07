"""Every failure in turn: what each task's failure costs, and whether anyone hears of it."""

from __future__ import annotations

from typing import Any

from headwater.core.spec import JobSettings
from headwater.core.whatif_scenario import Scenario
from headwater.core.whatif_sweep import FailureCase, every_failure

from .helpers import task

ALERTS = {"email_notifications": {"on_failure": ["oncall@example.com"]}}


def cases(*tasks: dict[str, Any], scenario: Scenario | None = None,
          **fields: Any) -> dict[str, FailureCase]:
    settings = JobSettings.model_validate({"name": "etl", "tasks": list(tasks), **fields})
    return {case.task_key: case for case in every_failure(settings, scenario)}


def test_a_failure_that_a_cleanup_leaf_hides_is_not_handled() -> None:
    # Given a pipeline whose leaf is a cleanup that always runs
    found = cases(task("ingest", max_retries=2), task("publish", "ingest"),
                  task("cleanup", "publish", run_if="ALL_DONE"), **ALERTS)

    ingest = found["ingest"]
    # Then ingest's failure skips publish, the run still succeeds "with failures", the
    # cleanup ran anyway (no handler), and on_failure is not sent: nobody hears of it
    assert (ingest.attempts, str(ingest.run.result_state)) == (3, "SUCCESS_WITH_FAILURES")
    assert (ingest.not_run, ingest.handlers, ingest.failure_alerts) == (("publish",), (), ())
    assert not ingest.handled
    # While the cleanup failing fails the run, and the job's on_failure alert goes out
    cleanup = found["cleanup"]
    assert [a.emails for a in cleanup.failure_alerts] == [("oncall@example.com",)]
    assert cleanup.handled


def test_a_task_that_runs_only_on_failure_handles_it() -> None:
    found = cases(task("ingest"), task("publish", "ingest"),
                  task("page_oncall", "ingest", run_if="AT_LEAST_ONE_FAILED"),
                  task("cleanup", "publish", "page_oncall", run_if="ALL_DONE"))

    assert found["ingest"].handlers == ("page_oncall",)
    assert found["ingest"].handled and not found["publish"].handled
    assert found["page_oncall"].skipped == (
        "it does not run when nothing fails (EXCLUDED: Task was excluded: its run_if "
        "AT_LEAST_ONE_FAILED was not met.)")
    assert found["page_oncall"].handled  # it cannot fail here, so nothing to handle


def test_a_task_on_an_unknown_branch_is_failed_on_the_branch_that_runs_it() -> None:
    found = cases(task("validate"),
                  task("gate", "validate", condition_task={
                      "op": "EQUAL_TO", "left": "{{tasks.validate.values.ok}}", "right": "true"}),
                  task("report", "gate:true"), task("quarantine", "gate:false"), **ALERTS)

    assert dict(found["report"].outcomes) == {"gate": True}
    assert dict(found["quarantine"].outcomes) == {"gate": False}
    assert found["quarantine"].run.task("quarantine").result_state == "FAILED"
    assert found["quarantine"].baseline.task("report").result_state == "EXCLUDED"
    assert dict(found["validate"].outcomes) == {}  # the gate never decided there
    assert all(case.handled for case in found.values())


def test_a_branch_the_caller_chose_is_kept() -> None:
    found = cases(task("gate", condition_task={"op": "EQUAL_TO", "left": "{{tasks.x.values.v}}",
                                               "right": "1"}),
                  task("report", "gate:true"), task("x"),
                  scenario=Scenario(outcomes={"gate": False}))

    assert found["report"].skipped == (
        "it does not run when nothing fails (EXCLUDED: Task was excluded: the condition 'gate' "
        "took the other branch.)")


def test_tasks_that_cannot_fail_for_good_say_why() -> None:
    found = cases(task("off", disabled=True), task("forever", max_retries=-1,
                                                   min_retry_interval_millis=1000))

    assert found["off"].skipped == "disabled: it never runs"
    assert found["forever"].skipped == ("it retries forever (max_retries: -1), so it never "
                                        "fails for good")


def test_a_case_is_a_json_document() -> None:
    found = cases(task("a"), task("b", "a"), task("h", "a", run_if="ALL_FAILED"))
    assert found["a"].to_dict() == {
        "task_key": "a", "reached": True, "skipped": None, "outcomes": {}, "attempts": 1,
        "result_state": "FAILED", "not_run": ["b"], "handlers": ["h"], "alerts": [],
        "handled": True}
