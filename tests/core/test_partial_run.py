"""Partial runs (`run-now`'s `only`): which tasks `+key`, `key+` and `+key+` select, the plan
restricted to them, and every way a selection can be wrong, said in one report."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.partial_run import select, split_keys
from headwater.core.run_scope import RunScope
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest

from .helpers import task


def job(*tasks: dict[str, Any]) -> JobSettings:
    return JobSettings.model_validate({"name": "partial", "tasks": list(tasks)})


# extract -> clean -> load -> report, and audit beside them: clean -> audit
PIPELINE = job(task("extract"), task("clean", "extract"), task("load", "clean"),
               task("report", "load"), task("audit", "clean"))


@pytest.mark.parametrize(("only", "expected"), [
    (["load"], ("load",)),
    (["+load"], ("extract", "clean", "load")),
    (["clean+"], ("clean", "load", "report", "audit")),
    (["+load+"], ("extract", "clean", "load", "report")),
    (["report", "extract"], ("extract", "report")),  # in the job's order, not the asked one
    (["+load", "load+"], ("extract", "clean", "load", "report")),
])
def test_plus_adds_what_runs_before_and_after(only: list[str], expected: tuple[str, ...]
                                               ) -> None:
    assert select(PIPELINE, only) == expected


def test_no_selection_or_an_empty_one_runs_every_task() -> None:
    assert select(PIPELINE, None) is None
    assert select(PIPELINE, []) is None  # as Lakeflow reads an omitted list


def test_every_wrong_entry_is_named_in_one_report() -> None:
    with pytest.raises(InvalidRequest) as raised:
        select(PIPELINE, ["lod", "+", "+clean"])
    message = str(raised.value)
    assert "only[0]: no task 'lod' in this job (did you mean 'load'?)" in message
    assert "only[1]: no task '+'" in message
    assert "only[2]" not in message


def test_a_selected_task_reading_a_value_of_a_task_left_out_is_refused() -> None:
    settings = job(task("count"), task("check", "count", condition_task={
        "op": "GREATER_THAN", "left": "{{tasks.count.values.rows}}", "right": "0"}),
        task("publish", "check:true"))

    with pytest.raises(InvalidRequest) as raised:
        select(settings, ["check", "publish"])

    assert ("task 'check' reads {{tasks.count.values.rows}}, but 'count' is not in the run "
            "(only: ['check', 'publish']): add 'count', or '+check'") in str(raised.value)
    assert select(settings, ["+check"]) == ("count", "check")


def test_a_for_each_s_nested_task_reading_a_task_left_out_is_refused() -> None:
    settings = job(task("list"), {"task_key": "each", "depends_on": [{"task_key": "list"}],
                                  "for_each_task": {"inputs": "[1, 2]", "task": task(
                                      "each_one", python_wheel_task={
                                          "package_name": "p", "entry_point": "e",
                                          "parameters": ["{{tasks.list.values.day}}"]})}})

    with pytest.raises(InvalidRequest) as raised:
        select(settings, ["each"])

    assert "task 'each' reads {{tasks.list.values.day}}" in str(raised.value)


def test_the_plan_holds_only_the_selection_and_starts_where_it_begins() -> None:
    plan = RunScope(select(PIPELINE, ["load+"])).plan(PIPELINE)

    assert plan.order == ("load", "report")
    assert plan.tasks["load"].depends_on == ()  # its upstream is not part of the run
    assert [d.task_key for d in plan.tasks["report"].depends_on] == ["load"]
    assert plan.leaves == frozenset({"report"})


def test_a_condition_s_branch_left_out_runs_its_task_unconditionally() -> None:
    settings = job({"task_key": "gate", "condition_task": {"op": "EQUAL_TO", "left": "a",
                                                           "right": "b"}},
                   task("publish", "gate:true"))

    plan = RunScope(select(settings, ["publish"])).plan(settings)

    assert plan.tasks["publish"].depends_on == ()


def test_comma_separated_entries_split_and_blanks_drop() -> None:
    assert split_keys(["a, +b", "", " c+ ,", "d"]) == ["a", "+b", "c+", "d"]
