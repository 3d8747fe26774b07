"""run_if and condition operators, table-driven against the reference's tables."""

from __future__ import annotations

import pytest

from headwater.core.conditions import ConditionError, evaluate_condition, evaluate_run_if
from headwater.core.spec import ConditionTaskOp, RunIf
from headwater.core.states import ResultState

S, F, T = ResultState.SUCCESS, ResultState.FAILED, ResultState.TIMEDOUT
X, D, C = ResultState.EXCLUDED, ResultState.DISABLED, ResultState.CANCELED
UF, UC = ResultState.UPSTREAM_FAILED, ResultState.UPSTREAM_CANCELED
RUN = None

# (run_if, upstream results, expected: None = runs, else the skip result)
RUN_IF_TABLE = [
    (RunIf.ALL_SUCCESS, [S, S], RUN),
    (RunIf.ALL_SUCCESS, [S, F], UF),
    (RunIf.ALL_SUCCESS, [S, T], UF),
    (RunIf.ALL_SUCCESS, [S, UF], UF),
    (RunIf.ALL_SUCCESS, [S, X], RUN),  # excluded counts as successful
    (RunIf.ALL_SUCCESS, [X, X], X),  # all dependencies excluded: excluded
    (RunIf.ALL_SUCCESS, [S, C], UC),
    (RunIf.ALL_SUCCESS, [F, C], UC),  # cancellation wins over failure
    (RunIf.AT_LEAST_ONE_SUCCESS, [S, F], RUN),
    (RunIf.AT_LEAST_ONE_SUCCESS, [F, F], UF),
    (RunIf.AT_LEAST_ONE_SUCCESS, [F, C], UC),
    (RunIf.NONE_FAILED, [S, S], RUN),
    (RunIf.NONE_FAILED, [S, X], RUN),
    (RunIf.NONE_FAILED, [S, F], UF),
    (RunIf.NONE_FAILED, [S, UF], UF),
    (RunIf.ALL_DONE, [F, F], RUN),
    (RunIf.ALL_DONE, [C, UF], RUN),
    (RunIf.ALL_DONE, [S, D], RUN),
    (RunIf.AT_LEAST_ONE_FAILED, [S, F], RUN),
    (RunIf.AT_LEAST_ONE_FAILED, [S, T], RUN),
    (RunIf.AT_LEAST_ONE_FAILED, [S, UF], RUN),
    (RunIf.AT_LEAST_ONE_FAILED, [S, C], RUN),  # cleanup after a cancel
    (RunIf.AT_LEAST_ONE_FAILED, [S, S], X),
    (RunIf.ALL_FAILED, [F, F], RUN),
    (RunIf.ALL_FAILED, [F, S], X),
    (RunIf.ALL_FAILED, [X, X], X),
    # The disabled table (reference section 3.1).
    (RunIf.ALL_SUCCESS, [D, S], D),
    (RunIf.AT_LEAST_ONE_SUCCESS, [D, S], RUN),
    (RunIf.AT_LEAST_ONE_SUCCESS, [D, D], D),
    (RunIf.NONE_FAILED, [D, X], RUN),  # A disabled + C skipped: runs
    (RunIf.NONE_FAILED, [D, D], D),
    (RunIf.ALL_DONE, [D, D], RUN),
    (RunIf.AT_LEAST_ONE_FAILED, [D, F], RUN),
    (RunIf.AT_LEAST_ONE_FAILED, [D, S], X),
    (RunIf.ALL_FAILED, [D, F], X),
]


@pytest.mark.parametrize(("run_if", "upstream", "expected"), RUN_IF_TABLE)
def test_run_if_table(run_if: RunIf, upstream: list[ResultState],
                      expected: ResultState | None) -> None:
    assert evaluate_run_if(run_if, upstream) == expected


OPERATORS = [
    (ConditionTaskOp.EQUAL_TO, "12", "12", True),
    (ConditionTaskOp.EQUAL_TO, "12.0", "12", False),  # equality compares strings
    (ConditionTaskOp.NOT_EQUAL, "12.0", "12", True),
    (ConditionTaskOp.NOT_EQUAL, "a", "a", False),
    (ConditionTaskOp.GREATER_THAN_OR_EQUAL, "12.0", "12", True),  # ordering compares numbers
    (ConditionTaskOp.GREATER_THAN, "10", "9", True),  # not as strings ("10" < "9")
    (ConditionTaskOp.GREATER_THAN, "9", "10", False),
    (ConditionTaskOp.LESS_THAN, "-1.5", "0", True),
    (ConditionTaskOp.LESS_THAN_OR_EQUAL, "3", "3", True),
    (ConditionTaskOp.LESS_THAN_OR_EQUAL, "4", "3", False),
]


@pytest.mark.parametrize(("op", "left", "right", "expected"), OPERATORS)
def test_condition_operators(op: ConditionTaskOp, left: str, right: str, expected: bool) -> None:
    assert evaluate_condition(op, left, right) is expected


@pytest.mark.parametrize("operand", ["abc", "", "nan", "1,5"])
def test_ordering_a_non_number_is_a_clear_error(operand: str) -> None:
    with pytest.raises(ConditionError, match="not a"):
        evaluate_condition(ConditionTaskOp.GREATER_THAN, operand, "1")
