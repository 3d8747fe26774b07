"""One decision's working copy of a run: the handlers `decide` dispatches events to.

A `Step` copies what it changes (never the input state), records the commands for the
engine, and remembers which task runs changed so the store writes only those rows.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from headwater.core.conditions import evaluate_run_if, handles_failure
from headwater.core.events import (
    CancelTimer,
    Command,
    FinishRun,
    KillTask,
    RepairRequested,
    SetTimer,
    StartTask,
)
from headwater.core.for_each_repair import kept_iterations
from headwater.core.outcome import edge_result, failed_iterations, run_outcome, skip_message
from headwater.core.plan import PlannedTask
from headwater.core.repair_selection import repair_selection
from headwater.core.retry import RetryAt, decide_retry
from headwater.core.runstate import LoopProgress, Repair, RunState, TaskRun, planned_task_of
from headwater.core.states import LifeCycleState, ResultState, TerminationCode, is_legal
from headwater.errors import IllegalTransition

JOB_TIMEOUT = "job-timeout"
CANCELLED_BY_USER = "Task was cancelled by a user."
SUCCEEDED_BEFORE_STOPPED = "The task succeeded before it could be stopped."


class Step:
    """Applies one event to a copy of the run."""

    def __init__(self, state: RunState) -> None:
        self.old = state
        self.plan = state.plan
        self.runs = dict(state.task_runs)
        self.latest = dict(state.latest)
        self.next_seq = state.next_seq
        self.fields: dict[str, object] = {}
        self.commands: list[Command] = []
        self.changed: dict[int, None] = {}
        self.ended: set[str] = set()  # plan tasks whose latest run ended in this step
        self.scan_all = False

    # -- bookkeeping ---------------------------------------------------------------

    @property
    def run_active(self) -> bool:
        return self.get("life_cycle") is LifeCycleState.RUNNING

    def get(self, name: str) -> object:
        return self.fields.get(name, getattr(self.old, name))

    def result(self) -> tuple[RunState, tuple[Command, ...], tuple[int, ...]]:
        state = replace(self.old, task_runs=self.runs, latest=self.latest,
                        next_seq=self.next_seq, **self.fields)  # type: ignore[arg-type]
        return state, tuple(self.commands), tuple(self.changed)

    def put(self, run: TaskRun) -> TaskRun:
        self.runs[run.seq] = run
        self.changed[run.seq] = None
        return run

    def move(self, run: TaskRun, target: LifeCycleState, **changes: object) -> TaskRun:
        if not is_legal(run.life_cycle, target):
            raise IllegalTransition(run.task_key, run.life_cycle, target)
        return self.put(run.evolve(life_cycle=target, **changes))

    def terminate(self, run: TaskRun, result: ResultState, at: datetime, message: str = "",
                  **changes: object) -> TaskRun:
        run = self.move(run, LifeCycleState.TERMINATED, result=result, end_time=at,
                        message=message or run.message, **changes)
        if run.parent_seq is None and self.latest.get(run.task_key) == run.seq:
            self.ended.add(run.task_key)
        return run

    def task_for(self, run: TaskRun) -> PlannedTask:
        """The planned task of a task run; an iteration runs its for-each's nested task."""
        return planned_task_of(self.plan, self.runs, run)

    def new_run(self, task_key: str, attempt: int, life: LifeCycleState,
                **fields: object) -> TaskRun:
        seq = self.next_seq
        self.next_seq += 1
        fields.setdefault("original_attempt_seq", seq)
        fields.setdefault("repair", len(self.get("repairs")))  # type: ignore[arg-type]
        run = TaskRun(seq=seq, task_key=task_key, attempt_number=attempt, life_cycle=life,
                      **fields)  # type: ignore[arg-type]
        if run.parent_seq is None:
            self.latest[task_key] = seq
        return self.put(run)

    # -- the run -------------------------------------------------------------------

    def start_run(self, at: datetime) -> None:
        if self.old.life_cycle not in (LifeCycleState.PENDING, LifeCycleState.QUEUED):
            return  # a re-sent start is harmless
        self.fields.update(life_cycle=LifeCycleState.RUNNING, start_time=at)
        for key in self.plan.order:
            self.new_run(key, 0, LifeCycleState.BLOCKED)
        self.scan_all = True
        if self.plan.timeout:
            self.commands.append(SetTimer(JOB_TIMEOUT, at + self.plan.timeout))

    def finish(self, at: datetime) -> None:
        final = {key: self.runs[seq] for key, seq in self.latest.items()}
        result, life, message = run_outcome(self.plan, final, bool(self.get("cancel_requested")),
                                            bool(self.get("timed_out")))
        self.fields.update(life_cycle=life, result=result, end_time=at, message=message)
        repairs: tuple[Repair, ...] = self.get("repairs")  # type: ignore[assignment]
        if repairs:
            self.fields["repairs"] = (*repairs[:-1],
                                      replace(repairs[-1], end_time=at, result=result))
        elif self.old.original_end_time is None:
            self.fields["original_end_time"] = at
        if self.plan.timeout:
            self.commands.append(CancelTimer(JOB_TIMEOUT))
        self.commands.append(FinishRun(result))

    # -- attempts ------------------------------------------------------------------

    def task_started(self, seq: int, at: datetime, handle: str, resolved: str | None) -> None:
        run = self.runs.get(seq)
        if run is None or run.life_cycle is not LifeCycleState.PENDING:
            # Cancelled (or ended) while it was being launched: its process must not live on.
            self.commands.append(KillTask(seq, ResultState.CANCELED))
            return
        self.move(run, LifeCycleState.RUNNING, start_time=at, handle=handle, resolved=resolved)
        timeout = self.task_for(run).timeout
        if timeout:
            self.commands.append(SetTimer(f"timeout:{seq}", at + timeout))

    def task_ended(self, seq: int, at: datetime, result: ResultState, message: str,
                   exit_code: int | None, values: str | None, outcome: str | None,
                   retryable: bool = True, lost: bool = False) -> None:
        run = self.runs.get(seq)
        if run is None or run.is_terminal:
            return  # a stale report about an attempt that already ended
        if not lost and self.ran_past_timeout(run, at):  # a hard limit, stopped or not
            # (a lost attempt's `at` is when it was found lost: it says so instead)
            result, message = ResultState.TIMEDOUT, self.timed_out_message(run)
        elif result is not ResultState.SUCCESS and run.stop_reason is not None:
            result, message = run.stop_reason, run.message or message
        elif run.stop_reason is not None:  # not the cancel's (or timeout's) words: it succeeded
            message = SUCCEEDED_BEFORE_STOPPED
        extra = {"exit_code": exit_code, "values": values, "condition_outcome": outcome}
        if run.life_cycle is LifeCycleState.PENDING:
            run = self.move(run, LifeCycleState.RUNNING, start_time=at)  # it never started
        run = self.terminate(run, result, at, message,
                             **{k: v for k, v in extra.items() if v is not None})
        self.commands.append(CancelTimer(f"timeout:{seq}"))
        retried = result is not ResultState.SUCCESS and self.maybe_retry(run, at, retryable)
        if run.parent_seq is not None and not retried:
            self.iteration_done(run, at)

    def maybe_retry(self, run: TaskRun, at: datetime, retryable: bool = True) -> bool:
        if self.get("cancel_requested") or self.get("timed_out") or self.engine_stopped:
            return False
        if run.parent_seq is not None and self.runs[run.parent_seq].stop_reason is not None:
            return False
        assert run.result is not None
        verdict = decide_retry(self.task_for(run).retry, run.attempt_number, run.result,
                               run.start_time, at, retryable)
        if not isinstance(verdict, RetryAt):
            if verdict.explained:
                self.put(run.evolve(message=f"{run.message} ({verdict.reason})"))
            return False
        nxt = self.new_run(run.task_key, verdict.attempt_number,
                           LifeCycleState.WAITING_FOR_RETRY,
                           original_attempt_seq=run.original_attempt_seq,
                           iteration=run.iteration, parent_seq=run.parent_seq)
        if verdict.at <= at:
            self.make_pending(nxt, at)
        else:
            self.commands.append(SetTimer(f"retry:{nxt.seq}", verdict.at))
        return True

    def make_pending(self, run: TaskRun, at: datetime) -> None:
        self.move(run, LifeCycleState.PENDING, pending_since=at)
        self.commands.append(StartTask(run.seq))

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
            self.stop(run, ResultState.TIMEDOUT, self.timed_out_message(run))

    def timed_out_message(self, run: TaskRun) -> str:
        timeout = self.task_for(run).timeout
        return f"Task timed out after {int(timeout.total_seconds()) if timeout else 0} seconds."

    def ran_past_timeout(self, run: TaskRun, at: datetime) -> bool:
        """Whether an attempt that ends at `at` outlived its timeout unstopped: no engine drove
        the run at its deadline to stop it (or the exit came before the deadline's timer)."""
        timeout = self.task_for(run).timeout
        return (run.stop_reason is None and timeout is not None and run.start_time is not None
                and at > run.start_time + timeout)

    def stop(self, run: TaskRun, reason: ResultState, message: str) -> None:
        """Order the kill of a running attempt; its exit event will end it with `reason`."""
        if run.stop_reason is None:
            self.put(run.evolve(stop_reason=reason, message=message))
            self.commands.append(KillTask(run.seq, reason))

    # -- cancel and job timeout ----------------------------------------------------

    def cancel(self, task_key: str | None, at: datetime) -> None:
        if not self.run_active:
            return
        if task_key is None:
            self.fields["cancel_requested"] = True
            keys = list(self.latest)
        else:
            keys = [task_key] if task_key in self.latest else []
        for key in keys:
            self.halt(self.runs[self.latest[key]], ResultState.CANCELED, at, CANCELLED_BY_USER)

    def timeout_changed(self, seconds: int, at: datetime) -> None:
        """The job's timeout is now `seconds` (0: none): the plan has it, and a run under way
        gets a new deadline from its start (or its repair's), at once if that has passed."""
        if self.old.is_terminal:
            return
        self.plan = replace(self.plan, timeout=timedelta(seconds=seconds) if seconds else None)
        self.fields["plan"] = self.plan
        if not self.run_active:
            return  # not started: its start sets the timer
        self.commands.append(CancelTimer(JOB_TIMEOUT))
        repairs: tuple[Repair, ...] = self.get("repairs")  # type: ignore[assignment]
        started = repairs[-1].start_time if repairs else self.get("start_time")
        if self.plan.timeout is None or not isinstance(started, datetime):
            return
        deadline = started + self.plan.timeout
        if deadline <= at:
            self.job_timed_out(at)
        else:
            self.commands.append(SetTimer(JOB_TIMEOUT, deadline))

    def job_timed_out(self, at: datetime) -> None:
        if not self.run_active:
            return
        self.fields["timed_out"] = True
        seconds = int(self.plan.timeout.total_seconds()) if self.plan.timeout else 0
        for seq in list(self.latest.values()):
            self.halt(self.runs[seq], ResultState.TIMEDOUT, at,
                      f"The job timed out after {seconds} seconds.")

    def engine_failed(self, message: str, at: datetime) -> None:
        """Stop the run after an engine bug: what runs is killed and ends FAILED with
        `message`, what waits never starts, and no attempt is retried."""
        if not self.run_active:
            return
        self.fields["termination_code"] = TerminationCode.INTERNAL_ERROR
        for seq in list(self.latest.values()):
            self.halt(self.runs[seq], ResultState.FAILED, at, message)

    @property
    def engine_stopped(self) -> bool:
        """Whether an engine failure is stopping the run (see `engine_failed`)."""
        return self.get("termination_code") is TerminationCode.INTERNAL_ERROR

    def halt(self, run: TaskRun, reason: ResultState, at: datetime, message: str) -> None:
        """Stop one task run for a cancel or a job timeout, whatever its life cycle."""
        unstarted = ResultState.CANCELED  # what never ran ends CANCELED, even on a timeout
        if run.loop is not None and not run.is_terminal:
            self.halt_loop(run, reason, at, message)
        elif run.life_cycle is LifeCycleState.RUNNING:
            self.stop(run, reason, message)
        elif run.life_cycle in (LifeCycleState.PENDING, LifeCycleState.WAITING_FOR_RETRY):
            if run.life_cycle is LifeCycleState.PENDING:
                self.commands.append(KillTask(run.seq, reason))  # it may be launching
            run = self.terminate(run, unstarted, at, message)
            if run.parent_seq is not None:
                self.iteration_done(run, at)
        elif run.life_cycle is LifeCycleState.BLOCKED and (self.get("timed_out")
                                                          or self.engine_stopped):
            self.terminate(run, unstarted, at, message)

    # -- for-each ------------------------------------------------------------------

    def loop_started(self, seq: int, at: datetime, inputs: str) -> None:
        run = self.runs.get(seq)
        if run is None or run.life_cycle is not LifeCycleState.PENDING:
            return
        items = json.loads(inputs)
        run = self.move(run, LifeCycleState.RUNNING, start_time=at, inputs=inputs,
                        loop=LoopProgress(total=len(items)))
        if not items:
            self.terminate(run, ResultState.SUCCESS, at, "The inputs are empty: no iterations.")
            return
        kept = kept_iterations(run, inputs, self.runs)
        for old in kept:
            self.keep_iteration(run, old)
        if kept:
            run = self.put(run.evolve(loop=LoopProgress(len(items), len(kept), len(kept))))
        if len(kept) == len(items):
            self.end_loop(run, at)
            return
        self.schedule_iterations(run, at)

    def keep_iteration(self, parent: TaskRun, old: TaskRun) -> None:
        """Record in a repaired for-each an iteration that succeeded before and is not rerun.

        It keeps the old attempt's repair and attempt numbers, so its log, output and values
        are found where that attempt left them; it has no times of its own (it did not run
        again, and timelines must not count that attempt twice)."""
        self.new_run(old.task_key, old.attempt_number, LifeCycleState.TERMINATED,
                     result=ResultState.SUCCESS, iteration=old.iteration, parent_seq=parent.seq,
                     repair=old.repair, exit_code=old.exit_code, resolved=old.resolved,
                     values=old.values,
                     message=f"Kept: it succeeded before repair {parent.repair} with the same "
                             "input, so the repair did not rerun it.")

    def schedule_iterations(self, parent: TaskRun, at: datetime) -> None:
        loop = parent.loop
        nested = self.plan.tasks[parent.task_key].nested
        assert loop is not None and nested is not None
        limit = self.plan.tasks[parent.task_key].concurrency
        indexes = self.unstarted_iterations(parent)
        while loop.active < limit and loop.started < loop.total and parent.stop_reason is None:
            iteration = self.new_run(nested.key, 0, LifeCycleState.BLOCKED,
                                     iteration=next(indexes), parent_seq=parent.seq)
            self.make_pending(iteration, at)
            loop = replace(loop, started=loop.started + 1)
        if loop != parent.loop:
            self.put(parent.evolve(loop=loop))

    def unstarted_iterations(self, parent: TaskRun) -> Iterator[int]:
        """The indexes of `parent`'s iterations not started yet, in order (a repaired loop
        may have kept some of them: see `kept_iterations`)."""
        loop = parent.loop
        assert loop is not None
        if not parent.repair:
            return iter(range(loop.started, loop.total))
        taken = {r.iteration for r in self.runs.values() if r.parent_seq == parent.seq}
        return (index for index in range(loop.total) if index not in taken)

    def iteration_done(self, run: TaskRun, at: datetime) -> None:
        """An iteration ended for good: count it, start the next one, maybe end the loop."""
        assert run.parent_seq is not None
        parent = self.runs[run.parent_seq]
        loop = parent.loop
        assert loop is not None
        failed = run.result is not ResultState.SUCCESS
        loop = replace(loop, done=loop.done + 1, failed=loop.failed + failed)
        parent = self.put(parent.evolve(loop=loop))
        self.schedule_iterations(parent, at)
        parent = self.runs[parent.seq]
        finished = parent.loop.done == parent.loop.total  # type: ignore[union-attr]
        if finished or (parent.stop_reason is not None and parent.loop.active == 0):  # type: ignore[union-attr]
            self.end_loop(parent, at)

    def end_loop(self, parent: TaskRun, at: datetime) -> None:
        loop = parent.loop
        assert loop is not None
        if parent.stop_reason is not None:
            self.terminate(parent, parent.stop_reason, at)
        elif loop.failed:
            self.terminate(parent, ResultState.FAILED, at,
                           f"{loop.failed} of {loop.total} iterations failed: "
                           + failed_iterations(parent, self.runs.values()))
        else:
            self.terminate(parent, ResultState.SUCCESS, at)

    def halt_loop(self, parent: TaskRun, reason: ResultState, at: datetime,
                  message: str) -> None:
        parent = self.put(parent.evolve(stop_reason=reason, message=message))
        live = [r for r in self.runs.values() if r.parent_seq == parent.seq and not r.is_terminal]
        for iteration in live:
            self.halt(iteration, reason, at, message)
        parent = self.runs[parent.seq]
        if not parent.is_terminal and parent.loop.active == 0:  # type: ignore[union-attr]
            self.end_loop(parent, at)

    # -- scheduling ----------------------------------------------------------------

    def advance(self, at: datetime) -> None:
        """Start or skip each blocked task whose dependencies are all done; maybe finish."""
        order, position = self.plan.order, self.plan.position
        if self.scan_all:
            heap = list(range(len(order)))
        else:
            heap = [position[b] for key in self.ended for b in self.plan.dependants[key]]
        heapq.heapify(heap)
        seen: set[int] = set()
        while heap:
            index = heapq.heappop(heap)
            if index in seen:
                continue
            seen.add(index)
            key = order[index]
            run = self.runs[self.latest[key]]
            if run.life_cycle is LifeCycleState.BLOCKED:
                self.unblock(self.plan.tasks[key], run, at)
                if self.runs[self.latest[key]].is_terminal:
                    for below in self.plan.dependants[key]:
                        heapq.heappush(heap, position[below])
        # Downstream tasks end last, so looking from the end of the plan finds one that has
        # not ended at once (a check from the start would walk every ended task, each time).
        if (self.ended or self.scan_all) and all(
            self.runs[seq].is_terminal for seq in reversed(self.latest.values())
        ):
            self.finish(at)

    def unblock(self, task: PlannedTask, run: TaskRun, at: datetime) -> None:
        runs, latest = self.runs, self.latest
        # From the last: dependencies end roughly in the order they are listed, so one that
        # has not ended is found at once (this runs each time any of them ends).
        for dep in reversed(task.depends_on):
            upstream = runs[latest[dep.task_key]]
            if not upstream.is_terminal or upstream.result is None:
                return
        edges = [edge_result(runs[latest[dep.task_key]], dep.outcome)
                 for dep in task.depends_on]
        if task.disabled:
            self.terminate(run, ResultState.DISABLED, at, "Task is disabled.")
            return
        if self.get("timed_out"):
            self.terminate(run, ResultState.CANCELED, at, "The job timed out.")
            return
        skip = evaluate_run_if(task.run_if, edges)
        if skip is None and self.get("cancel_requested") and not handles_failure(task.run_if):
            # its upstream ended well as the cancel came (it finished before the kill landed):
            # in a run being cancelled only cleanup and alerting tasks start
            self.terminate(run, ResultState.CANCELED, at, CANCELLED_BY_USER)
        elif skip is None:
            self.make_pending(run, at)
        else:
            self.terminate(run, skip, at, skip_message(skip, task, self.branch_not_taken(task),
                                                       self.first_unsuccessful(task), edges))

    def first_unsuccessful(self, task: PlannedTask) -> str | None:
        """The first dependency that failed or was cancelled, to name it in a skip message."""
        for dep in task.depends_on:
            result = self.runs[self.latest[dep.task_key]].result
            if result is not None and not result.is_success and result is not ResultState.DISABLED:
                return dep.task_key
        return None

    def branch_not_taken(self, task: PlannedTask) -> str | None:
        """The condition task whose other branch was taken, when that is why `task` waits."""
        for dep in task.depends_on:
            upstream = self.runs[self.latest[dep.task_key]]
            if dep.outcome is not None and edge_result(upstream, dep.outcome) is \
                    ResultState.EXCLUDED and upstream.result is ResultState.SUCCESS:
                return dep.task_key
        return None

    # -- repair ----------------------------------------------------------------------

    def repair(self, event: RepairRequested) -> None:
        """Rerun the chosen tasks (and what their failure skipped) inside this run."""
        if not self.old.is_terminal:
            return
        chosen = self.repair_selection(set(event.task_keys), event.rerun_dependents)
        repairs: tuple[Repair, ...] = self.old.repairs
        number = len(repairs) + 1
        self.fields.update(
            life_cycle=LifeCycleState.RUNNING, result=None, end_time=None, message="",
            cancel_requested=False, timed_out=False, termination_code=None,
            repairs=(*repairs, Repair(number, event.repair_id, event.at,
                                      task_keys=tuple(k for k in self.plan.order if k in chosen),
                                      previous_version=event.previous_version)),
        )
        for key in [k for k in self.latest if k not in self.plan.tasks]:
            del self.latest[key]  # removed from the job since: it no longer counts
        for key in self.plan.order:
            if key in chosen:
                self.new_run(key, 0, LifeCycleState.BLOCKED, repair=number)
        self.scan_all = True
        if self.plan.timeout:
            self.commands.append(SetTimer(JOB_TIMEOUT, event.at + self.plan.timeout))

    def repair_selection(self, keys: set[str], rerun_dependents: bool) -> set[str]:
        """The asked tasks, their dependants that did not succeed (or all, if asked), and
        tasks added to the job since the run (`core/repair_selection.py`)."""
        results = {key: self.runs[seq].result for key, seq in self.latest.items()}
        return set(repair_selection(self.plan, results, keys, rerun_dependents).tasks)
