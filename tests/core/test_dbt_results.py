"""What a dbt task's commands did, as the CLI and the web UI count it."""

from __future__ import annotations

from headwater.core.dbt_results import FAILED_STATUSES, failed_nodes, status_tally
from headwater.entrypoints import dbt as dbt_entrypoint

NODES = [{"unique_id": "seed.s.a", "status": "success"},
         {"unique_id": "test.s.b", "status": "fail"},
         {"unique_id": "model.s.c", "status": "success"},
         {"unique_id": "model.s.d", "status": "error"},
         {"unique_id": "test.s.e", "status": "pass"}]


def test_the_tally_counts_each_status_by_name() -> None:
    assert status_tally(NODES) == "1 error, 1 fail, 1 pass, 2 success"
    assert status_tally([]) == ""


def test_the_failed_nodes_are_those_with_a_failed_status_in_order() -> None:
    assert [n["unique_id"] for n in failed_nodes(NODES)] == ["test.s.b", "model.s.d"]


def test_the_task_side_counts_the_same_statuses_as_failed() -> None:
    # the entry point may not import the core, so it keeps its own copy of the set
    assert dbt_entrypoint._FAILED == FAILED_STATUSES


def test_a_command_that_runs_nodes_and_ran_none_says_its_selection_matched_nothing() -> None:
    assert status_tally([], "dbt run --select no_such_model") == (
        "no node ran: its selection matched nothing")
    assert status_tally([], "dbt deps") == ""  # a command that runs no node at all
    assert status_tally(NODES, "dbt build") == "1 error, 1 fail, 1 pass, 2 success"
