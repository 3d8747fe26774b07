"""How a run ends: its result from the leaf tasks, and the words that explain a skip.

Lakeflow (reference 3.2): every task succeeded gives SUCCESS; a failure that every leaf
survived gives SUCCESS_WITH_FAILURES; a failed leaf gives FAILED, reported with the legacy
life cycle INTERNAL_ERROR and "Task X failed with message: ..." as the real API does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from headwater.core.plan import Plan, PlannedTask
from headwater.core.runstate import TaskRun
from headwater.core.states import LifeCycleState, ResultState

FAILURES = frozenset({ResultState.FAILED, ResultState.TIMEDOUT})
NOT_SUCCESSFUL = frozenset({ResultState.FAILED, ResultState.TIMEDOUT,
                            ResultState.UPSTREAM_FAILED, ResultState.CANCELED,
                            ResultState.UPSTREAM_CANCELED})


def run_outcome(
    plan: Plan, final: Mapping[str, TaskRun], canceled: bool, timed_out: bool,
) -> tuple[ResultState, LifeCycleState, str]:
    """The run's result, its legacy life cycle and its state message.

    `final` maps each task key to its latest task run, all terminal.
    """
    if timed_out:
        seconds = int(plan.timeout.total_seconds()) if plan.timeout else 0
        return (ResultState.TIMEDOUT, LifeCycleState.TERMINATED,
                f"The job run timed out after {seconds} seconds.")
    if canceled:
        return ResultState.CANCELED, LifeCycleState.TERMINATED, "The run was cancelled."
    ordered = [final[key] for key in plan.order if key in final]
    if any(final[key].result in NOT_SUCCESSFUL for key in plan.leaves if key in final):
        origin = next((r for r in ordered if r.result in FAILURES),
                      next(r for r in ordered if r.result in NOT_SUCCESSFUL))
        message = f"Task {origin.task_key} failed with message: {origin.message}"
        return ResultState.FAILED, LifeCycleState.INTERNAL_ERROR, message
    if any(run.result in NOT_SUCCESSFUL for run in ordered):
        return (ResultState.SUCCESS_WITH_FAILURES, LifeCycleState.TERMINATED,
                "Some tasks failed, but every leaf task succeeded.")
    return ResultState.SUCCESS, LifeCycleState.TERMINATED, ""


def skip_message(result: ResultState, task: PlannedTask, branch: str | None = None,
                 upstream: str | None = None, edges: Sequence[ResultState] = ()) -> str:
    """Why a task was not run, for its `state_message` (`edges`: its dependencies' results
    as it sees them, see `edge_result`)."""
    if result is ResultState.EXCLUDED and branch is not None:
        return f"Task was excluded: the condition {branch!r} took the other branch."
    if result is ResultState.EXCLUDED and edges and all(
            edge is ResultState.EXCLUDED for edge in edges):  # whatever its run_if (ref 3.1)
        return "Task was excluded: all its dependencies were excluded."
    if result is ResultState.EXCLUDED:
        return f"Task was excluded: its run_if {task.run_if} was not met."
    if result is ResultState.UPSTREAM_CANCELED:
        return f"Upstream task {upstream} was cancelled." if upstream else \
            "An upstream task was cancelled."
    if result is ResultState.UPSTREAM_FAILED:
        return f"Upstream task {upstream} did not succeed." if upstream else \
            "An upstream task failed."
    return "An upstream task is disabled."


def edge_result(upstream: TaskRun, outcome: str | None) -> ResultState:
    """An upstream's result as its dependant sees it: a branch not taken is EXCLUDED."""
    assert upstream.result is not None
    if outcome is None or upstream.result is not ResultState.SUCCESS:
        return upstream.result
    return ResultState.SUCCESS if upstream.condition_outcome == outcome else ResultState.EXCLUDED


_SHOWN_ITERATIONS = 5
_SHOWN_INPUT_CHARS = 60


def failed_iterations(parent: TaskRun, runs: Iterable[TaskRun]) -> str:
    """The failed iterations of the for-each `parent` (its runs among `runs`), each with its
    index, input and message, for the loop's own message: `iteration 2 (input "b"): ...`."""
    latest: dict[int, TaskRun] = {}
    for run in runs:
        if run.parent_seq == parent.seq and run.iteration is not None and run.is_terminal:
            known = latest.get(run.iteration)
            if known is None or run.seq > known.seq:
                latest[run.iteration] = run
    failed = [latest[i] for i in sorted(latest) if latest[i].result is not ResultState.SUCCESS]
    inputs = _inputs(parent.inputs)
    parts = []
    for run in failed[:_SHOWN_ITERATIONS]:
        assert run.iteration is not None
        shown = inputs[run.iteration] if run.iteration < len(inputs) else None
        value = json.dumps(shown) if shown is not None else "?"
        if len(value) > _SHOWN_INPUT_CHARS:
            value = value[: _SHOWN_INPUT_CHARS - 3] + "..."
        message = (run.message or "failed").rstrip(".")  # the list ends with one full stop
        parts.append(f"iteration {run.iteration} (input {value}): {message}")
    hidden = len(failed) - _SHOWN_ITERATIONS
    return "; ".join(parts) + (f"; and {hidden} more" if hidden > 0 else "") + "."


def _inputs(text: str | None) -> list[object]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []
