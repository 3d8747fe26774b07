"""`RunDriver`: one run an engine holds, from its claim until it ends or the lease is lost.

It is the only place that feeds a run's events to `core.machine.decide` and persists each
decision: the event and the changed rows, with the alerts, audit entries, metrics and outputs
the decision brings, in one store transaction under the engine's fencing token. Then it
carries out the commands, through its `Host` (the supervisor): launches go to the host's
fair queue, kills to the executor, timers to the host's timer heap. A write refused because
the lease was lost raises `LeaseLost`; the host then drops the driver and never touches the
run again (the new owner adopts its attempts).
"""

from __future__ import annotations

import signal as signals
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from headwater.core.audit import TaskMetric, parse_metrics
from headwater.core.compute import clusters_needed, uses_clusters
from headwater.core.events import (
    CancelRequested,
    CancelTimer,
    Command,
    Event,
    FinishRun,
    JobTimeoutChanged,
    KillTask,
    RepairRequested,
    RunStarted,
    SetTimer,
    StartTask,
    TaskFailed,
    TaskLost,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
    could_not_start,
)
from headwater.core.inline import INLINE_KINDS
from headwater.core.machine import decide
from headwater.core.notifications import RunContext, duration_watches, side_effects
from headwater.core.resume import resume_commands
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import JobSettings
from headwater.core.states import LifeCycleState
from headwater.core.taskvalues import TaskValuesError, encode_values, parse_task_values
from headwater.engine.attempts import attempt_dir, log_path
from headwater.engine.git_checkouts import CheckoutFailed, Checkouts
from headwater.engine.launcher import Launcher
from headwater.engine.run_folders import set_aside
from headwater.engine.secret_readers import SecretReaders
from headwater.errors import AttemptOutOfSight
from headwater.ports import (
    CANCEL,
    REPAIR,
    TIMEOUT,
    AttemptKey,
    Clock,
    ClusterKeeper,
    Executor,
    Runner,
    RunRecord,
    RunRequest,
    Store,
    TaskExit,
    Transition,
)

# Called after every decision: the new state, the task runs it changed, seq -> run id.
Observer = Callable[[RunState, Sequence[int], Mapping[int, int]], None]

TRACEBACK = "Traceback (most recent call last):"  # how a Python traceback read there starts



class Host(Protocol):
    """What a driver needs from the engine that holds it."""

    store: Store
    executor: Executor
    runners: Mapping[str, Runner]
    clock: Clock
    logs_dir: Path
    workspace_dir: Path  # the folder standing for `/Workspace`
    actor: str
    kill_grace_seconds: float
    write_starts_within: float  # seconds a task's start may wait for the run's next write
    clusters: ClusterKeeper | None
    checkouts: Checkouts
    secret_readers: SecretReaders | None  # None: the attempts read every secret scope

    def set_timer(self, run_id: int, key: str, at: datetime) -> None: ...

    def cancel_timer(self, run_id: int, key: str) -> None: ...

    def usual_limits(self, job_id: int) -> Mapping[str, int]: ...


