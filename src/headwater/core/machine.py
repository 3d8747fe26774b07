"""The reducer: `decide(state, event) -> Decision(state, commands, changed)`.

The whole run semantics live here and in the pure policies it calls (`conditions`, `retry`):
which tasks start, which are skipped and how, when to retry, what a timeout or a cancel does,
and how the run ends. The engine persists each decision and carries out its commands; given
the same event log, `decide` always rebuilds the same state (golden replays rely on that).

Timer keys: `retry:<seq>` (start a waiting attempt), `timeout:<seq>` (an attempt ran too
long), `job-timeout` (the run ran too long).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from headwater.core.conditions import ConditionError, evaluate_condition, evaluate_run_if
from headwater.core.events import (
    CancelRequested,
    CancelTimer,
    Command,
    Event,
    FinishRun,
    KillTask,
    RunStarted,
    SetTimer,
    StartTask,
    TaskFailed,
    TaskLost,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.plan import Plan, PlannedTask
from headwater.core.retry import RetryAt, decide_retry
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState, ResultState, is_legal
from headwater.errors import IllegalTransition

JOB_TIMEOUT = "job-timeout"
LOST_MESSAGE = "the attempt's process was lost: the engine stopped while it ran"


@dataclass(frozen=True, slots=True)
class Decision:
    """The new state, what the engine must do, and which task runs changed (by seq)."""

    state: RunState
    commands: tuple[Command, ...]
    changed: tuple[int, ...]


def initial_state(plan: Plan) -> RunState:
    """A run that was created but has not started."""
    return RunState(plan=plan)


def decide(state: RunState, event: Event) -> Decision:
    """Apply one event to a run; never mutates `state`."""
    step = _Step(state)
    match event:
        case RunStarted():
            step.start_run(event.at)
        case TaskStarted():
            step.task_started(event)
        case TaskSucceeded():
            step.task_ended(event.seq, event.at, ResultState.SUCCESS, "", None)
        case TaskFailed():
            step.task_ended(event.seq, event.at, ResultState.FAILED, event.message,
                            event.exit_code)
        case TaskLost():
            step.task_ended(event.seq, event.at, ResultState.FAILED, LOST_MESSAGE, None)
        case TimerFired():
            step.timer_fired(event.key, event.at)
        case CancelRequested():
            step.cancel(event.task_key, event.at)
    if step.run_active:
        step.advance(event.at)
    return step.decision()


class _Step:
    """The working copy of one decision: copies what it changes, records commands."""

    def __init__(self, state: RunState) -> None:
        self.old = state
        self.plan = state.plan
        self.runs = dict(state.task_runs)
        self.latest = dict(state.latest)
        self.next_seq = state.next_seq
        self.fields: dict[str, object] = {}
        self.commands: list[Command] = []
        self.changed: dict[int, None] = {}

    # -- bookkeeping ---------------------------------------------------------------

    @property
    def run_active(self) -> bool:
        life = self.fields.get("life_cycle", self.old.life_cycle)
        return life is LifeCycleState.RUNNING

    def flag(self, name: str) -> bool:
        return bool(self.fields.get(name, getattr(self.old, name)))

    def put(self, run: TaskRun) -> None:
        self.runs[run.seq] = run
        self.changed[run.seq] = None

    def move(self, run: TaskRun, target: LifeCycleState, **changes: object) -> TaskRun:
        if not is_legal(run.life_cycle, target):
            raise IllegalTransition(run.task_key, run.life_cycle, target)
        moved = replace(run, life_cycle=target, **changes)  # type: ignore[arg-type]
        self.put(moved)
        return moved

    def terminate(self, run: TaskRun, result: ResultState, at: datetime,
                  message: str = "") -> TaskRun:
        return self.move(run, LifeCycleState.TERMINATED, result=result, end_time=at,
                         message=message or run.message)

    def new_attempt(self, task: PlannedTask, attempt: int, life: LifeCycleState,
                    original: int | None = None) -> TaskRun:
        seq = self.next_seq
        self.next_seq += 1
        run = TaskRun(seq=seq, task_key=task.key, attempt_number=attempt, life_cycle=life,
                      original_attempt_seq=original or seq)
        self.put(run)
        self.latest[task.key] = seq
        return run

    def decision(self) -> Decision:
        state = replace(self.old, task_runs=self.runs, latest=self.latest,
                        next_seq=self.next_seq, **self.fields)  # type: ignore[arg-type]
        return Decision(state, tuple(self.commands), tuple(self.changed))

    # -- events --------------------------------------------------------------------

    def start_run(self, at: datetime) -> None:
        if self.old.life_cycle not in (LifeCycleState.PENDING, LifeCycleState.QUEUED):
            return  # a re-sent start is harmless
        self.fields.update(life_cycle=LifeCycleState.RUNNING, start_time=at)
        for key in self.plan.order:
            self.new_attempt(self.plan.tasks[key], 0, LifeCycleState.BLOCKED)
        if self.plan.timeout:
            self.commands.append(SetTimer(JOB_TIMEOUT, at + self.plan.timeout))

    def task_started(self, event: TaskStarted) -> None:
        run = self.runs.get(event.seq)
        if run is None or run.life_cycle is not LifeCycleState.PENDING:
            # Cancelled (or ended) while it was being launched: its process must not live on.
            self.commands.append(KillTask(event.seq, ResultState.CANCELED))
            return
        self.move(run, LifeCycleState.RUNNING, start_time=event.at, handle=event.handle)
        timeout = self.plan.tasks[run.task_key].timeout
        if timeout:
            self.commands.append(SetTimer(f"timeout:{run.seq}", event.at + timeout))

    def task_ended(self, seq: int, at: datetime, result: ResultState, message: str,
                   exit_code: int | None) -> None:
        run = self.runs.get(seq)
        if run is None or run.is_terminal:
            return  # a stale report about an attempt that already ended
        if result is not ResultState.SUCCESS and run.stop_reason is not None:
            result = run.stop_reason
            message = run.message or message
        run = self.terminate(run, result, at, message)
        if exit_code is not None:
            self.put(replace(run, exit_code=exit_code))
        self.commands.append(CancelTimer(f"timeout:{seq}"))
        if result is not ResultState.SUCCESS:
            self.maybe_retry(run, at)

    def maybe_retry(self, run: TaskRun, at: datetime) -> None:
        if self.flag("cancel_requested") or self.flag("timed_out") or run.iteration is not None:
            return
        task = self.plan.tasks[run.task_key]
        assert run.result is not None
        verdict = decide_retry(task.retry, run.attempt_number, run.result, run.start_time, at)
        if not isinstance(verdict, RetryAt):
            return
        nxt = self.new_attempt(task, verdict.attempt_number, LifeCycleState.WAITING_FOR_RETRY,
                               original=run.original_attempt_seq)
        if verdict.at <= at:
            self.make_pending(nxt, at)
        else:
            self.commands.append(SetTimer(f"retry:{nxt.seq}", verdict.at))

    def timer_fired(self, key: str, at: datetime) -> None:
        if key == JOB_TIMEOUT:
            self.job_timed_out(at)
            return
        kind, _, seq_text = key.partition(":")
        run = self.runs.get(int(seq_text)) if seq_text.isdigit() else None
        if run is None:
            return
        if kind == "retry" and run.life_cycle is LifeCycleState.WAITING_FOR_RETRY:
            self.make_pending(run, at)
        elif kind == "timeout" and run.life_cycle is LifeCycleState.RUNNING:
            seconds = int(self.plan.tasks[run.task_key].timeout.total_seconds())  # type: ignore[union-attr]
            self.stop(run, ResultState.TIMEDOUT, f"Task timed out after {seconds} seconds.")

    def stop(self, run: TaskRun, reason: ResultState, message: str) -> None:
        """Order the kill of a running attempt; its exit event will end it with `reason`."""
        if run.stop_reason is None:
            self.put(replace(run, stop_reason=reason, message=message))
            self.commands.append(KillTask(run.seq, reason))

    def cancel(self, task_key: str | None, at: datetime) -> None:
        if not self.run_active:
            return
        if task_key is None:
            self.fields["cancel_requested"] = True
            keys = list(self.latest)
        else:
            keys = [task_key] if task_key in self.latest else []
        for key in keys:
            self.halt(self.runs[self.latest[key]], ResultState.CANCELED, at,
                      "Task was cancelled by a user.")

    def job_timed_out(self, at: datetime) -> None:
        if not self.run_active:
            return
        self.fields["timed_out"] = True
        seconds = int(self.plan.timeout.total_seconds()) if self.plan.timeout else 0
        for seq in list(self.latest.values()):
            self.halt(self.runs[seq], ResultState.TIMEDOUT, at,
                      f"The job timed out after {seconds} seconds.")

    def halt(self, run: TaskRun, reason: ResultState, at: datetime, message: str) -> None:
        """Stop one task run for a cancel or a job timeout, whatever its life cycle."""
        if run.life_cycle is LifeCycleState.RUNNING:
            self.stop(run, reason, message)
        elif run.life_cycle in (LifeCycleState.PENDING, LifeCycleState.WAITING_FOR_RETRY):
            if run.life_cycle is LifeCycleState.PENDING:
                self.commands.append(KillTask(run.seq, reason))  # it may be launching
            final = ResultState.CANCELED if reason is ResultState.TIMEDOUT else reason
            self.terminate(run, final, at, message)
        elif run.life_cycle is LifeCycleState.BLOCKED and self.flag("timed_out"):
            self.terminate(run, ResultState.CANCELED, at, message)

    # -- scheduling ----------------------------------------------------------------

    def make_pending(self, run: TaskRun, at: datetime) -> None:
        run = self.move(run, LifeCycleState.PENDING, pending_since=at)
        task = self.plan.tasks[run.task_key]
        if task.kind == "condition_task":
            self.run_condition(run, task, at)
        else:
            self.commands.append(StartTask(run.seq))

    def run_condition(self, run: TaskRun, task: PlannedTask, at: datetime) -> None:
        """A condition needs no process: it is evaluated right here, at once."""
        spec = task.spec.condition_task
        assert spec is not None
        run = self.move(run, LifeCycleState.RUNNING, start_time=at)
        try:
            outcome = evaluate_condition(spec.op, spec.left, spec.right)
        except ConditionError as error:
            self.terminate(run, ResultState.FAILED, at, str(error))
            return
        text = "true" if outcome else "false"
        self.put(replace(self.terminate(run, ResultState.SUCCESS, at,
                                        f"Condition evaluated to {text}."),
                         condition_outcome=text))

    def advance(self, at: datetime) -> None:
        """Start or skip every blocked task whose dependencies are all done; maybe finish."""
        for key in self.plan.order:
            run = self.runs[self.latest[key]]
            if run.life_cycle is LifeCycleState.BLOCKED:
                self.unblock(self.plan.tasks[key], run, at)
        if all(self.runs[seq].is_terminal for seq in self.latest.values()):
            self.finish(at)

    def unblock(self, task: PlannedTask, run: TaskRun, at: datetime) -> None:
        edges: list[ResultState] = []
        for dep in task.depends_on:
            upstream = self.runs[self.latest[dep.task_key]]
            if not upstream.is_terminal or upstream.result is None:
                return
            edges.append(_edge_result(upstream, dep.outcome))
        if task.disabled:
            self.terminate(run, ResultState.DISABLED, at, "Task is disabled.")
            return
        if self.flag("timed_out"):
            self.terminate(run, ResultState.CANCELED, at, "The job timed out.")
            return
        skip = evaluate_run_if(task.run_if, edges)
        if skip is None:
            self.make_pending(run, at)
        else:
            self.terminate(run, skip, at, _skip_message(skip, task))

    def finish(self, at: datetime) -> None:
        result, life, message = run_outcome(self.plan, self.runs, self.latest,
                                            self.flag("cancel_requested"),
                                            self.flag("timed_out"))
        self.fields.update(life_cycle=life, result=result, end_time=at, message=message)
        if self.plan.timeout:
            self.commands.append(CancelTimer(JOB_TIMEOUT))
        self.commands.append(FinishRun(result))


def _edge_result(upstream: TaskRun, outcome: str | None) -> ResultState:
    """An upstream's result as its dependant sees it: a branch not taken is EXCLUDED."""
    assert upstream.result is not None
    if outcome is None or upstream.result is not ResultState.SUCCESS:
        return upstream.result
    return ResultState.SUCCESS if upstream.condition_outcome == outcome else ResultState.EXCLUDED


