"""`run_if` rules and `condition_task` operators: pure decisions over upstream results.

`evaluate_run_if` answers, once every dependency of a task is terminal, whether the task runs
or with which result it is skipped. The rules are Lakeflow's (reference section 3.1), plus the
choices headwater made where Lakeflow is silent (docs/semantics.md):

- `UPSTREAM_FAILED` and `TIMEDOUT` count as failed for every rule;
- `CANCELED` and `UPSTREAM_CANCELED` count as failed for the failure-handling rules
  (`AT_LEAST_ONE_FAILED`, `ALL_FAILED`), so a cleanup task still runs after a cancel;
  for the other rules a cancelled dependency skips the task as `UPSTREAM_CANCELED`, which
  wins over `UPSTREAM_FAILED` when both apply;
- a `DISABLED` dependency follows the reference's disabled table; a task that is not run
  only because of disabled dependencies is itself `DISABLED`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from headwater.core.spec import ConditionTaskOp, RunIf
from headwater.core.states import ResultState

_SUCCEEDED = frozenset(
    {ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES, ResultState.EXCLUDED}
)
_FAILED = frozenset({ResultState.FAILED, ResultState.TIMEDOUT, ResultState.UPSTREAM_FAILED})
_CANCELED = frozenset({ResultState.CANCELED, ResultState.UPSTREAM_CANCELED})
_FAILURE_HANDLING = frozenset({RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED})


@dataclass(frozen=True, slots=True)
class Upstream:
    """Counts of a task's dependency results, in the categories the rules use."""

    total: int
    succeeded: int
    failed: int
    canceled: int
    disabled: int
    excluded: int

    @classmethod
    def of(cls, results: Sequence[ResultState]) -> Upstream:
        return cls(
            total=len(results),
            succeeded=sum(r in _SUCCEEDED for r in results),
            failed=sum(r in _FAILED for r in results),
            canceled=sum(r in _CANCELED for r in results),
            disabled=sum(r is ResultState.DISABLED for r in results),
            excluded=sum(r is ResultState.EXCLUDED for r in results),
        )


def evaluate_run_if(run_if: RunIf, results: Sequence[ResultState]) -> ResultState | None:
    """None if the task runs; otherwise the result it is skipped with.

    `results` holds one entry per dependency edge; an edge gated on the branch of a
    condition task that was not taken is passed as `EXCLUDED`.
    """
    up = Upstream.of(results)
    if up.total and up.excluded == up.total:
        return ResultState.EXCLUDED
    if run_if is RunIf.ALL_DONE:
        return None
    if run_if in _FAILURE_HANDLING:
        return _failure_handling(run_if, up)
    return _success_requiring(run_if, up)


def handles_failure(run_if: RunIf) -> bool:
    """Whether a task with this rule is there for when things go wrong (cleanup, alerting):
    such a task still starts in a run being cancelled, as its rule decides."""
    return run_if is RunIf.ALL_DONE or run_if in _FAILURE_HANDLING


def _failure_handling(run_if: RunIf, up: Upstream) -> ResultState | None:
    bad = up.failed + up.canceled
    if run_if is RunIf.AT_LEAST_ONE_FAILED:
        return None if bad else ResultState.EXCLUDED
    return None if bad == up.total else ResultState.EXCLUDED  # ALL_FAILED


def _success_requiring(run_if: RunIf, up: Upstream) -> ResultState | None:
    if run_if is RunIf.AT_LEAST_ONE_SUCCESS and up.succeeded:
        return None
    if up.canceled:
        return ResultState.UPSTREAM_CANCELED
    if up.failed:
        return ResultState.UPSTREAM_FAILED
    if run_if is RunIf.ALL_SUCCESS:
        return ResultState.DISABLED if up.disabled else None
    if run_if is RunIf.NONE_FAILED and up.succeeded:
        return None
    if up.total == 0:
        return None
    return ResultState.DISABLED


class ConditionError(ValueError):
    """An operand that the operator cannot compare (a non-number for an ordering op)."""


def evaluate_condition(op: ConditionTaskOp, left: str, right: str) -> bool:
    """Lakeflow's if/else: equality compares strings, ordering compares numbers.

    Raises:
        ConditionError: when an ordering operator gets an operand that is not a number.
    """
    if op is ConditionTaskOp.EQUAL_TO:
        return left == right
    if op is ConditionTaskOp.NOT_EQUAL:
        return left != right
    a, b = _number(left, "left"), _number(right, "right")
    if op is ConditionTaskOp.GREATER_THAN:
        return a > b
    if op is ConditionTaskOp.GREATER_THAN_OR_EQUAL:
        return a >= b
    if op is ConditionTaskOp.LESS_THAN:
        return a < b
    return a <= b


def _number(text: str, side: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ConditionError(
            f"the {side} operand {text!r} is not a number; ordering operators compare "
            "numbers (use EQUAL_TO or NOT_EQUAL to compare strings)"
        ) from None
    if not value.is_finite():
        raise ConditionError(f"the {side} operand {text!r} is not a finite number")
    return value
