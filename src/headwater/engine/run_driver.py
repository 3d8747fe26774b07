"""The engine: the one impure loop that drives a run.

It is the only place that feeds events to `core.machine.decide`, persists each decision (the
event and the changed rows in one store transaction), and carries out the commands: launch an
attempt through a runner and the executor (at most `max_parallel` processes at once), evaluate
a condition or expand a for-each in-process, kill an attempt, keep the timers, pick up cancel
requests from other processes. Executors, timers and requests turn into new events; nothing
else changes a run.
"""

from __future__ import annotations

import signal as signals
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from headwater.api.outputs import read_result
from headwater.core.audit import TaskMetric, parse_metrics, run_resumed
from headwater.core.events import (
    CancelRequested,
    CancelTimer,
    Command,
    Event,
    FinishRun,
    KillTask,
    RepairRequested,
    RunStarted,
    SetTimer,
    StartTask,
    TaskFailed,
    TaskLost,
    TaskSucceeded,
    TimerFired,
)
from headwater.core.machine import decide
from headwater.core.notifications import RunContext, duration_watches, side_effects
from headwater.core.resume import resume_commands, running_attempts
from headwater.core.runstate import RunState
from headwater.core.spec import JobSettings
from headwater.core.taskvalues import TaskValuesError, encode_values, parse_task_values
from headwater.engine.attempts import METRICS, VALUES, attempt_dir, read_text
from headwater.engine.launcher import Launcher
from headwater.engine.timers import Timers
from headwater.ports import AttemptKey, Clock, Executor, Runner, RunRecord, Store, TaskExit

# Called after every decision: the new state, the task runs it changed, seq -> run id.
Observer = Callable[[RunState, Sequence[int], Mapping[int, int]], None]

KILL_GRACE_SECONDS = 10.0  # SIGTERM, then SIGKILL of the whole tree after this
IDLE_WAIT_SECONDS = 0.2  # the longest the loop sleeps: also how often it looks for requests
INLINE_KINDS = frozenset({"condition_task", "for_each_task"})


class Engine:
    """Drives job runs to their end with the given adapters, one run per call."""

    def __init__(self, store: Store, executor: Executor, runners: Mapping[str, Runner],
                 clock: Clock, logs_dir: Path, max_parallel: int, actor: str = "local") -> None:
        self.store, self.executor, self.runners = store, executor, runners
        self.clock, self.logs_dir, self.max_parallel = clock, logs_dir, max_parallel
        self.actor = actor  # who the audit log says acted
        self.interrupted = threading.Event()  # set from a signal handler: cancel the run

    def run(self, run_id: int, observer: Observer | None = None) -> RunState:
        """Drive `run_id` from its stored state to a terminal state and return it."""
        loop = _RunLoop(self, self.store.load_run(run_id), observer)
        return loop.drive(first=RunStarted(self.clock.now()))

    def resume(self, run_id: int, observer: Observer | None = None) -> RunState:
        """Continue a run whose engine stopped: lost attempts fail, the rest goes on."""
        loop = _RunLoop(self, self.store.load_run(run_id), observer)
        loop.resume()
        return loop.drive(first=None)

    def repair(self, run_id: int, event: RepairRequested,
               observer: Observer | None = None) -> RunState:
        """Apply a repair to a terminal run (already on its new job version) and drive it."""
        loop = _RunLoop(self, self.store.load_run(run_id), observer)
        return loop.drive(first=event)


