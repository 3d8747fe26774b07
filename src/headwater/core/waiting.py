"""Why a task run that has not ended is not running: the `state_message` of a waiting task,
so that the run page, `runs get` and the API answer "why isn't it running?". Pure.

Databricks leaves a waiting task's message empty and shows "Blocked" or "Pending"; here the
message says what it waits for (**choice**, docs/semantics.md): the upstream tasks not ended
yet, the instant of its retry, or a free task slot.
"""

from __future__ import annotations

from headwater.core.retry import retry_time
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState


def waiting_message(state: RunState, run: TaskRun) -> str:
    """`run`'s own message if it has one, else why it waits ('' when it runs or ended)."""
    if run.message or run.is_terminal:
        return run.message
    if run.life_cycle is LifeCycleState.BLOCKED:
        return _blocked(state, run)
    if run.life_cycle is LifeCycleState.WAITING_FOR_RETRY:
        return _retrying(state, run)
    if run.life_cycle is LifeCycleState.PENDING:
        return "Ready to start: it starts as soon as the engine has a free task slot."
    return ""


def _blocked(state: RunState, run: TaskRun) -> str:
    task = state.task_of(run)
    waiting = []
    for dependency in sorted(task.depends_on, key=lambda d: d.task_key):
        upstream = state.latest_run(dependency.task_key)
        if upstream is None or not upstream.is_terminal:
            waiting.append(dependency.task_key)
    if not waiting:
        return "Waiting for its upstream tasks."
    names = ", ".join(waiting)
    return f"Waiting for {'upstream task' if len(waiting) == 1 else 'upstream tasks'} {names}."


def _retrying(state: RunState, run: TaskRun) -> str:
    policy = state.task_of(run).retry
    retries = "unlimited" if policy.max_retries == -1 else str(policy.max_retries)
    failed = next((other for other in state.task_runs.values()
                   if other.original_attempt_seq == run.original_attempt_seq
                   and other.iteration == run.iteration
                   and other.attempt_number == run.attempt_number - 1), None)
    when = ""
    if failed is not None and failed.end_time is not None:
        due = retry_time(policy, failed.start_time, failed.end_time)
        when = f" at {due.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    return (f"Waiting for min_retry_interval_millis: retry {run.attempt_number} of {retries} "
            f"starts{when}.")


__all__ = ["waiting_message"]