def _skip_message(result: ResultState, task: PlannedTask) -> str:
    if result is ResultState.EXCLUDED:
        return f"Task was excluded: its run_if {task.run_if} was not met."
    if result is ResultState.UPSTREAM_CANCELED:
        return "An upstream task was cancelled."
    if result is ResultState.UPSTREAM_FAILED:
        return "An upstream task failed."
    return "An upstream task is disabled."


_FAILURES = frozenset({ResultState.FAILED, ResultState.TIMEDOUT})
_NOT_SUCCESSFUL = frozenset({ResultState.FAILED, ResultState.TIMEDOUT,
                             ResultState.UPSTREAM_FAILED, ResultState.CANCELED,
                             ResultState.UPSTREAM_CANCELED})


def run_outcome(
    plan: Plan, runs: dict[int, TaskRun], latest: dict[str, int], canceled: bool,
    timed_out: bool,
) -> tuple[ResultState, LifeCycleState, str]:
    """The run's result from its leaf tasks (reference 3.2), with its legacy life cycle.

    A failed run reports `INTERNAL_ERROR`/`FAILED` with "Task X failed with message: ...",
    as Lakeflow does; SDK waiters rely on that.
    """
    final = {key: runs[seq] for key, seq in latest.items()}
    if timed_out:
        seconds = int(plan.timeout.total_seconds()) if plan.timeout else 0
        return (ResultState.TIMEDOUT, LifeCycleState.TERMINATED,
                f"The job run timed out after {seconds} seconds.")
    if canceled:
        return ResultState.CANCELED, LifeCycleState.TERMINATED, "The run was cancelled."
    if any(final[key].result in _NOT_SUCCESSFUL for key in plan.leaves):
        origin = next((final[k] for k in plan.order if final[k].result in _FAILURES),
                      next(final[k] for k in plan.order if final[k].result in _NOT_SUCCESSFUL))
        message = f"Task {origin.task_key} failed with message: {origin.message}"
        return ResultState.FAILED, LifeCycleState.INTERNAL_ERROR, message
    if any(run.result in _NOT_SUCCESSFUL for run in final.values()):
        return (ResultState.SUCCESS_WITH_FAILURES, LifeCycleState.TERMINATED,
                "Some tasks failed, but every leaf task succeeded.")
    return ResultState.SUCCESS, LifeCycleState.TERMINATED, ""
