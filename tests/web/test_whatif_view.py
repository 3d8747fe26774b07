"""The What if panel's pure parts: the scenario a form or link asks for, what the form offers,
the address of a scenario, and a simulated run as the page shows it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from headwater.core.plan import build_plan
from headwater.core.whatif import simulate_run
from headwater.core.whatif_scenario import Scenario, ScenarioError
from headwater.core.whatif_sweep import MAX_SWEPT_TASKS, every_failure
from headwater.web.forms import Form
from headwater.web.views.whatif_view import (
    WhatIfChoices,
    failure_rows,
    scenario_of,
    scenario_query,
    scenario_words,
    whatif_choices,
    whatif_view,
)
from tests.core.helpers import task
from tests.core.test_whatif import condition, job, loop


def form(query: str) -> Form:
    return Form(parse_qsl(query, keep_blank_values=True))


def test_the_form_asks_for_the_chosen_troubles_and_ignores_empty_fields() -> None:
    asked = scenario_of(form("fail=ingest&fail=ingest&timeout=&outcome:gate=false"
                             "&outcome:other=&parameter:env=prod"))
    assert asked == Scenario(fail={"ingest": None}, outcomes={"gate": False},
                             parameters={"env": "prod"})
    assert scenario_of(form("fail=&timeout=")) == Scenario()


def test_a_branch_that_is_neither_true_nor_false_is_refused_naming_the_field() -> None:
    with pytest.raises(ScenarioError) as refused:
        scenario_of(form("outcome:gate=maybe&outcome:check=yes"))
    assert [str(p) for p in refused.value.problems] == [
        "outcomes gate: 'maybe' is not a branch: choose true or false",
        "outcomes check: 'yes' is not a branch: choose true or false"]


def test_the_form_offers_only_what_can_happen() -> None:
    settings = job(task("ingest", timeout_seconds=60), task("clean", "ingest"),
                   task("old", disabled=True), condition("gate", "a", "a", "clean"),
                   loop("each", '["x"]', "ingest", timeout_seconds=5))
    choices = whatif_choices(build_plan(settings))
    assert set(choices.failing) == {"ingest", "clean", "gate", "each"}
    assert set(choices.timing_out) == {"ingest", "each"}  # the task's or its loop's timeout
    assert choices.conditions == ("gate",)
    everything = whatif_choices(build_plan(job(task("a"), task("b", "a"),
                                               timeout_seconds=600)))
    assert everything.timing_out == ("a", "b")  # the job's timeout stops any task
    assert choices.every_failure and everything.every_failure


def test_the_every_failure_table_is_offered_up_to_its_limit_of_tasks() -> None:
    def chain(count: int) -> WhatIfChoices:
        tasks = [task(f"t{i}", *([f"t{i - 1}"] if i else [])) for i in range(count)]
        return whatif_choices(build_plan(job(*tasks)))

    assert chain(MAX_SWEPT_TASKS).every_failure
    assert not chain(MAX_SWEPT_TASKS + 1).every_failure


def test_a_scenarios_address_leaves_out_defaults_and_asks_for_the_same_again() -> None:
    scenario = Scenario(fail={"ingest": None}, timeout={"load": None},
                        outcomes={"gate": True}, parameters={"env": "prod", "day": "1"})
    query = scenario_query(scenario, {"env": "dev", "day": "1"})
    assert query == "fail=ingest&timeout=load&outcome:gate=true&parameter:env=prod"
    again = scenario_of(form(query))
    assert again == Scenario(fail={"ingest": None}, timeout={"load": None},
                             outcomes={"gate": True}, parameters={"env": "prod"})
    assert scenario_query(Scenario(), {}) == ""


def test_loops_slow_tasks_and_cancels_are_asked_for_and_addressed_too() -> None:
    # Given a scenario with every kind of question the panel's second part asks
    scenario = Scenario(iterations={"each": 3}, fail_iterations={"each": {2: None}},
                        durations={"load": timedelta(seconds=90)}, cancel_at="report")

    # When its address is made and read again
    query = scenario_query(scenario, {})

    # Then it asks for the same, and nothing else
    assert query == ("iterations:each=3&fail_iteration:each=2&slow=load&seconds=90"
                     "&cancel_at=report")
    assert scenario_of(form(query)) == scenario
    assert scenario_of(form("slow=&seconds=30&cancel_at=&iterations:each=")) == Scenario()
    assert scenario_words(scenario) == (
        "each runs 3 iterations; iteration 2 of each fails after all its retries; each "
        "attempt of load takes 90 s; the run is cancelled when report starts")


def test_counts_that_are_not_whole_numbers_are_refused_naming_the_field() -> None:
    with pytest.raises(ScenarioError) as refused:
        scenario_of(form("iterations:each=0&fail_iteration:each=-1&slow=load&seconds=soon"))
    assert [str(p) for p in refused.value.problems] == [
        "iterations each: '0' is not a whole number of at least 1",
        "fail_iterations each: '-1' is not a whole number of at least 0",
        "durations load: 'soon' is not a whole number of at least 0"]
    with pytest.raises(ScenarioError, match="durations load: give the seconds each attempt"):
        scenario_of(form("slow=load"))
    with pytest.raises(ScenarioError, match="iterations each: '²' is not a whole number"):
        scenario_of(form("iterations:each=²"))  # a digit to str.isdigit, not to int()


def test_a_loop_iteration_failing_and_a_slow_task_change_the_simulated_run() -> None:
    settings = job(task("load", timeout_seconds=60),
                   loop("each", "{{job.parameters.days}}", "load"),
                   parameters=[{"name": "days", "default": "[]"}])
    failing = Scenario(iterations={"each": 3}, fail_iterations={"each": {1: None}},
                       parameters={"days": "{{tasks.load.values.days}}"})
    slow = Scenario(durations={"load": timedelta(seconds=90)})

    looped = whatif_view(simulate_run(settings, failing), failing)
    timed_out = whatif_view(simulate_run(settings, slow), slow)

    assert looped.nodes["each"].shown.state == "FAILED"
    [row] = [row for row in looped.tasks if row.task_key == "each"]
    assert (row.note, row.message.split(":")[0]) == ("3 iterations", "1 of 3 iterations failed")
    assert timed_out.nodes["load"].shown.state == "TIMEDOUT"
    assert timed_out.nodes["each"].shown.state == "UPSTREAM_FAILED"


def test_the_form_offers_loops_and_the_tasks_that_take_time() -> None:
    settings = job(task("ingest"), condition("gate", "a", "a", "ingest"),
                   task("old", disabled=True), loop("each", '["x"]', "ingest"))
    choices = whatif_choices(build_plan(settings))
    assert choices.loops == ("each",)
    assert set(choices.running) == {"ingest", "each"}


def test_a_simulated_run_as_the_page_draws_it() -> None:
    settings = job(task("ingest", max_retries=3),
                   condition("gate", "{{tasks.ingest.values.rows}}", "0", "ingest"),
                   task("report", "gate:true"), task("fix", "gate:false"),
                   loop("each", '["a", "b"]', "ingest"),
                   email_notifications={"on_failure": ["ops@example.com"]})
    scenario = Scenario(fail={"each": None}, outcomes={"gate": False})
    view = whatif_view(simulate_run(settings, scenario), scenario)

    assert view.scenario == "each fails after all its retries; gate is false"
    assert view.run.state == "FAILED"
    assert view.nodes["gate"].note == "→ false"
    assert view.nodes["report"].shown.state == "EXCLUDED"
    assert view.nodes["fix"].shown.state == "SUCCESS"
    assert view.nodes["each"].note == "2 iterations"
    assert [(a.event, a.about, a.recipients) for a in view.alerts] == [
        ("on_failure", "the run", "e-mail ops@example.com")]
    retried = whatif_view(simulate_run(settings, Scenario(fail={"ingest": None})), Scenario())
    assert (retried.nodes["ingest"].note, retried.tasks[0].attempts,
            retried.tasks[0].note) == ("4 attempts", 4, "")


def test_each_failure_links_to_its_scenario_with_the_branches_it_needs() -> None:
    settings = job(task("ingest"),
                   condition("gate", "{{tasks.ingest.values.mode}}", "full", "ingest"),
                   task("quarantine", "gate:false"), task("alert", "ingest", run_if="ALL_FAILED"))
    rows = {row.task_key: row for row in failure_rows(every_failure(settings), 7)}
    assert rows["ingest"].handled_by == "alert" and rows["ingest"].handled
    assert rows["quarantine"].link == "/jobs/7/whatif?fail=quarantine&outcome:gate=false"
    assert not rows["quarantine"].handled and rows["quarantine"].handled_by == "nothing"
    assert not rows["alert"].reached
    assert rows["alert"].handled_by.startswith("cannot fail here: ")
