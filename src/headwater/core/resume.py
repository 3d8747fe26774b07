"""What a restarted engine must re-issue for a run it did not see end.

Timers and launches live only in the engine's memory; after a crash they are derived again
from the snapshot: launches for attempts that were about to start, retry and timeout timers,
the job timeout. Attempts that were running are checked by the engine (is the process still
there?) and reported lost; the retry policy then decides, as for any failed attempt.
"""

from __future__ import annotations

from headwater.core.events import Command, SetTimer, StartTask
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState
from headwater.core.step import JOB_TIMEOUT


def resume_commands(state: RunState) -> list[Command]:
    """The launches and timers a run in `state` is waiting for."""
    if state.is_terminal or state.life_cycle is not LifeCycleState.RUNNING:
        return []
    commands: list[Command] = []
    for run in sorted(state.task_runs.values(), key=lambda r: r.seq):
        commands.extend(_commands_for(state, run))
    started = state.repairs[-1].start_time if state.repairs else state.start_time
    if state.plan.timeout and started is not None:
        commands.append(SetTimer(JOB_TIMEOUT, started + state.plan.timeout))
    return commands


def running_attempts(state: RunState) -> list[TaskRun]:
    """Attempts whose process may be running (or gone): the engine must check each."""
    return [r for r in state.task_runs.values()
            if r.life_cycle is LifeCycleState.RUNNING and r.loop is None and r.handle]


def _commands_for(state: RunState, run: TaskRun) -> list[Command]:
    task = state.task_of(run)
    if run.life_cycle is LifeCycleState.PENDING:
        return [StartTask(run.seq)]
    if run.life_cycle is LifeCycleState.WAITING_FOR_RETRY:
        failed = _previous_attempt(state, run)
        at = (failed.start_time if failed and failed.start_time else run.pending_since)
        if at is None:
            return [StartTask(run.seq)]
        return [SetTimer(f"retry:{run.seq}", at + task.retry.min_interval)]
    if run.life_cycle is LifeCycleState.RUNNING and run.start_time and task.timeout:
        return [SetTimer(f"timeout:{run.seq}", run.start_time + task.timeout)]
    return []


def _previous_attempt(state: RunState, run: TaskRun) -> TaskRun | None:
    candidates = [r for r in state.task_runs.values()
                  if r.original_attempt_seq == run.original_attempt_seq
                  and r.attempt_number == run.attempt_number - 1]
    return candidates[-1] if candidates else None
