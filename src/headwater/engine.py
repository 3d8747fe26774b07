"""The engine: the one impure loop that drives a run.

It is the only place that feeds events to `core.machine.decide`, persists each decision (the
event and the changed rows in one store transaction), and carries out the commands: launch an
attempt through a runner and the executor (at most `max_parallel` at once), kill one, keep the
timers. Executors and timers turn into new events; nothing else changes a run.
"""

from __future__ import annotations

import heapq
import signal as signals
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from headwater.core.events import (
    CancelTimer,
    Command,
    Event,
    FinishRun,
    KillTask,
    RunStarted,
    SetTimer,
    StartTask,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.machine import decide
from headwater.core.runstate import RunState, TaskRun
from headwater.errors import HeadwaterError
from headwater.ports import (
    AttemptKey,
    Clock,
    Executor,
    Runner,
    RunRecord,
    Store,
    TaskContext,
    TaskExit,
)

Observer = Callable[[RunState, Mapping[int, int]], None]

KILL_GRACE_SECONDS = 10.0  # SIGTERM, then SIGKILL of the whole tree after this
IDLE_WAIT_SECONDS = 0.5  # how long the loop sleeps when nothing is due


def log_path(logs_dir: Path, run_id: int, run: TaskRun) -> Path:
    """Where an attempt's stdout and stderr go; one file per attempt, never rewritten."""
    task_dir = logs_dir / str(run_id) / run.task_key
    if run.iteration is not None:
        task_dir = task_dir / f"iteration-{run.iteration}"
    return task_dir / f"attempt-{run.attempt_number}.log"


@dataclass
class _Timers:
    """Due instants by key; a cancelled or replaced timer is skipped when popped."""

    heap: list[tuple[datetime, str]]
    due: dict[str, datetime]

    def set(self, key: str, at: datetime) -> None:
        self.due[key] = at
        heapq.heappush(self.heap, (at, key))

    def cancel(self, key: str) -> None:
        self.due.pop(key, None)

    def next_at(self) -> datetime | None:
        while self.heap and self.due.get(self.heap[0][1]) != self.heap[0][0]:
            heapq.heappop(self.heap)
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: datetime) -> list[str]:
        fired = []
        while (at := self.next_at()) is not None and at <= now:
            _, key = heapq.heappop(self.heap)
            del self.due[key]
            fired.append(key)
        return fired


class Engine:
    """Runs one job run at a time to its end with the given adapters."""

    def __init__(self, store: Store, executor: Executor, runners: Mapping[str, Runner],
                 clock: Clock, logs_dir: Path, max_parallel: int) -> None:
        self.store, self.executor, self.runners = store, executor, runners
        self.clock, self.logs_dir, self.max_parallel = clock, logs_dir, max_parallel

    def run(self, run_id: int, observer: Observer | None = None) -> RunState:
        """Drive `run_id` from its stored state to a terminal state and return it."""
        return _RunLoop(self, self.store.load_run(run_id), observer).drive()


class _RunLoop:
    """The state of one engine loop over one run."""

    def __init__(self, engine: Engine, record: RunRecord, observer: Observer | None) -> None:
        self.engine, self.record, self.observer = engine, record, observer
        self.state = record.state
        self.ids: dict[int, int] = dict(record.task_run_ids)
        self.to_launch: deque[int] = deque()
        self.timers = _Timers([], {})
        self.finished = record.state.is_terminal

    def drive(self) -> RunState:
        if not self.finished:
            self.apply(RunStarted(self.now()))
        while not self.finished:
            self.launch_ready()
            self.wait_once()
        return self.state

    def now(self) -> datetime:
        return self.engine.clock.now()

    def apply(self, event: Event) -> None:
        decision = decide(self.state, event)
        ids = self.engine.store.record(self.record.run_id, event, decision.state,
                                       decision.changed)
        self.ids.update(ids)
        self.state = decision.state
        for command in decision.commands:
            self.perform(command)
        if self.observer is not None:
            self.observer(self.state, self.ids)

    def perform(self, command: Command) -> None:
        match command:
            case StartTask(seq=seq):
                self.to_launch.append(seq)
            case KillTask(seq=seq):
                if seq in self.to_launch:
                    self.to_launch.remove(seq)
                else:
                    key = AttemptKey(self.record.run_id, seq)
                    self.engine.executor.kill(key, KILL_GRACE_SECONDS)
            case SetTimer(key=key, at=at):
                self.timers.set(key, at)
            case CancelTimer(key=key):
                self.timers.cancel(key)
            case FinishRun():
                self.finished = True

    def launch_ready(self) -> None:
        executor = self.engine.executor
        while self.to_launch and executor.running() < self.engine.max_parallel:
            self.launch(self.to_launch.popleft())

    def launch(self, seq: int) -> None:
        run = self.state.task_runs[seq]
        task = self.state.plan.tasks[run.task_key]
        context = self.context(run)
        try:
            runner = self.engine.runners[task.kind]
        except KeyError:
            self.apply(TaskFailed(self.now(), seq, f"headwater cannot run {task.kind} yet"))
            return
        try:
            spec = runner.launch_spec(task.spec, context)
            handle = self.engine.executor.launch(AttemptKey(self.record.run_id, seq), spec)
        except (HeadwaterError, OSError) as error:
            self.apply(TaskFailed(self.now(), seq, f"The task could not start: {error}"))
            return
        self.apply(TaskStarted(self.now(), seq, handle))

    def context(self, run: TaskRun) -> TaskContext:
        job = self.record.job
        return TaskContext(
            run_id=self.record.run_id,
            task_run_id=self.ids[run.seq],
            task_key=run.task_key,
            attempt_number=run.attempt_number,
            job_id=job.job_id,
            job_name=job.name,
            workdir=Path(self.record.workdir),
            log_path=log_path(self.engine.logs_dir, self.record.run_id, run),
            parameters=dict(self.record.parameters),
        )

    def wait_once(self) -> None:
        next_at = self.timers.next_at()
        timeout = IDLE_WAIT_SECONDS
        if next_at is not None:
            timeout = max(0.0, min(timeout, (next_at - self.now()).total_seconds()))
        if self.to_launch and self.engine.executor.running() < self.engine.max_parallel:
            timeout = 0.0
        for exit_ in self.engine.executor.wait(timeout):
            self.apply(self.exit_event(exit_))
        for key in self.timers.pop_due(self.now()):
            self.apply(TimerFired(self.now(), key))

    def exit_event(self, exit_: TaskExit) -> Event:
        at = exit_.at or self.now()
        if exit_.exit_code == 0:
            return TaskSucceeded(at, exit_.key.seq)
        return TaskFailed(at, exit_.key.seq, exit_message(exit_), exit_.exit_code)


def exit_message(exit_: TaskExit) -> str:
    """Why an attempt failed, in words."""
    if exit_.signal is not None:
        try:
            name = signals.Signals(exit_.signal).name
        except ValueError:
            name = f"signal {exit_.signal}"
        return f"The task's process was killed by {name}."
    return f"The task's process exited with code {exit_.exit_code}."
