"""The pure decisions of job-completion triggers: which runs match `if_status`, when the
trigger fires and what it remembers, and what `jobs/get` shows of it; and the validation of
`trigger.job_completion`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.core.checks_triggers import check_trigger
from headwater.core.job_completion import (
    LOOK_BACK,
    Completion,
    completions_due,
    look_from,
    matches,
    seen_until,
    trigger_state_json,
)
from headwater.core.spec import JobSettings
from headwater.core.spec_job import JobCompletionStatus
from headwater.core.triggers import (
    JOB_COMPLETION,
    TriggerState,
    fresh_state,
    state_from_dict,
    state_to_dict,
)

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def settings(*job_ids: int, **completion: Any) -> JobSettings:
    return JobSettings.model_validate({
        "name": "report", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}],
        "trigger": {"job_completion": {"jobs": [{"job_id": str(j)} for j in job_ids],
                                       **completion}}})


def ended(job_id: int, run_id: int, seconds: float, result: str | None = "SUCCESS",
          life_cycle: str = "TERMINATED") -> Completion:
    return Completion(job_id, run_id, life_cycle, result, T0 + timedelta(seconds=seconds))


@pytest.mark.parametrize(("life_cycle", "result", "success", "failed", "done"), [
    ("TERMINATED", "SUCCESS", True, False, True),
    ("TERMINATED", "SUCCESS_WITH_FAILURES", True, False, True),
    ("TERMINATED", "FAILED", False, True, True),
    ("TERMINATED", "TIMEDOUT", False, True, True),
    ("TERMINATED", "CANCELED", False, False, True),
    ("INTERNAL_ERROR", "FAILED", False, True, True),
    ("SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED", False, False, False),
    ("SKIPPED", None, False, False, False),
])
def test_which_runs_match_each_if_status(life_cycle: str, result: str | None, success: bool,
                                         failed: bool, done: bool) -> None:
    run = ended(1, 10, 1, result, life_cycle)
    assert matches(None, run) is success  # SUCCESS is the default
    assert matches(JobCompletionStatus.SUCCESS, run) is success
    assert matches(JobCompletionStatus.FAILED, run) is failed
    assert matches(JobCompletionStatus.DONE, run) is done


def test_it_fires_when_every_job_has_a_pending_completion_then_waits_again() -> None:
    job = settings(1, 2)
    state = fresh_state(job, None, T0)
    assert state is not None and state.kind == JOB_COMPLETION
    assert seen_until(state, 0) == T0  # what ended before the trigger was active never counts

    state, fire = completions_due(job, state, [(1, [ended(1, 10, 5)]), (2, [])], T0)
    assert fire is None and seen_until(state, 0) == T0 + timedelta(seconds=5)
    state, fire = completions_due(job, state, [(1, []), (2, [ended(2, 11, 6, "FAILED")])], T0)
    assert fire is None  # job 2 failed: SUCCESS is asked

    later = T0 + timedelta(seconds=9)
    state, fire = completions_due(job, state, [(1, [ended(1, 12, 7, "FAILED")]),
                                               (2, [ended(2, 13, 8)])], later)
    assert fire is not None and fire.trigger == "JOB_COMPLETION"
    # job 1's later failure does not take back its success
    assert [c["run_id"] for c in fire.info["job_completion"]["completed_jobs"]] == ["10", "13"]
    assert fire.info["job_completion"]["completed_jobs"][1] == {
        "job_id": "2", "run_id": "13", "completion_time": "2026-12-01T12:00:08.000Z",
        "termination_code": "SUCCESS"}
    assert fire.key == "job_completion:1" and state.fires == 1 and state.last_fire == later

    state, fire = completions_due(job, state, [(1, [ended(1, 14, 10)]), (2, [])], later)
    assert fire is None  # a new round: job 2 has not ended again


def test_what_it_remembers_survives_a_restart_and_is_shown_by_jobs_get() -> None:
    job = settings(1, 2)
    state = fresh_state(job, None, T0)
    assert state is not None
    state, _ = completions_due(job, state, [(1, [ended(1, 10, 5), ended(1, 11, 6, "FAILED")]),
                                            None], T0)
    again = state_from_dict(state_to_dict(state))
    assert again == state
    assert trigger_state_json(job, again) == {"job_completion": {"monitored_job_states": [
        {"job_id": "1", "has_seen_completion": True, "is_deleted": False,
         "last_seen_run_id": "10", "last_seen_completion_time": "2026-12-01T12:00:05.000Z",
         "last_seen_result": "SUCCESS", "latest_non_matching_result": "RUN_EXECUTION_ERROR"},
        {"job_id": "2", "has_seen_completion": False, "is_deleted": True},
    ]}}


def test_it_starts_from_when_the_settings_were_saved_if_that_was_earlier() -> None:
    saved = T0 - timedelta(seconds=4)
    state = fresh_state(settings(1), None, T0, activated=saved)
    assert state is not None and seen_until(state, 0) == saved
    later = fresh_state(settings(1), None, T0, activated=T0 + timedelta(seconds=1))
    assert later is not None and later.since == T0  # never after the look
    periodic = JobSettings.model_validate({**settings(1).model_dump(exclude_none=True),
                                           "trigger": {"periodic": {"interval": 1,
                                                                    "unit": "HOURS"}}})
    assert fresh_state(periodic, None, T0, activated=saved) == TriggerState(
        "periodic", '{"interval":1,"unit":"HOURS"}', T0)


def test_a_changed_list_of_jobs_starts_the_trigger_afresh() -> None:
    state = fresh_state(settings(1), None, T0)
    assert state is not None
    state, _ = completions_due(settings(1), state, [(1, [ended(1, 10, 5)])], T0)
    changed = fresh_state(settings(1, 2), state, T0 + timedelta(minutes=1))
    assert changed is not None
    assert changed == TriggerState(JOB_COMPLETION, changed.config, T0 + timedelta(minutes=1))
    assert trigger_state_json(settings(1, 2), None)["job_completion"]["monitored_job_states"][
        1] == {"job_id": "2", "has_seen_completion": False}


def problems_of(trigger: dict[str, Any]) -> list[tuple[str, str]]:
    return list(check_trigger(JobSettings.model_validate({
        "name": "j", "tasks": [{"task_key": "t", "shell_command_task": {"command": "true"}}],
        "trigger": trigger})))


def test_validation_names_each_problem_of_a_job_completion_trigger() -> None:
    found = problems_of({"job_completion": {"jobs": [
        {"job_id": "12"}, {"job_id": "twelve"}, {"job_id": 12}, {},
        {"job_id": "7", "job_name": "ingest"}, {"job_name": "Ingest"}, {"job_name": "ingest"}]}})
    assert [path for path, _ in found] == [
        "trigger.job_completion.jobs[1].job_id", "trigger.job_completion.jobs[2]",
        "trigger.job_completion.jobs[3]", "trigger.job_completion.jobs[4]",
        "trigger.job_completion.jobs[6]"]
    assert found[0][1] == "a job id is a number (got 'twelve')"
    assert "monitored twice (also jobs[0])" in found[1][1]
    assert "name the upstream job by job_id" in found[2][1]
    assert "monitored twice (also jobs[5])" in found[4][1]  # names compare ignoring case


def test_a_trigger_is_one_kind() -> None:
    [(path, message)] = problems_of({"periodic": {"interval": 1, "unit": "HOURS"},
                                     "job_completion": {"jobs": [{"job_id": "1"}]}})
    assert path == "trigger.job_completion"
    assert "sets periodic and job_completion: keep one" in message
    assert problems_of({"job_completion": {"jobs": [{"job_id": "1"}], "if_status": "DONE"}}) == []


def test_the_list_of_jobs_is_one_to_ten_long() -> None:
    for jobs in ([], [{"job_id": str(i)} for i in range(11)]):
        with pytest.raises(ValueError, match="jobs"):
            settings_body = {"job_completion": {"jobs": jobs}}
            problems_of(settings_body)


def test_a_run_stored_late_counts_once_and_runs_read_again_count_no_more() -> None:
    job = settings(1)
    state = fresh_state(job, None, T0)
    assert state is not None
    # Given a failure that ended at second 6, read first
    failure = ended(1, 11, 6, "FAILED")
    state, fire = completions_due(job, state, [(1, [failure])], T0)
    assert fire is None and seen_until(state, 0) == T0 + timedelta(seconds=6)
    # When a success that ended at second 5 shows only now (read, as runs are, LOOK_BACK back)
    assert look_from(state, 0) == T0  # never before the trigger began
    success = ended(1, 10, 5)
    state, fire = completions_due(job, state, [(1, [failure, success])], T0)
    # Then it counts, and the failure read again does not count twice
    assert fire is not None
    assert [c["run_id"] for c in fire.info["job_completion"]["completed_jobs"]] == ["10"]
    state, fire = completions_due(job, state, [(1, [failure, success])], T0)
    assert fire is None  # read again at the next look: counted already
    # And the ids kept are those ended within LOOK_BACK of the latest end read
    late = ended(1, 12, 6 + LOOK_BACK.total_seconds() + 1, "FAILED")
    state, _ = completions_due(job, state, [(1, [late])], T0)
    assert set(state.upstream["0"]["counted"]) == {"12"}
    assert look_from(state, 0) == T0 + timedelta(seconds=7)