class _RunLoop:
    """The state of one engine loop over one run."""

    def __init__(self, engine: Engine, record: RunRecord, observer: Observer | None) -> None:
        self.engine, self.record, self.observer = engine, record, observer
        self.state = record.state
        self.ids: dict[int, int] = dict(record.task_run_ids)
        self.inline: deque[int] = deque()  # conditions and for-each expansions: no process
        self.to_launch: deque[int] = deque()
        self.timers = Timers()
        self.launcher = Launcher(engine.runners, engine.logs_dir, record)
        self.finished = record.state.is_terminal
        self.cancel_sent = False
        self.settings = JobSettings.model_validate(dict(record.job.settings))
        self.context = RunContext(record.run_id, record.job.job_id, record.job.name,
                                  engine.actor, record.trigger, record.parameters)
        self.armed: set[str] = set()  # duration-warning timers set in this loop

    def now(self) -> datetime:
        return self.engine.clock.now()

    def drive(self, first: Event | None) -> RunState:
        if first is not None and (not self.finished or isinstance(first, RepairRequested)):
            self.finished = False
            self.apply(first)
        while not self.finished:
            self.launch_ready()
            self.wait_once()
        return self.state

    def resume(self) -> None:
        """Re-issue what the snapshot waits for; report attempts whose process is gone."""
        for command in resume_commands(self.state):
            if isinstance(command, StartTask):
                # It may have been launched just before the crash, its start not yet recorded.
                key = AttemptKey(self.record.run_id, command.seq)
                self.engine.executor.kill_orphan(None, key)
            self.perform(command)
        record = self.record
        self.engine.store.append_audit([run_resumed(self.now(), self.engine.actor,
                                                    record.run_id, record.job.job_id)])
        for run in running_attempts(self.state):
            assert run.handle is not None
            self.engine.executor.kill_orphan(run.handle, AttemptKey(record.run_id, run.seq))
            self.apply(TaskLost(self.now(), run.seq))

    def apply(self, event: Event, metrics: Sequence[TaskMetric] = ()) -> None:
        """Decide, persist the decision with its alerts and audit entries, then act."""
        decision = decide(self.state, event)
        effects = side_effects(self.settings, self.context, self.state, decision.state,
                               decision.changed, event)
        ids = self.engine.store.record(self.record.run_id, event, decision.state,
                                       decision.changed, outbox=effects.outbox,
                                       audit=effects.audit, metrics=metrics)
        self.ids.update(ids)
        self.state = decision.state
        for watch in duration_watches(self.settings, self.state):
            if watch.key not in self.armed:
                self.armed.add(watch.key)
                self.timers.set(watch.key, watch.at)
        for command in decision.commands:
            self.perform(command)
        if self.observer is not None:
            self.observer(self.state, decision.changed, self.ids)

    def perform(self, command: Command) -> None:
        match command:
            case StartTask(seq=seq):
                queue = self.inline if self.kind(seq) in INLINE_KINDS else self.to_launch
                queue.append(seq)
            case KillTask(seq=seq):
                self.kill(seq)
            case SetTimer(key=key, at=at):
                self.timers.set(key, at)
            case CancelTimer(key=key):
                self.timers.cancel(key)
            case FinishRun():
                self.finished = True

    def kind(self, seq: int) -> str:
        return self.state.task_of(self.state.task_runs[seq]).kind

    def kill(self, seq: int) -> None:
        for queue in (self.inline, self.to_launch):
            if seq in queue:
                queue.remove(seq)
                return
        self.engine.executor.kill(AttemptKey(self.record.run_id, seq), KILL_GRACE_SECONDS)

    def launch_ready(self) -> None:
        while self.inline:
            self.apply_all(self.launcher.inline(self.state, self.ids, self.inline.popleft(),
                                                self.now()))
        executor = self.engine.executor
        while self.to_launch and executor.running() < self.engine.max_parallel:
            seq = self.to_launch.popleft()
            run = self.state.task_runs[seq]
            key = AttemptKey(self.record.run_id, seq)
            self.apply_all(self.launcher.launch(self.state, self.ids, run, executor, key,
                                                self.now))

    def apply_all(self, events: list[Event]) -> None:
        for event in events:
            self.apply(event)

    def wait_once(self) -> None:
        timeout = IDLE_WAIT_SECONDS
        next_at = self.timers.next_at()
        if next_at is not None:
            timeout = max(0.0, min(timeout, (next_at - self.now()).total_seconds()))
        if self.inline or (self.to_launch and
                           self.engine.executor.running() < self.engine.max_parallel):
            timeout = 0.0
        for exit_ in self.engine.executor.wait(timeout):
            self.apply(self.exit_event(exit_), self.read_metrics(exit_.key.seq))
        for key in self.timers.pop_due(self.now()):
            self.apply(TimerFired(self.now(), key))
        self.take_requests()

    def take_requests(self) -> None:
        if self.engine.interrupted.is_set() and not self.cancel_sent:
            self.cancel_sent = True
            self.apply(CancelRequested(self.now()))
        for _, kind, task_key in self.engine.store.take_requests(self.record.run_id, self.now()):
            if kind == "CANCEL" and not self.finished:
                self.apply(CancelRequested(self.now(), task_key))

    def exit_event(self, exit_: TaskExit) -> Event:
        at = exit_.at or self.now()
        seq = exit_.key.seq
        values = self.read_values(seq)
        if isinstance(values, TaskValuesError):
            return TaskFailed(at, seq, values.message, exit_.exit_code)
        if exit_.exit_code == 0:
            return TaskSucceeded(at, seq, values=values)
        return TaskFailed(at, seq, self.failure_message(seq, exit_), exit_.exit_code,
                          values=values)

    def failure_message(self, seq: int, exit_: TaskExit) -> str:
        """The task's own error (a notebook's exception line) or how its process ended."""
        run = self.state.task_runs.get(seq)
        if run is not None and exit_.signal is None:
            directory = attempt_dir(self.engine.logs_dir, self.record.run_id, run)
            error = read_result(directory).get("error")
            if isinstance(error, str) and error:
                return error
        return exit_message(exit_)

    def read_metrics(self, seq: int) -> list[TaskMetric]:
        """The figures the attempt recorded (`metrics.jsonl`); bad lines are skipped."""
        run = self.state.task_runs.get(seq)
        if run is None:
            return []
        try:
            text = read_text(attempt_dir(self.engine.logs_dir, self.record.run_id, run), METRICS)
        except (OSError, UnicodeDecodeError):
            return []
        return parse_metrics(seq, text) if text else []

    def read_values(self, seq: int) -> str | TaskValuesError | None:
        run = self.state.task_runs.get(seq)
        if run is None:
            return None
        directory = attempt_dir(self.engine.logs_dir, self.record.run_id, run)
        try:
            text = read_text(directory, VALUES)
        except (OSError, UnicodeDecodeError) as error:
            return TaskValuesError(f"the task values file could not be read: {error}")
        if text is None:
            return None
        parsed = parse_task_values(text)
        return parsed if isinstance(parsed, TaskValuesError) else encode_values(parsed)


def exit_message(exit_: TaskExit) -> str:
    """Why an attempt failed, in words."""
    if exit_.signal is not None:
        try:
            name = signals.Signals(exit_.signal).name
        except ValueError:
            name = f"signal {exit_.signal}"
        return f"The task's process was killed by {name}."
    return f"The task's process exited with code {exit_.exit_code}."