class RunDriver:
    """Drives one run under a lease (`fence`); the host calls it, it never waits."""

    def __init__(self, host: Host, record: RunRecord, fence: int,
                 observer: Observer | None = None) -> None:
        self.host, self.fence, self.observer = host, fence, observer
        self.inline: deque[int] = deque()  # conditions and for-each expansions: no process
        self.to_launch: deque[int] = deque()
        self.awaiting_code: deque[int] = deque()  # attempts waiting for the run's Git checkout
        # A run taken over, until the engine reads its requests: an exit may come first.
        self.requests_unread = False
        self.armed: set[str] = set()  # duration-warning timers set by this driver
        self.fired: set[str] = set()  # timers that fired here (a warning due is sent once)
        self.clusters_kept: frozenset[str] | None = None  # as last told to the host
        self.unwritten: list[Transition] = []  # decided and acted on, not stored yet
        self.write_by: float | None = None  # monotonic instant by which to store them
        self.use(record)

    def use(self, record: RunRecord) -> None:
        """Take `record` (the run at claim time, or after a repair moved its job version)."""
        self.record = record
        self.run_id = record.run_id
        self.state = record.state
        self.ids: dict[int, int] = dict(record.task_run_ids)
        self.settings = JobSettings.model_validate(dict(record.job.settings))
        self.context = RunContext(record.run_id, record.job.job_id, record.job.name,
                                  self.host.actor, record.trigger, record.parameters,
                                  self.host.usual_limits(record.job.job_id))
        self.launcher = Launcher(self.host.runners, self.host.logs_dir, record, self.settings,
                                 self.host.checkouts, self.sql_output, self.host.secret_readers,
                                 self.host.workspace_dir)
        self.sql_outputs: dict[int, Mapping[str, Any]] = {}  # by seq: an ended attempt's stays
        self.uses_clusters = uses_clusters(self.settings, record.state.plan)

    def sql_output(self, seq: int) -> Mapping[str, Any] | None:
        """What a SQL attempt's query returned (`{{tasks.<key>.output...}}`): from this
        driver's decisions not stored yet, else from the store."""
        if seq not in self.sql_outputs:
            body = next((t.outputs[seq] for t in reversed(self.unwritten)
                         if t.outputs and seq in t.outputs), None)
            if body is None:
                body = self.host.store.task_output(self.run_id, seq)
            if body is None or "sql_output" not in body:
                return None
            self.sql_outputs[seq] = body["sql_output"]
        return self.sql_outputs[seq]

    @property
    def finished(self) -> bool:
        return self.state.is_terminal

    def now(self) -> datetime:
        return self.host.clock.now()

    def key(self, seq: int) -> AttemptKey:
        return AttemptKey(self.run_id, seq)

    # -- starting --------------------------------------------------------------------------

    def start(self) -> None:
        """Begin a new run, or pick up one that another engine drove (adopting attempts)."""
        if self.state.life_cycle is LifeCycleState.PENDING:
            set_aside(self.host.logs_dir, self.run_id, self.now())
            self.apply(RunStarted(self.now()))
        elif not self.state.is_terminal:
            self.requests_unread = True
            self.resume()
        self.keep_clusters()  # a run taken over lets go of the clusters it no longer needs

    def resume(self) -> None:
        """Re-issue what the snapshot waits for; adopt attempts an earlier engine started."""
        for command in resume_commands(self.state):
            self.perform(command)
        self.arm_duration_watches()
        for run in sorted(self.state.task_runs.values(), key=lambda r: r.seq):
            if run.life_cycle is LifeCycleState.RUNNING and run.loop is None:
                self.adopt_running(run)

    def adopt_running(self, run: TaskRun) -> None:
        if self.state.task_of(run).kind in INLINE_KINDS:
            # Evaluated in-process by an engine that stopped before recording the outcome.
            events = self.launcher.inline(self.state, self.ids, run.seq, self.now())
            self.apply_all([e for e in events if not isinstance(e, TaskStarted)])
            return
        try:
            handle = self.host.executor.adopt(self.key(run.seq), run.handle,
                                              self.directory(run))
        except AttemptOutOfSight:
            if not self.cancelled():
                raise  # left to an engine that can see it (`Supervisor.call`)
            handle = None  # a cancel ends it, as nothing here can reach it
        if handle is None:  # recorded as started, yet never launched: lost
            self.apply(TaskLost(self.now(), run.seq))

    def cancelled(self) -> bool:
        """Whether the whole run is to be cancelled: decided, or asked and not taken yet."""
        return self.state.cancel_requested or any(
            request.kind == CANCEL and request.task_key is None
            for request in self.host.store.pending_requests([self.run_id]))

    def directory(self, run: TaskRun) -> Path:
        return attempt_dir(self.host.logs_dir, self.run_id, run)

    def live_logs(self) -> list[Path]:
        """The logs of this run's attempts that have a process now."""
        return [log_path(self.host.logs_dir, self.run_id, run)
                for run in self.state.task_runs.values()
                if run.handle is not None and run.result is None]

    # -- deciding and persisting -------------------------------------------------------------

    def apply(self, event: Event, *, metrics: Sequence[TaskMetric] = (),
              outputs: Mapping[int, Mapping[str, Any]] | None = None,
              handled: Sequence[int] = (), job_version: int | None = None,
              parameters: Mapping[str, str] | None = None) -> None:
        """Decide, persist the decision with everything it brings, then act on it.

        A decision is stored before anything is done about it outside this engine: before
        a launch, a kill or the run's release. Until then it may wait, so that the decisions
        of one turn of the host's loop (the attempts that ended meanwhile) are one
        transaction: the host writes them at the end of the turn (`write_if_due`), and
        `launch_next` and `run_inline` write first. A task's start, which only records a
        launch already made, may wait longer for the run's next write (at most the host's
        `write_starts_within` seconds), so that a quick task's start and end are one
        transaction. Lost in a crash, neither costs anything: an exit is read again from the
        attempt's directory when the next engine adopts it, a start is re-issued and the
        attempt's claim in its directory makes the launch adopt the attempt that runs."""
        decision = decide(self.state, event)
        effects = side_effects(self.settings, self.context, self.state, decision.state,
                               decision.changed, event)
        self.unwritten.append(Transition(
            event, decision.state, decision.changed, outbox=effects.outbox,
            audit=effects.audit, metrics=metrics, outputs=outputs, handled=handled,
            job_version=job_version, parameters=parameters))
        if any(isinstance(command, KillTask) for command in decision.commands):
            self.write()
        elif isinstance(event, TaskStarted) and not effects.outbox and all(
                isinstance(command, SetTimer | CancelTimer) for command in decision.commands):
            self.write_by = self.write_by or time.monotonic() + self.host.write_starts_within
        else:
            self.write_by = time.monotonic()  # due now: at the end of this turn at the latest
        self.state = decision.state
        self.arm_duration_watches(decision.changed)
        for command in decision.commands:
            self.perform(command)
        self.keep_clusters()
        if self.observer is not None:
            self.observer(self.state, decision.changed, self.ids)

    def write(self) -> None:
        """Store the decisions not stored yet, in one transaction."""
        if self.unwritten:
            self.ids.update(self.host.store.record_all(self.run_id, self.fence,
                                                       self.unwritten, self.ids))
            self.unwritten.clear()
        self.write_by = None

    def write_if_due(self) -> None:
        """Store the decisions that must be stored now (see `apply`)."""
        if self.write_by is not None and self.write_by <= time.monotonic():
            self.write()

    def apply_all(self, events: Sequence[Event]) -> None:
        for event in events:
            self.apply(event)

    def keep_clusters(self) -> None:
        """Tell the host which clusters the run still needs, when that changed: a cluster
        is closed once no task of the run can start on it any more."""
        if self.host.clusters is None:
            return
        needed = clusters_needed(self.settings, self.state) if self.uses_clusters \
            else frozenset()
        if needed != self.clusters_kept:
            self.clusters_kept = needed
            self.host.clusters.keep_clusters(self.run_id, needed)

    def arm_duration_watches(self, seqs: Sequence[int] | None = None) -> None:
        """Set a timer for each duration threshold not armed yet (of the run, and of the
        attempts `seqs`, or of all)."""
        for watch in duration_watches(self.settings, self.state, seqs,
                                      self.context.usual_limits):
            if watch.key not in self.armed:
                self.armed.add(watch.key)
                self.host.set_timer(self.run_id, watch.key, watch.at)

    def perform(self, command: Command) -> None:
        match command:
            case StartTask(seq=seq):
                self.queue_start(seq)
            case KillTask(seq=seq):
                self.kill(seq)
            case SetTimer(key=key, at=at):
                self.host.set_timer(self.run_id, key, at)
            case CancelTimer(key=key):
                self.host.cancel_timer(self.run_id, key)
            case FinishRun():
                pass  # `finished` reads the state; the host retires the driver

    def queue_start(self, seq: int) -> None:
        # A start re-issued after a takeover may find its attempt launched already: the
        # executor's `launch` then adopts it instead of starting it again.
        run = self.state.task_runs[seq]
        queue = self.inline if self.state.task_of(run).kind in INLINE_KINDS else self.to_launch
        queue.append(seq)

    def kill(self, seq: int) -> None:
        for queue in (self.inline, self.to_launch, self.awaiting_code):
            if seq in queue:
                queue.remove(seq)
                return
        self.host.executor.kill(self.key(seq), self.host.kill_grace_seconds)

    # -- what the host hands over ------------------------------------------------------------

    def run_inline(self) -> None:
        """Evaluate the conditions and expand the for-each loops that are due."""
        while self.inline:
            self.write_if_due()  # an evaluation may name a task run the last one created
            self.apply_all(self.launcher.inline(self.state, self.ids, self.inline.popleft(),
                                                self.now()))

    def launch_next(self) -> None:
        """Launch the next attempt waiting for a slot (or set it aside while the run's Git
        checkout is made)."""
        self.write_if_due()
        seq = self.to_launch.popleft()
        run = self.state.task_runs[seq]
        try:
            if self.launcher.code_pending(self.state, run):
                self.awaiting_code.append(seq)
                return
        except CheckoutFailed as error:
            self.apply(TaskFailed(self.now(), seq, could_not_start(error)))
            return
        self.apply_all(self.launcher.launch(self.state, self.ids, run, self.host.executor,
                                            self.key(seq), self.now))

    def requeue_code_settled(self) -> None:
        """Put back in line, first, the attempts whose Git checkout is made (or failed)."""
        settled = [seq for seq in self.awaiting_code
                   if self.launcher.code_settled(self.state, self.state.task_runs[seq])]
        for seq in reversed(settled):
            self.awaiting_code.remove(seq)
            self.to_launch.appendleft(seq)

    def on_exit(self, exit_: TaskExit) -> None:
        """An attempt ended (or was found lost): its event, figures and output."""
        seq = exit_.key.seq
        if self.requests_unread:
            self.cancels_asked_before(exit_.at)
        self.warn_of_thresholds_crossed(seq, exit_.at)
        metrics = parse_metrics(seq, exit_.metrics) if exit_.metrics else []
        result = {**exit_.result, **self.launcher.code_output(self.state,
                                                              self.state.task_runs[seq])}
        outputs = {seq: result} if result else None
        event = exit_event(exit_, self.now())
        if isinstance(event, TaskFailed) and exit_.error_from_log:
            result["error"] = event.message  # `runs output` says what the run's state says
        self.apply(event, metrics=metrics, outputs=outputs)

    def cancels_asked_before(self, ended: datetime | None) -> None:
        """In a run taken over, carry out the cancels asked before an attempt `ended`, before
        its exit: as an engine there all along would have. Asked while no engine drove the
        run, such a cancel was meant for what ran; one asked after the attempt had ended
        waits its turn, and finds the run as that exit leaves it."""
        asked = [request for request in self.host.store.pending_requests([self.run_id])
                 if request.kind == CANCEL and request.created is not None
                 and (ended is None or request.created < ended)]
        if asked:
            self.take_requests(asked)

    def warn_of_thresholds_crossed(self, seq: int, ended: datetime | None) -> None:
        """Fire, before an attempt's exit, the duration thresholds it (or the run) crossed
        before it `ended` and that no timer here fired: crossed while no engine drove the
        run, they are warned of as an engine there all along would have (a warning already
        sent is not sent twice: its alert's dedupe key)."""
        if ended is None:
            return
        for watch in duration_watches(self.settings, self.state, [seq],
                                      self.context.usual_limits):
            if watch.at <= ended and watch.key not in self.fired:
                self.on_timer(watch.key)

    def on_timer(self, key: str) -> None:
        self.fired.add(key)
        self.apply(TimerFired(self.now(), key))

    def take_requests(self, requests: Sequence[RunRequest]) -> None:
        """Carry out these requests; those that changed nothing are dropped from the store."""
        self.requests_unread = False
        unused = self.on_requests(requests)
        if unused:
            self.host.store.drop_requests(self.run_id, self.fence, unused, self.now())

    def on_requests(self, requests: Sequence[RunRequest]) -> list[int]:
        """Apply requests in order; the ids of those that changed nothing (to drop)."""
        unused = []
        for request in requests:
            if request.kind == REPAIR and self.state.is_terminal:
                self.repair(request)
            elif request.kind == CANCEL and not self.state.is_terminal:
                self.apply(CancelRequested(self.now(), request.task_key),
                           handled=[request.request_id])
            elif request.kind == TIMEOUT and not self.state.is_terminal:
                seconds = request.body.get("timeout_seconds")
                self.apply(JobTimeoutChanged(self.now(), seconds if isinstance(seconds, int)
                                             else 0), handled=[request.request_id])
            else:
                unused.append(request.request_id)
        return unused

    def repair(self, request: RunRequest) -> None:
        """Move the run to the job version the repair asked for, then rerun its tasks."""
        body: Mapping[str, Any] = request.body
        version, previous = int(body["job_version"]), self.record.job.version
        job = self.host.store.get_job(self.record.job.job_id, version)
        # With the repair's legacy task parameters, if it has some; with the job's current
        # timeout (one changed while the run was active no longer counts: run_queries).
        scope = replace(self.record.scope, timeout_seconds=None)
        if "task_parameters" in body:
            scope = replace(scope, task_parameters=body["task_parameters"] or None)
        plan = scope.plan(JobSettings.model_validate(dict(job.settings)))
        parameters = {str(k): str(v) for k, v in
                      (body.get("parameters") or self.record.parameters).items()}
        self.use(replace(self.record, job=job, parameters=parameters, scope=scope,
                         state=replace(self.state, plan=plan), task_run_ids=self.ids))
        event = RepairRequested(self.now(), int(body["repair_id"]), version,
                                tuple(body["task_keys"]), bool(body.get("rerun_dependents")),
                                previous_version=previous)
        self.apply(event, handled=[request.request_id], job_version=version,
                   parameters=parameters)


def exit_event(exit_: TaskExit, now: datetime) -> Event:
    """The event an attempt's exit becomes."""
    at = exit_.at or now
    seq = exit_.key.seq
    if exit_.lost is not None:
        return TaskLost(at, seq, exit_.lost or None)
    if exit_.start_error is not None:
        return TaskFailed(at, seq, could_not_start(exit_.start_error))
    values = _values(exit_.values)
    if isinstance(values, TaskValuesError):
        return TaskFailed(at, seq, values.message, exit_.exit_code)
    if exit_.exit_code == 0:
        return TaskSucceeded(at, seq, values=values)
    return TaskFailed(at, seq, _failure_message(exit_), exit_.exit_code, values=values)


def _failure_message(exit_: TaskExit) -> str:
    """Why a failed attempt failed: the error it left, else how its process ended. A task that
    wrote no error (a script, a shell command) has the one read from its log
    (`executors/failures.py`), and unless that is a Python traceback it is merely the last line
    printed, so the exit code comes first, that line after it as context. An error the task's
    side wrote (an environment that could not be built, a notebook's) is the message itself."""
    error = exit_.result.get("error")
    if not (isinstance(error, str) and error) or exit_.signal is not None:
        return exit_message(exit_)
    trace = exit_.result.get("error_trace")
    if exit_.error_from_log and not (isinstance(trace, str) and trace.startswith(TRACEBACK)):
        return f"{exit_message(exit_).removesuffix('.')}; its last output line: {error}"
    return error


def _values(text: str | None) -> str | TaskValuesError | None:
    if not text:
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


__all__ = ["Host", "Observer", "RunDriver", "exit_event", "exit_message"]
